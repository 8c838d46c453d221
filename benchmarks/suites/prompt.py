"""The built-in ``prompt`` suite (Kiyohara et al., 2025): prompt-to-sentence worlds.

Both sizes train every policy-gradient learner for the paper's 20,000 Adam steps of batch 32
(the learning curves of docs/prompt.md climb until then: DSO at 6,000 steps is a plateau
artefact) on the reference data sizes (1,000 prompts, 8,000 logged rounds, the reference
behaviour policy fit on 10,000 uniform rounds), so the quick board's cells are the claims'
cells with fewer seeds and agents.

Quick size (``make leaderboard``): the synthetic world as the paper writes it and the
paraphrase text world (``PromptSentenceParaphrase-v0``: 20 intents, the authors' reward
noise / gap ratio 0.25, prompt features that hide the intent); agents ``uniform``,
``prompt_logging``, ``is_pg``, ``dr_pg``, ``dso``; ``QUICK_SEEDS`` seeds, sized from the
paired variances of ``experiments/prompt_dso`` and ``experiments/prompt_paraphrase`` so that
DSO - DR and DSO - IS separate after Holm where they can within about 12 CPU-minutes for the
whole quick suite with one worker (docs/prompt.md "Suite sizes": the derivation, the measured
CPU, and what the paraphrase world would need). ``regression_pg`` and the authors'-code world
are left to the full suite and the experiments (CPU).

Full size: the same, plus the synthetic world of the authors' code
(``published_code_quirk=True``, where the paper's figures come from) and ``regression_pg``;
20 seeds (the paper's).
"""

from __future__ import annotations

from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

QUICK_STEPS = 20_000
QUICK_SEEDS = 4


def build(size: str) -> BenchmarkSpec:
    quick = size == "quick"
    steps = {"n_steps": QUICK_STEPS}
    envs = [
        EnvSpec(name="synthetic", id="recsim_envs/PromptSentence-v0"),
        EnvSpec(name="paraphrase", id="recsim_envs/PromptSentenceParaphrase-v0"),
    ]
    agents = [
        AgentSpec("uniform", "uniform"),
        AgentSpec("prompt_logging", "prompt_logging"),
        AgentSpec("is_pg", "is_pg", dict(steps)),
        AgentSpec("dr_pg", "dr_pg", dict(steps)),
        AgentSpec("dso", "dso", dict(steps)),
    ]
    if not quick:
        envs.insert(1, EnvSpec(name="synthetic_code", id="recsim_envs/PromptSentence-v0",
                               kwargs={"published_code_quirk": True}))
        agents.insert(2, AgentSpec("regression_pg", "regression_pg", dict(steps)))
    return BenchmarkSpec(
        name="prompt",
        family="prompt",
        size=size,
        envs=tuple(envs),
        agents=tuple(agents),
        seeds=QUICK_SEEDS if quick else 20,
        data=DataSpec(n_train=8000, n_heldout=1000),
        evaluation=EvalSpec(n_eval=10_000),
        behaviour={"policy": "reference", "beta": 1.0},
    )
