"""The built-in ``two_stage`` suite (Ma et al., WWW 2020): the synthetic two-stage world.

Both sizes use the settings that make the two-stage problem real (docs/two_stage_agents.md,
"Settings that make the two-stage problem real"): a peaked logging policy (softmax
temperature 0.5: median top-1 probability about 0.1, as the paper's) and a ranker that
agrees loosely with the user (``ranker_noise = 4``: rank correlation with the truth about
0.2).

``quick`` (run by ``make leaderboard``) is sized by power (docs/two_stage_agents.md, "Suite
sizes"): one fixed world (``world_seed = 0``; seeds redraw the logged data, the agents'
initialisation and the evaluation users), 3,000 logged rounds, 5,000 evaluation users and 15
seeds; learners train up to 20 epochs and keep the one of best validation SNIPS (issue 18;
the learning curves are flat from about epoch 15): 138 CPU-seconds with ``--workers 1``
(9 agents, 135 cells; measured at load average 4-5 on 2 cores). Measured half-width of the
95% interval of the paired difference of two non-skyline agents (15 seeds): median 0.012,
at most 0.017 without ``popular`` (ips - two_ips) and 0.018 with it; 9 of 28 pairs <= 0.01
(the validation split's noisy epoch choice adds seed-to-seed variance to the learners).
``full`` redraws the world per seed (intervals cover worlds), at the reference sizes.
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

PAPER_LIKE = {"ranker_noise": 4.0}
BEHAVIOUR_TEMPERATURE = 0.5


def build(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    # At most 20 epochs, the one of best validation SNIPS kept (the learners' default
    # selection): the quick world's learning curves are flat from about epoch 15
    # (docs/two_stage_agents.md, "Learning curves").
    epochs = 20
    gen = {"epochs": epochs, "n_sets": 20} if quick else {"epochs": epochs}
    kwargs = ({"n_items": 300, "n_candidates": 10, **PAPER_LIKE, "world_seed": 0} if quick
              else dict(PAPER_LIKE))
    return BenchmarkSpec(
        name="two_stage",
        family="two_stage",
        size=size,
        envs=(EnvSpec(name="synthetic", id="recsim_envs/TwoStageSynthetic-v0", kwargs=kwargs),),
        agents=(
            AgentSpec("random", "random"),
            AgentSpec("popular", "popular"),
            AgentSpec("logging", "logging"),
            AgentSpec("linear_ips", "linear_ips"),
            AgentSpec("ce", "ce", {"epochs": epochs}),
            AgentSpec("ips", "ips", {"epochs": epochs}),
            AgentSpec("topk_correction", "topk_correction", {"epochs": epochs}),
            AgentSpec("two_ips", "two_ips", gen),
            AgentSpec("oracle", "oracle"),
        ),
        seeds=15 if quick else 10,
        data=DataSpec(n_train=3000, n_heldout=2000) if quick
        else DataSpec(n_train=30_000, n_heldout=10_000),
        evaluation=EvalSpec(n_eval=5000 if quick else 10_000),
        behaviour={"policy": "softmax", "temperature": BEHAVIOUR_TEMPERATURE},
    )
