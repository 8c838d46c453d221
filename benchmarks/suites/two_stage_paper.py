"""The built-in ``two_stage_paper`` suite: Ma et al. (WWW 2020)'s MovieLens protocol.

Runs ``recsim_envs/TwoStagePaper-v0`` on the user's own MovieLens files (ML-1M or ML-100K),
found through ``--data-dir`` on ``python -m benchmarks run`` or ``$RECSIM_ENVS_DATA``.
Nothing is downloaded; without files :func:`require_data` stops the run with a message
naming both ways. ``run all`` leaves this suite out (it needs data).

The world is in the authors' regime (``regime="authors"``, issue 18: per-movie biases in
the logging model and the ranker, and the generator trained on the ranker's own log, one
pass of 5 logged movies per user: 30,200 rows on ML-1M, 4,715 on ML-100K;
:mod:`recsim_envs.two_stage.paper_authors`). ``regime="project"`` (the issue-12 world, an
independent log) stays available through specs such as experiments/two_stage_paper.toml.

- ``full``: the paper's 20 runs; learners trained up to 20 epochs (batch 128, Adagrad lr
  0.05, the agents' defaults; the epoch of best validation SNIPS kept), 10,000 online
  report users per cell.
- ``quick``: 3 seeds, up to 5 epochs, 2,000 online users; on ML-1M the first run trains the
  simulator (about 4 minutes on 2 cores, cached).

The logging policy is the world's own (``policy = "softmax"``, temperature 1: the median
top-1 probability is the environment's ``behaviour_top1`` = 0.1). Off-policy estimates are
not computed for this protocol (logged movies are not the ranker's picks; see
docs/movielens.md), so ``n_heldout`` is one visit.
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec, SpecError

USERS = {"ml-1m": 6040, "ml-100k": 943}
LOGGED_PER_USER = 5


def data_format() -> str | None:
    """The MovieLens format found through ``$RECSIM_ENVS_DATA`` (None if none is found)."""
    from recsim_envs.two_stage.movielens_files import find_movielens

    try:
        return find_movielens(None)[0]
    except (FileNotFoundError, ValueError):
        return None


def require_data() -> None:
    """Raise :class:`SpecError` naming ``--data-dir`` and ``$RECSIM_ENVS_DATA`` when no
    MovieLens files are found."""
    from recsim_envs.two_stage.movielens_files import find_movielens

    try:
        find_movielens(None)
    except (FileNotFoundError, ValueError) as exc:
        raise SpecError(f"the two_stage_paper suite needs MovieLens files: {exc}") from exc


def build(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    n_users = USERS.get(data_format() or "ml-1m", USERS["ml-1m"])
    epochs = 5 if quick else 20
    n_train = LOGGED_PER_USER * n_users  # the authors' regime: the ranker's whole log
    learner = {"epochs": epochs}
    return BenchmarkSpec(
        name="two_stage_paper",
        family="two_stage",
        size=size,
        envs=(
            # The simulator is trained once (simulator_seed) and cached; each seed redraws
            # the logging model's cells, the world log and the ranker (world_seed).
            EnvSpec(name="movielens_paper", id="recsim_envs/TwoStagePaper-v0",
                    kwargs={"regime": "authors"}),
        ),
        agents=(
            AgentSpec("logging", "logging"),
            AgentSpec("random", "random"),
            AgentSpec("popular", "popular"),
            AgentSpec("linear_ips", "linear_ips"),
            AgentSpec("ce", "ce", learner),
            AgentSpec("ips", "ips", learner),
            AgentSpec("topk_correction", "topk_correction", learner),
            AgentSpec("two_ips", "two_ips", learner),
            AgentSpec("oracle", "oracle"),
        ),
        seeds=3 if quick else 20,
        data=DataSpec(n_train=n_train, n_heldout=LOGGED_PER_USER),
        evaluation=EvalSpec(n_eval=2000 if quick else 10_000),
        behaviour={"policy": "softmax", "temperature": 1.0},
    )
