"""The built-in ``sequential`` suite (Wang et al., WSDM 2025): sessions with users who leave.

Sizes (derivation in ``docs/sequential.md``, "Suite sizes"): the quick suite's seeds come
from measured paired-difference standard deviations over seeds and a CPU budget of about
ten CPU-minutes for the whole quick suite (``--workers 1``); the full suite adds the
``as_built`` variants of iALP / A-iALP (issue 12) and a larger online budget. Issue 19 added
``safe_random``, ``profile_greedy``, ``safe_bandit``, ``linear_q`` and ``maskable_ppo``:
the whole quick suite (80 cells) then cost 4.3 CPU-minutes (``/usr/bin/time``,
``--workers 1``, at load 0.4-1.8; issue 10's 9.6 was measured at load ~11).
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

QUICK_SEEDS = 5
"""Seeds of the quick suite (``docs/sequential.md``, "Suite sizes")."""


def build(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    ialp = {"n_imagined_sessions": 40, "rm_updates": 150, "ac_updates": 300} if quick else {}
    agents = [
        AgentSpec("seq_random", "seq_random"),
        AgentSpec("seq_logging", "seq_logging"),
        AgentSpec("no_repeat_popular", "no_repeat_popular"),
        AgentSpec("bc", "bc", {"updates": 500} if quick else {}),
        AgentSpec("llm_greedy", "llm_greedy"),
        AgentSpec("ialp", "ialp", dict(ialp)),
        AgentSpec("a_ialp_ft", "a_ialp_ft", dict(ialp)),
        AgentSpec("a_ialp_ap", "a_ialp_ap", dict(ialp)),
        AgentSpec("ppo", "ppo"),
        AgentSpec("dqn", "dqn"),
        # issue 19: rows over the items the stated quit rule calls safe, and from-scratch
        # learners that can learn (item attributes / the action mask)
        AgentSpec("safe_random", "safe_random"),
        AgentSpec("profile_greedy", "profile_greedy"),
        AgentSpec("safe_bandit", "safe_bandit"),
        AgentSpec("linear_q", "linear_q"),
        AgentSpec("maskable_ppo", "maskable_ppo"),
        AgentSpec("seq_oracle", "seq_oracle"),
    ]
    if not quick:
        agents[8:8] = [AgentSpec(f"{name}_as_built", name, {"variant": "as_built"})
                       for name in ("ialp", "a_ialp_ft", "a_ialp_ap")]
    return BenchmarkSpec(
        name="sequential",
        family="sequential",
        size=size,
        envs=(EnvSpec(name="synthetic", id="recsim_envs/SequentialRec-v0",
                      kwargs={"n_users": 300, "n_items": 200}),),
        agents=tuple(agents),
        seeds=QUICK_SEEDS if quick else 10,
        # whole sessions (about 13 turns each under the behaviour policy)
        data=DataSpec(n_train=250, n_heldout=100) if quick
        else DataSpec(n_train=1500, n_heldout=800),
        evaluation=EvalSpec(n_eval=200 if quick else 300,
                            online_steps=20 if quick else 200,
                            curve_points=2 if quick else 10),
        behaviour={"policy": "softmax", "temperature": 0.5},
    )
