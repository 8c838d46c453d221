"""Statistical results of the two-stage agents, online, over seeds (``make test-slow``).

The full tables (10 seeds) come from ``benchmarks/results_two_stage.py`` and are recorded in
docs/two_stage_agents.md; these tests rerun a smaller version and assert what was measured,
including where 2-IPS does *not* win (marked xfail with the measured reason).
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from benchmarks.results_two_stage import ENV_IDS, LEARNED, movielens_kwargs, run_seed
from recsim_envs.stats import diff_ci

pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2)


def _args(tmp_path, **overrides) -> argparse.Namespace:
    base = dict(
        n_rounds=20_000,
        n_users=2_000,
        epochs=10,
        behaviour_temperature=0.5,
        extra_agent=[],
        agents=["random", "popular", "logging", *LEARNED, "oracle"],
        data_dir=None,
        ml_users=1000,
        ml_movies=500,
        ml_ratings=40_000,
        work_dir=str(tmp_path),
    )
    base.update(overrides)
    return argparse.Namespace(**base)


def _runs(env: str, tmp_path, **overrides) -> dict[str, np.ndarray]:
    args = _args(tmp_path, **overrides)
    kwargs = movielens_kwargs(args) if env == "movielens" else {}
    runs = [run_seed(ENV_IDS[env], kwargs, s, args) for s in SEEDS]
    return {a: np.array([r[a]["expected_reward"] for r in runs]) for a in args.agents}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # as benchmarks/results_two_stage.py (--threads 1): small batches gain nothing from a pool
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return _runs("synthetic", tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def movielens(tmp_path_factory):
    return _runs("movielens", tmp_path_factory.mktemp("movielens"), n_rounds=5_000)


@pytest.mark.parametrize("name", LEARNED)
def test_learned_agents_beat_random_and_popular_on_the_synthetic_defaults(synthetic, name):
    for floor in ("random", "popular"):
        assert diff_ci(synthetic[name], synthetic[floor]).ci_low > 0, (name, floor)
    assert np.all(synthetic["oracle"] > synthetic[name])


@pytest.mark.xfail(
    strict=True,
    reason="measured (docs/two_stage_agents.md): on the synthetic defaults every learned "
    "generator's top-30 is about 0.03 below the behaviour policy in two-stage reward "
    "(the noisy ranker picks the generator's false positives); with ranker_noise=0 they win",
)
@pytest.mark.parametrize("name", LEARNED)
def test_learned_agents_beat_the_logging_policy_on_the_synthetic_defaults(synthetic, name):
    assert diff_ci(synthetic[name], synthetic["logging"]).ci_low > 0


@pytest.mark.xfail(
    strict=True,
    reason="measured: with the code's alpha = 1e-3, 2-IPS ties CE and 1-IPS on the "
    "synthetic defaults (paired gaps within +-0.006, CIs spanning 0)",
)
@pytest.mark.parametrize("baseline", ["ce", "ips"])
def test_two_ips_beats_one_stage_learners_on_the_synthetic_defaults(synthetic, baseline):
    assert diff_ci(synthetic["two_ips"], synthetic[baseline]).ci_low > 0


@pytest.mark.parametrize("name", LEARNED)
def test_learned_agents_beat_random_on_movielens(movielens, name):
    assert diff_ci(movielens[name], movielens["random"]).ci_low > 0
    assert np.all(movielens["oracle"] >= movielens[name])
