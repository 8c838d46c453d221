"""The built-in suites: ``two_stage``, ``prompt`` and ``sequential``, each ``quick`` or ``full``.

``quick`` sizes are chosen so that ``make leaderboard`` (all three quick suites, two
workers) finishes within 10 minutes on 2 CPU cores; ``full`` sizes follow the reference
settings of the papers (Ma et al., WWW 2020; Kiyohara et al., 2025; the sequential design
of docs/sequential.md) and take hours.
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec, SpecError

SIZES = ("quick", "full")
SUITES = ("two_stage", "prompt", "sequential")


def _two_stage(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    epochs = 3 if quick else 20
    gen = {"epochs": epochs, "n_sets": 20} if quick else {"epochs": epochs}
    return BenchmarkSpec(
        name="two_stage",
        family="two_stage",
        size=size,
        envs=(
            EnvSpec(
                name="synthetic",
                id="recsim_envs/TwoStageSynthetic-v0",
                kwargs={"n_items": 300, "n_candidates": 10} if quick else {},
            ),
        ),
        agents=(
            AgentSpec("random", "random"),
            AgentSpec("popular", "popular"),
            AgentSpec("logging", "logging"),
            AgentSpec("ce", "ce", {"epochs": epochs}),
            AgentSpec("ips", "ips", {"epochs": epochs}),
            AgentSpec("topk_correction", "topk_correction", {"epochs": epochs}),
            AgentSpec("two_ips", "two_ips", gen),
            AgentSpec("oracle", "oracle"),
        ),
        seeds=3 if quick else 10,
        data=DataSpec(n_train=3000, n_heldout=2000) if quick
        else DataSpec(n_train=30_000, n_heldout=10_000),
        evaluation=EvalSpec(n_eval=2000 if quick else 10_000),
        behaviour={"policy": "softmax", "temperature": 1.0},
    )


def _prompt(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    steps = {"n_steps": 1500, "regressor_steps": 500} if quick else {}
    env_kwargs = {"n_prompts": 100} if quick else {}
    return BenchmarkSpec(
        name="prompt",
        family="prompt",
        size=size,
        envs=(EnvSpec(name="synthetic", id="recsim_envs/PromptSentence-v0", kwargs=env_kwargs),),
        agents=(
            AgentSpec("uniform", "uniform"),
            AgentSpec("prompt_logging", "prompt_logging"),
            AgentSpec("regression_pg", "regression_pg", dict(steps)),
            AgentSpec("is_pg", "is_pg", dict(steps)),
            AgentSpec("dr_pg", "dr_pg", dict(steps)),
            AgentSpec("dso", "dso", {**steps, "density_steps": 500} if quick else {}),
        ),
        seeds=3 if quick else 20,
        data=DataSpec(n_train=2000, n_heldout=2000) if quick
        else DataSpec(n_train=8000, n_heldout=8000),
        evaluation=EvalSpec(n_eval=2000 if quick else 10_000),
        behaviour={"policy": "reference", "beta": 1.0,
                   **({"n_rounds": 2000, "regressor_steps": 500} if quick else {})},
    )


def _sequential(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    ialp = {"n_imagined_sessions": 40, "rm_updates": 150, "ac_updates": 300} if quick else {}
    return BenchmarkSpec(
        name="sequential",
        family="sequential",
        size=size,
        envs=(EnvSpec(name="synthetic", id="recsim_envs/SequentialRec-v0",
                      kwargs={"n_users": 300, "n_items": 200}),),
        agents=(
            AgentSpec("seq_random", "seq_random"),
            AgentSpec("seq_logging", "seq_logging"),
            AgentSpec("bc", "bc", {"updates": 500} if quick else {}),
            AgentSpec("llm_greedy", "llm_greedy"),
            AgentSpec("ialp", "ialp", dict(ialp)),
            AgentSpec("a_ialp_ft", "a_ialp_ft", dict(ialp)),
            AgentSpec("a_ialp_ap", "a_ialp_ap", dict(ialp)),
            AgentSpec("ppo", "ppo"),
            AgentSpec("dqn", "dqn"),
            AgentSpec("seq_oracle", "seq_oracle"),
        ),
        seeds=3 if quick else 10,
        # whole sessions (about 13 turns each under the behaviour policy)
        data=DataSpec(n_train=250, n_heldout=200) if quick
        else DataSpec(n_train=1500, n_heldout=800),
        evaluation=EvalSpec(n_eval=60 if quick else 300,
                            online_steps=20 if quick else 200,
                            curve_points=2 if quick else 10),
        behaviour={"policy": "softmax", "temperature": 0.5},
    )


_BUILDERS = {"two_stage": _two_stage, "prompt": _prompt, "sequential": _sequential}


def builtin_suite(name: str, size: str = "quick") -> BenchmarkSpec:
    """The built-in suite ``name`` (``two_stage``, ``prompt``, ``sequential``) at ``size``."""
    if name not in _BUILDERS:
        raise SpecError(f"unknown suite {name!r}; built-in suites: {SUITES}, or give a spec "
                        "file (.toml/.yaml)")
    if size not in SIZES:
        raise SpecError(f"unknown size {size!r}; use one of {SIZES}")
    return _BUILDERS[name](size)
