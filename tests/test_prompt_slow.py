"""Slow: DSO against the baselines in the synthetic reference world of Kiyohara et al. (2025).

Runs cells of the benchmark runner (reference behaviour policy, 8,000 logged rounds, 1,000
prompts, reward noise 1; every learner 20,000 Adam steps of batch 32, the paper's budget, where
the learning curves of docs/prompt.md have flattened) on three seeds, about 5 CPU-minutes on
an idle machine. It checks what the measured table of ``experiments/prompt_dso`` shows
(docs/prompt.md), not the paper's numbers (DSO 0.46, DR 0.25, IS 0.22, regression 0.13).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cells import RunContext, cells_of
from benchmarks.runner import run_cell
from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

pytestmark = pytest.mark.slow

LEARNERS = ("dso", "dr_pg", "is_pg", "regression_pg")


@pytest.fixture(scope="module")
def results() -> dict[str, np.ndarray]:
    spec = BenchmarkSpec(
        name="prompt_slow_test", family="prompt",
        envs=(EnvSpec("synthetic_1000", "recsim_envs/PromptSentence-v0", {"n_prompts": 1000}),),
        agents=tuple(AgentSpec(a, a, {"n_steps": 20_000}) for a in LEARNERS),
        seeds=3, data=DataSpec(n_train=8000, n_heldout=200), evaluation=EvalSpec(n_eval=5000),
        behaviour={"policy": "reference"},
    )
    context = RunContext(version="test", git_commit=None, git_dirty=None)
    out: dict[str, list[float]] = {name: [0.0] * spec.seeds for name in LEARNERS}
    for cell in cells_of(spec):
        row = run_cell(cell, context)
        assert row["status"] == "ok", row["error"]
        out[cell.agent.name][cell.seed_index] = row["online"]["scores"]["optimality"]
    return {k: np.array(v) for k, v in out.items()}


def test_dso_beats_the_action_space_importance_weighting_learners(results):
    # experiments/prompt_dso (8 seeds, the same sizes, 20,000 steps): DSO ahead of DR and IS
    # on every seed, by 0.075-0.41 (mean 0.25) and 0.125-0.43 (mean 0.30); regression is
    # level with DSO on one seed there, so it is not checked.
    dso = results["dso"]
    for name in ("dr_pg", "is_pg"):
        assert np.mean(dso - results[name]) > 0.03, (name, dso, results[name])
        assert np.all(dso > results[name]), (name, dso, results[name])


def test_dso_reaches_a_substantial_share_of_the_optimum(results):
    assert results["dso"].mean() > 0.25  # measured 0.21-0.54 per seed (mean 0.41) at 20,000
