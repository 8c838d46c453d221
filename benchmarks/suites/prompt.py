"""The built-in ``prompt`` suite (Kiyohara et al., 2025): prompt-to-sentence worlds.

Quick size (``make leaderboard``): the synthetic world at 100 prompts and the paraphrase
text world (``PromptSentenceParaphrase-v0``, 1,000 prompts, 20 intents), 2,000 logged rounds
each; every policy-gradient learner gets the same budget of ``QUICK_STEPS`` Adam steps of
batch 32 (DSO needs about 6,000 to converge in the synthetic world; at 1,500 it trails DR
and IS). Seeds: ``QUICK_SEEDS``, set by the CPU budget (about 9 CPU-minutes for the whole
quick suite with one worker); docs/prompt.md "Suite sizes" gives the derivation and the
95% half-width of paired differences it reaches.

Full size: the reference default of the paper (1,000 prompts, 8,000 rounds, 20,000 steps,
20 seeds) in the synthetic world, and the paraphrase world at the same sizes.
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

QUICK_STEPS = 6000
QUICK_SEEDS = 3


def build(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    steps = {"n_steps": QUICK_STEPS, "regressor_steps": 1000} if quick else {}
    synthetic_kwargs = {"n_prompts": 100} if quick else {}
    return BenchmarkSpec(
        name="prompt",
        family="prompt",
        size=size,
        envs=(
            EnvSpec(name="synthetic", id="recsim_envs/PromptSentence-v0",
                    kwargs=synthetic_kwargs),
            EnvSpec(name="paraphrase", id="recsim_envs/PromptSentenceParaphrase-v0"),
        ),
        agents=(
            AgentSpec("uniform", "uniform"),
            AgentSpec("prompt_logging", "prompt_logging"),
            AgentSpec("regression_pg", "regression_pg", dict(steps)),
            AgentSpec("is_pg", "is_pg", dict(steps)),
            AgentSpec("dr_pg", "dr_pg", dict(steps)),
            AgentSpec("dso", "dso", {**steps, "density_steps": 1000} if quick else {}),
        ),
        seeds=QUICK_SEEDS if quick else 20,
        data=DataSpec(n_train=2000, n_heldout=500) if quick
        else DataSpec(n_train=8000, n_heldout=8000),
        evaluation=EvalSpec(n_eval=2000 if quick else 10_000),
        behaviour={"policy": "reference", "beta": 1.0,
                   **({"n_rounds": 2000, "regressor_steps": 500} if quick else {})},
    )
