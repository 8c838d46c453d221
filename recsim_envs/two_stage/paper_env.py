"""The MovieLens protocol of Ma et al., WWW 2020, as an environment (``TwoStagePaper-v0``).

"Off-policy Learning in Two-stage Recommender Systems" (Ma, Zhao, Yi, Yang, Chen, Tang, Hong,
Chi; WWW 2020) evaluate on MovieLens with this set-up (their public code), rebuilt here from
the user's own ML-1M or ML-100K files:

- ground truth: the simulator MLP of :mod:`recsim_envs.two_stage.simulator` trained on the ratings
  (label rating > 3), its probability thresholded so that ``truth_positive_rate`` (15%) of
  all user x movie pairs are positives (binary clicks);
- behaviour policy: a bilinear ("two-tower with linear towers") logistic model fitted on
  ``behaviour_cells`` (10,000) uniformly random cells of that matrix, used as a softmax over
  all movies whose scale is set so that the median top-1 probability is ``behaviour_top1``
  (0.1, the reference's peakedness);
- logged data (``log_rounds``): each user visit logs ``logged_per_user`` (5) movies drawn
  from the behaviour softmax WITHOUT replacement; ``pscore`` is the exact inclusion
  probability of the logged movie
  (:func:`recsim_envs.two_stage.paper_world.inclusion_probabilities`),
  ``reward`` its binary truth. Visits go through the users in a random order (every user once
  per pass), so ``n_rounds = 5 * n_users`` is the paper's log (30,200 rows on ML-1M);
- ranker: bilinear, fitted once with BCE on the world's own log (the same protocol, drawn
  from ``world_seed``: the production log the ranker learnt from), then frozen;
- consumed movies: the positives of that world log; the paper's evaluation excludes them
  (:meth:`TwoStagePaperVectorEnv.excluded_items`, used by :func:`recsim_envs.evaluation.evaluate`);
- online users: users with index >= ``select_fraction * n_users`` (ML-1M: 2,000 of 6,040;
  ML-100K: 312 of 943); the lower ones are left for epoch selection and never evaluated.

Departures from the authors' code (documented in docs/movielens.md): users and movies are
described by observable features only (no id embeddings: the agent sees demographics), the
generator's training log is an independent draw of the same protocol (the runner logs it),
and the logging model has linear towers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.core.policies import BehaviourPolicy
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.two_stage.movielens_env import TwoStageMovieLensEnv, TwoStageMovieLensVectorEnv
from recsim_envs.two_stage.movielens_synth import provenance
from recsim_envs.two_stage.movielens_world import (
    MovieLensConfig,
    build_movielens_world,
    cached_arrays,
)
from recsim_envs.two_stage.paper_authors import BIAS_L2, fit_authors_system
from recsim_envs.two_stage.paper_world import (
    draw_without_replacement,
    fit_logistic_bilinear,
    inclusion_probabilities,
    scale_for_top1,
    softmax_rows,
)
from recsim_envs.two_stage.ranker import BilinearRanker
from recsim_envs.two_stage.simulator import cache_key
from recsim_envs.two_stage.users import TableUserSampler
from recsim_envs.two_stage.world import TwoStageWorld, WorldSource

ENV_ID = "recsim_envs/TwoStagePaper-v0"
PAPER_CACHE_VERSION = 1
REGIMES = ("project", "authors")
_LOG_MEMO: dict[tuple, LoggedDataset] = {}
_LOG_MEMO_SIZE = 4


@dataclass(frozen=True)
class PaperConfig(MovieLensConfig):
    """Settings of ``TwoStagePaper-v0``: those of :class:`MovieLensConfig` plus the protocol.

    Attributes:
        binary_truth: thresholded ground truth (the paper's); default True.
        logged_per_user: movies logged per user visit, drawn without replacement (paper: 5).
        behaviour_top1: median over users of the behaviour softmax's largest probability
            (paper's logging policy: about 0.1).
        behaviour_cells: random cells of the truth matrix the logging model is fitted on.
        select_fraction: share of users (lowest indices) kept for epoch selection and left
            out of online evaluation (paper: 2,000 of 6,040).
        simulator_seed: seeds the simulator's training; ``world_seed`` then seeds only the
            logging model's cells, the world log and the ranker, so seeds of a benchmark
            share one simulated MovieLens (trained once, cached).
        regime: "project" (this module's world) or "authors" (the parts of the authors' code
            that change the result: per-movie biases in the logging model and the ranker,
            the generator trained on the ranker's log; :mod:`recsim_envs.two_stage.paper_authors`).
        ranker_bias_noise: "authors" only: noise on the ranker's movie biases, in units of
            their standard deviation (the ranker-quality knob; 0 = the fitted ranker).
    """

    binary_truth: bool = True
    logged_per_user: int = 5
    behaviour_top1: float = 0.1
    behaviour_cells: int = 10_000
    select_fraction: float = 2000 / 6040
    simulator_seed: int = 0
    regime: str = "project"
    ranker_bias_noise: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {self.regime!r}")
        if not self.ranker_bias_noise >= 0:
            raise ValueError(f"ranker_bias_noise must be >= 0, got {self.ranker_bias_noise}")
        if self.ranker_bias_noise > 0 and self.regime != "authors":
            raise ValueError("ranker_bias_noise moves the movie biases of the authors' ranker; "
                             "set regime='authors' or drop it")
        if self.logged_per_user < 1:
            raise ValueError(f"logged_per_user must be >= 1, got {self.logged_per_user}")
        if not 0 < self.behaviour_top1 < 1:
            raise ValueError(f"behaviour_top1 must be in (0, 1), got {self.behaviour_top1}")
        if self.behaviour_cells < 100:
            raise ValueError(f"behaviour_cells must be >= 100, got {self.behaviour_cells}")
        if not 0 <= self.select_fraction < 1:
            raise ValueError(f"select_fraction must be in [0, 1), got {self.select_fraction}")
        if self.slate_size != 1 or self.session_length != 1:
            raise ValueError("TwoStagePaper-v0 shows one movie per one-step session "
                             "(slate_size = session_length = 1), as in the paper")


@dataclass(frozen=True)
class PaperWorld(TwoStageWorld):
    """A :class:`TwoStageWorld` plus what the paper's protocol adds.

    Attributes:
        consumed: (n_users, n_items) bool, the positives of the world log (the paper's
            evaluation excludes them).
        memo_key: identifies the world for the in-memory memo of logged data.
    """

    consumed: np.ndarray
    memo_key: tuple
    world_log: dict | None = None
    """The authors' regime: the world log's rows (users, items, labels, pscore), which are
    also the generator's training log."""


def _visit_order(n_users: int, n_visits: int, rng: np.random.Generator) -> np.ndarray:
    """Users of ``n_visits`` visits: consecutive random permutations of all users."""
    passes = -(-n_visits // n_users)
    return np.concatenate([rng.permutation(n_users) for _ in range(passes)])[:n_visits]


def _fit_paper_system(config: PaperConfig, truth: np.ndarray, users: np.ndarray,
                      items: np.ndarray) -> dict[str, np.ndarray]:
    """Logging model, world log, ranker: everything ``world_seed`` draws (cached on disk)."""
    rng = np.random.default_rng(config.world_seed)
    n_users, n_items = truth.shape
    cu = rng.integers(0, n_users, size=config.behaviour_cells)
    ci = rng.integers(0, n_items, size=config.behaviour_cells)
    w_b = fit_logistic_bilinear(users[cu], items[ci], truth[cu, ci])
    probe = rng.choice(n_users, size=min(n_users, 1000), replace=False)
    x1 = np.hstack([users[probe], np.ones((len(probe), 1), np.float32)])
    f1 = np.hstack([items, np.ones((n_items, 1), np.float32)])
    scale = scale_for_top1(x1 @ w_b @ f1.T, config.behaviour_top1)
    w_b = (scale * w_b).astype(np.float32)
    # The world log: every user once, k distinct movies each (the ranker's training data).
    k = config.logged_per_user
    visit = rng.permutation(n_users)
    probs = softmax_rows(np.hstack([users[visit], np.ones((n_users, 1), np.float32)]) @ w_b
                         @ f1.T)
    drawn = draw_without_replacement(probs, k, rng)
    log_users = np.repeat(visit, k)
    log_items = drawn.ravel()
    labels = truth[log_users, log_items]
    w_r = fit_logistic_bilinear(users[log_users], items[log_items], labels)
    return {"behaviour_weights": w_b, "ranker_weights": w_r,
            "log_users": log_users.astype(np.int64), "log_items": log_items.astype(np.int64),
            "log_labels": labels.astype(np.float32)}


def build_paper_world(config: PaperConfig) -> tuple[PaperWorld, PaperConfig, dict[str, Any]]:
    """The world of ``TwoStagePaper-v0``: the MovieLens simulator (trained with
    ``simulator_seed``) and the fits of :func:`_fit_paper_system` (cached on disk).

    Returns:
        (world, config with ``data_dir``, ``dataset`` and ``cache_dir`` resolved, world_info).
    """
    sim_config = MovieLensConfig(**{
        f.name: getattr(config, f.name) for f in dataclasses.fields(MovieLensConfig)
    })
    sim_config = dataclasses.replace(sim_config, world_seed=config.simulator_seed)
    ml_world, info, resolved = build_movielens_world(sim_config, with_system=False)
    truth = ml_world.response.truth
    users = ml_world.users.features
    items = ml_world.item_features
    authors = config.regime == "authors"
    # The project regime's key leaves out the issue-18 settings, so its caches stay valid.
    skip = ("data_dir", "cache_dir", "simulator", "n_candidates") + (
        () if authors else ("regime", "ranker_bias_noise"))
    key = cache_key([], {
        "version": PAPER_CACHE_VERSION, "movielens": info["cache_path"],
        **({"authors_bias_l2": BIAS_L2} if authors else {}),
        **{f.name: getattr(config, f.name) for f in dataclasses.fields(PaperConfig)
           if f.name not in skip},
    })
    path = Path(resolved.cache_dir) / f"movielens-paper-{key[:32]}.npz"
    required = ("behaviour_weights", "ranker_weights", "log_users", "log_items", "log_labels")
    if authors:
        fits, _ = cached_arrays(path, required + ("log_pscore", "item_features"),
                                lambda: fit_authors_system(config, truth, users, items))
        items = np.asarray(fits["item_features"], np.float32)
    else:
        fits, _ = cached_arrays(path, required,
                                lambda: _fit_paper_system(config, truth, users, items))
    n_users, n_items = truth.shape
    start = int(round(config.select_fraction * n_users))
    if start >= n_users:
        raise ValueError(f"select_fraction={config.select_fraction} leaves no user to "
                         f"evaluate among {n_users}")
    ranker = BilinearRanker(weights=np.asarray(fits["ranker_weights"], np.float32),
                            item_features=items)
    consumed = np.zeros((n_users, n_items), dtype=bool)
    pos = fits["log_labels"] > 0.5
    consumed[fits["log_users"][pos], fits["log_items"][pos]] = True
    world = PaperWorld(items, TableUserSampler(users, start=start), ml_world.response, ranker,
                       np.asarray(fits["behaviour_weights"], np.float32), consumed=consumed,
                       memo_key=(info["cache_path"], key),
                       world_log={name: np.asarray(fits[f"log_{name}"]) for name in
                                  ("users", "items", "labels", "pscore")} if authors else None)
    world_info = {**info, "paper_cache_path": str(path), "n_select_users": start,
                  "data_provenance": {**provenance(resolved.data_dir, info["format"]),
                                      "regime": config.regime},
                  "world_log_rows": int(len(fits["log_labels"])),
                  "world_log_positive_rate": float(pos.mean()),
                  "positive_rate": float(truth.mean())}
    resolved = dataclasses.replace(
        config, data_dir=resolved.data_dir, dataset=resolved.dataset,
        cache_dir=resolved.cache_dir)
    return world, resolved, world_info


def _authors_rows(env: Any, policy: BehaviourPolicy, n_rounds: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The authors' regime: the first ``n_rounds`` rows of the world log (the ranker's
    training log) as (users, items, pscore, drawn (visits, k))."""
    log, k = env.world.world_log, env.config.logged_per_user
    if n_rounds > len(log["items"]):
        raise ValueError(f"regime='authors' trains the generator on the ranker's log of "
                         f"{len(log['items'])} rows; ask for at most that many rounds")
    probe = log["users"][:k * 8:k]
    x1 = np.hstack([env.world.users.features[probe], np.ones((len(probe), 1))])
    world_probs = softmax_rows(x1 @ env.world.behaviour_weights
                               @ np.hstack([env.world.item_features,
                                            np.ones((env.n_items, 1))]).T)
    if not np.allclose(policy.probs(env.world.users.features[probe]), world_probs, atol=1e-6):
        raise ValueError("regime='authors' logs with the world's own logging policy (softmax "
                         "of behaviour_scorer(), temperature 1); use that policy")
    n_visits = -(-n_rounds // k)
    drawn = log["items"][: n_visits * k].reshape(n_visits, k)
    return (log["users"][:n_rounds], log["items"][:n_rounds],
            np.asarray(log["pscore"], np.float64)[:n_rounds], drawn)


def log_paper_rounds(env: Any, policy: BehaviourPolicy, n_rounds: int,
                     rng: np.random.Generator, seed: int | None = None,
                     chunk_cells: int = 2_000_000) -> LoggedDataset:
    """``n_rounds`` rows of the paper's protocol (see the module docstring), exact pscore.

    Rows come in visits of ``logged_per_user`` rows (the last visit may be cut);
    ``action`` is the logged movie, ``pscore`` its inclusion probability in a draw of
    ``logged_per_user`` without replacement, ``reward`` and ``expected_reward`` its binary
    truth, ``extras["candidates"]`` the movies of the same visit (n, logged_per_user).
    The same (world, policy, n_rounds, seed) is memoised in memory, so the cells of one
    seed of a benchmark compute it once. ``chunk_cells`` is unused (the signature of
    :func:`recsim_envs.two_stage.log.log_rounds`).
    """
    cfg = env.config
    if policy.n_actions != env.n_items:
        raise ValueError(f"behaviour policy covers {policy.n_actions} actions; the "
                         f"catalogue has {env.n_items} movies")
    memo = (env.world.memo_key, policy.name, repr(policy.settings()), int(n_rounds), seed)
    if seed is not None and memo in _LOG_MEMO:
        return _LOG_MEMO[memo]
    k = cfg.logged_per_user
    feats = env.world.users.features
    n_users = feats.shape[0]
    if env.world.world_log is not None:
        users, action, pscore, drawn = _authors_rows(env, policy, n_rounds)
    else:
        n_visits = -(-n_rounds // k)
        visit = _visit_order(n_users, n_visits, rng)
        probs = np.asarray(policy.probs(feats[visit]), dtype=np.float64)
        drawn = draw_without_replacement(probs, k, rng)
        pscore = inclusion_probabilities(probs, drawn, k)
        users = np.repeat(visit, k)[:n_rounds]
        action = drawn.ravel()[:n_rounds]
    truth = env.world.response.truth[users, action].astype(np.float32)
    meta = DatasetMeta(
        env_id=env.env_id(), env_kwargs=dataclasses.asdict(cfg), n_actions=env.n_items,
        policy_name=policy.name, policy_settings=policy.settings(), seed=seed,
        info={"family": env.family, "obs_dim": env.user_dim,
              "action": f"a movie of {k} drawn without replacement (inclusion pscore)",
              "n_candidates": env.n_candidates, "slate_size": 1,
              "protocol": "without_replacement", "logged_per_user": k},
    )
    data = LoggedDataset(
        context=feats[users], action=action, pscore=pscore.ravel()[:n_rounds],
        reward=truth, expected_reward=truth, meta=meta,
        extras={"candidates": np.repeat(drawn, k, axis=0)[:n_rounds].astype(np.int32)},
        system=env.system_arrays(),
    )
    if seed is not None:
        while len(_LOG_MEMO) >= _LOG_MEMO_SIZE:
            _LOG_MEMO.pop(next(iter(_LOG_MEMO)))
        _LOG_MEMO[memo] = data
    return data

PAPER = WorldSource(PaperConfig, build_paper_world, ENV_ID, log_paper_rounds)
"""``TwoStagePaper-v0``: the paper's world and its logging protocol."""


def _excluded(env: Any) -> np.ndarray:
    """(n, n_items) bool: the current users' positives in the world log (privileged)."""
    if env._users is None:
        raise RuntimeError("call reset() first")
    return env.world.consumed[env._users.hidden[:, 0].astype(np.int64)]


class TwoStagePaperEnv(TwoStageMovieLensEnv):
    """The paper's MovieLens protocol (``TwoStagePaper-v0``); see the module docstring.

    ## Description
    A report user (index >= the selection split) arrives; the agent nominates
    ``n_candidates`` (30) movie ids; the ranker (bilinear, fitted with BCE on the world's
    log) shows its top-scored one; the reward is 1 if it is a ground-truth positive.

    ## Action Space
    ``MultiDiscrete([n_movies] * n_candidates)``; repeated ids count once.

    ## Observation Space
    ``Box(-1, 1, (40,), float32)``: the user's demographics.

    ## Rewards
    The binary truth of the shown movie (``info["expected_reward"]`` equals it).

    ## Episode End
    ``terminated`` after one step.

    ## Arguments
    See :class:`PaperConfig`; files from ``data_dir`` or ``$RECSIM_ENVS_DATA``.

    ## Version History
    - v0: initial version.
    """

    source = PAPER
    positive_threshold = 0.5
    """Binary ground truth: an item is relevant when its click probability is 1."""

    def excluded_items(self) -> np.ndarray:
        """(1, n_items) bool: the current user's positives in the world log (privileged)."""
        return _excluded(self)


class TwoStagePaperVectorEnv(TwoStageMovieLensVectorEnv):
    """``num_envs`` users of :class:`TwoStagePaperEnv` stepped in one batched call."""

    source = PAPER
    positive_threshold = 0.5
    """Binary ground truth: an item is relevant when its click probability is 1."""

    def excluded_items(self) -> np.ndarray:
        """(num_envs, n_items) bool: the current users' world-log positives (evaluation)."""
        return _excluded(self)
