"""The paper's MovieLens protocol (TwoStagePaper-v0), its logging maths, metrics and suite."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the ids)
from benchmarks.spec import SpecError
from benchmarks.suites import DATA_SUITES, SUITES, builtin_suite
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.data import collect
from recsim_envs.two_stage.movielens_synth import make_tables, write_ml1m, write_ml100k
from recsim_envs.two_stage.paper_world import (
    draw_without_replacement,
    inclusion_probabilities,
    scale_for_top1,
    softmax_rows,
    world_properties,
)
from recsim_envs.two_stage.ranking_metrics import filter_ranked, ranker_order, ranking_metrics

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "recsim_envs/TwoStagePaper-v0"


def _enumerated_inclusion(p: np.ndarray, k: int) -> np.ndarray:
    """P(item drawn) by summing over every ordered sequence of k distinct draws."""
    inc = np.zeros(len(p))
    for seq in itertools.permutations(range(len(p)), k):
        prob, rest = 1.0, 1.0
        for j in seq:
            prob *= p[j] / rest
            rest -= p[j]
        inc[list(seq)] += prob
    return inc


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_inclusion_probabilities_match_enumeration_of_all_draw_orders(k):
    rng = np.random.default_rng(k)
    p = softmax_rows(rng.normal(size=(3, 7)) * 2.0)
    got = inclusion_probabilities(p, np.tile(np.arange(7), (3, 1)), k)
    want = np.stack([_enumerated_inclusion(row, k) for row in p])
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_inclusion_probabilities_sum_to_k_on_a_peaked_large_catalogue():
    rng = np.random.default_rng(0)
    p = softmax_rows(rng.normal(size=(2, 600)) * 3.0)
    assert np.median(p.max(axis=1)) > 0.05  # peaked, as the paper's logging policy
    inc = inclusion_probabilities(p, np.tile(np.arange(600), (2, 1)), 5)
    np.testing.assert_allclose(inc.sum(axis=1), 5.0, rtol=1e-5)
    assert np.all(inc >= p - 1e-12)  # drawn at least as often as on the first draw


def test_without_replacement_draws_are_distinct_and_have_the_stated_inclusion():
    rng = np.random.default_rng(1)
    p = np.array([[0.5, 0.2, 0.15, 0.1, 0.05]])
    draws = draw_without_replacement(np.repeat(p, 40_000, axis=0), 2, rng)
    assert np.all(draws[:, 0] != draws[:, 1])
    freq = np.bincount(draws.ravel(), minlength=5) / 40_000
    want = inclusion_probabilities(p, np.arange(5)[None], 2)[0]
    np.testing.assert_allclose(freq, want, atol=4 * np.sqrt(0.25 / 40_000))
    # the first draw follows p itself
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=5) / 40_000, p[0], atol=0.01)


def test_scale_for_top1_reaches_the_target_median():
    scores = np.random.default_rng(2).normal(size=(200, 500))
    c = scale_for_top1(scores, 0.1)
    assert abs(np.median(softmax_rows(scores, c).max(axis=1)) - 0.1) < 1e-6


def test_filter_and_ranker_order_drop_excluded_and_repeated_items_before_cutting():
    ranked = np.array([[4, 2, 4, 7, 1, 3]])
    excluded = np.zeros((1, 8), dtype=bool)
    excluded[0, 2] = True
    kept = filter_ranked(ranked, excluded, 4)
    np.testing.assert_array_equal(kept, [[4, 7, 1, 3]])
    np.testing.assert_array_equal(filter_ranked(ranked, excluded, 6), [[4, 7, 1, 3, -1, -1]])
    scores = np.array([[0.1, 0.9, 0.5, 0.9]])
    np.testing.assert_array_equal(ranker_order(kept, scores), [[7, 3, 1, 4]])  # ties: gen order


def test_two_stage_precision_is_taken_on_the_filtered_list():
    # The generator ranks an excluded (already logged) positive first. The authors' code
    # would index the unfiltered order and count it; the filtered list does not.
    positives = np.zeros((1, 6), dtype=bool)
    positives[0, [0, 3]] = True
    excluded = np.zeros((1, 6), dtype=bool)
    excluded[0, 0] = True
    kept = filter_ranked(np.array([[0, 1, 2, 3]]), excluded, 3)
    ordered = ranker_order(kept, np.array([[0.2, 0.1, 0.9]]))  # ranker prefers item 3
    np.testing.assert_array_equal(ordered, [[3, 1, 2]])
    m = ranking_metrics(ordered, positives & ~excluded, [1, 3])
    assert m["precision@1"][0] == 1.0
    assert m["precision@3"][0] == pytest.approx(1 / 3)
    assert ranking_metrics(np.array([[-1, 3, -1]]), positives, [3])["precision@3"][0] == \
        pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def paper_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    folder = write_ml100k(root / "ml-100k", make_tables(90, 120, 3000, seed=3, rule="latent"))
    return {"data_dir": str(folder), "cache_dir": str(root / "cache"),
            "simulator": {"epochs": 1}, "behaviour_cells": 2000}


@pytest.fixture(scope="module")
def paper_env(paper_data):
    return gym.make(ENV_ID, **paper_data)


def test_paper_world_has_binary_truth_a_peaked_logging_policy_and_a_report_split(paper_env):
    base = paper_env.unwrapped
    truth = base.world.response.truth
    assert set(np.unique(truth)) == {0.0, 1.0}
    assert 0.13 < truth.mean() < 0.17  # truth_positive_rate = 0.15
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)
    top1 = np.median(policy.probs(base.world.users.features).max(axis=1))
    assert 0.07 < top1 < 0.13  # calibrated to 0.1 on a probe of users
    info = base.world_info
    assert info["n_select_users"] == round(90 * 2000 / 6040)
    obs, _ = paper_env.reset(seed=0)
    users = base.world.users.from_uniforms(np.linspace(0, 0.999, 50)[:, None])
    assert users.hidden.min() >= info["n_select_users"]


def test_paper_log_draws_visits_without_replacement_with_exact_inclusion(paper_env):
    base = paper_env.unwrapped
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)
    data = collect(paper_env, policy, 450, seed=5)
    again = collect(paper_env, policy, 450, seed=5)
    np.testing.assert_array_equal(data.action, again.action)
    np.testing.assert_array_equal(data.pscore, again.pscore)
    visits = data.action.reshape(-1, 5)
    assert all(len(set(v)) == 5 for v in visits.tolist())
    # 450 rows = one pass: 90 visits of 5 movies
    assert np.all((data.pscore > 0) & (data.pscore <= 1))
    probs = policy.probs(data.context[::5])
    want = inclusion_probabilities(probs, visits, 5)
    np.testing.assert_allclose(data.pscore.reshape(-1, 5), want)
    assert set(np.unique(data.reward)) <= {0.0, 1.0}
    assert data.meta.info["protocol"] == "without_replacement"


def test_paper_env_excludes_world_log_positives_and_reports_two_stage_metrics(paper_data):
    import agents
    from recsim_envs.evaluation import evaluate

    env = gym.make(ENV_ID, **paper_data)
    base = env.unwrapped
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)
    data = collect(env, policy, 600, seed=1)
    agent = agents.make("ce", epochs=2).fit(data)
    result = evaluate(agent, ENV_ID, paper_data, n_users=200, seed=0)
    for name in ("two_stage_precision@1", "two_stage_precision@5", "two_stage_ndcg@10",
                 "two_stage_recall@10", "precision@5", "recall@10"):
        assert 0.0 <= result.scores[name] <= 1.0
    assert result.positive_threshold == 0.5
    venv = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point",
                        **paper_data)
    venv.reset(seed=0)
    vb = venv.unwrapped
    users = vb._users.hidden[:, 0].astype(int)
    fits = np.load(vb.world_info["paper_cache_path"])
    pos = fits["log_labels"] > 0.5
    want = np.zeros((vb.world_info["n_users"], vb.n_items), dtype=bool)
    want[fits["log_users"][pos], fits["log_items"][pos]] = True
    # the excluded items are exactly the current users' positives of the world log
    np.testing.assert_array_equal(vb.excluded_items(), want[users])
    assert want.sum() > 0


def test_world_properties_measure_both_worlds(paper_env):
    base = paper_env.unwrapped
    paper = world_properties(paper_env, SoftmaxPolicy(base.behaviour_scorer(), base.n_items,
                                                      1.0), n_users=100)
    syn = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=200, n_candidates=10)
    sb = syn.unwrapped
    synthetic = world_properties(syn, SoftmaxPolicy(sb.behaviour_scorer(), 200, 0.5), 100)
    for props in (paper, synthetic):
        assert 0 < props["behaviour_median_top1"] < 1
        assert props["behaviour_items_half_mass"] >= 1
        assert -1 <= props["ranker_truth_spearman"] <= 1
    assert 0.07 < paper["behaviour_median_top1"] < 0.13


def test_world_properties_spearman_is_one_for_a_ranker_that_orders_like_the_truth():
    from recsim_envs.two_stage.paper_world import _spearman_rows

    a = np.array([[1.0, 2.0, 3.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    np.testing.assert_allclose(_spearman_rows(a, a), [1.0, 1.0])
    np.testing.assert_allclose(_spearman_rows(a[1:], -a[1:]), [-1.0])


def test_paper_suite_is_listed_but_left_out_of_run_all():
    assert "two_stage_paper" in SUITES and "two_stage_paper" in DATA_SUITES
    quick, full = builtin_suite("two_stage_paper", "quick"), builtin_suite("two_stage_paper",
                                                                          "full")
    assert full.seeds == 20 and quick.seeds < full.seeds
    names = {a.name for a in full.agents}
    assert names == {"logging", "random", "popular", "linear_ips", "ce", "ips",
                     "topk_correction", "two_ips", "oracle"}
    # The authors' regime is the suite's default (issue 18); the generator learns from the
    # ranker's whole log, one pass of 5 movies per user.
    assert all(e.kwargs.get("regime") == "authors" for e in quick.envs + full.envs)
    assert quick.data.n_train == full.data.n_train


def test_paper_suite_without_data_names_both_ways_to_give_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RECSIM_ENVS_DATA"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "two_stage_paper", "--out",
         str(tmp_path / "out"), "--data-dir", str(tmp_path / "empty")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "--data-dir" in out.stderr and "RECSIM_ENVS_DATA" in out.stderr
    from benchmarks.suites.two_stage_paper import require_data

    os.environ.pop("RECSIM_ENVS_DATA", None)
    with pytest.raises(SpecError, match="RECSIM_ENVS_DATA"):
        require_data()


def test_generated_movielens_tables_are_seeded_and_write_both_formats(tmp_path):
    a = make_tables(50, 60, 1500, seed=4, rule="latent")
    b = make_tables(50, 60, 1500, seed=4, rule="latent")
    np.testing.assert_array_equal(a["ratings"], b["ratings"])
    cells = a["ratings"][:, 0] * 1000 + a["ratings"][:, 1]
    assert len(np.unique(cells)) == len(cells)
    assert 0.3 < (a["ratings"][:, 2] > 3).mean() < 0.7
    write_ml1m(tmp_path / "ml-1m", a)
    assert (tmp_path / "ml-1m" / "ratings.dat").read_bytes().startswith(b"1::1::5::")


def test_a_runner_row_of_the_paper_world_records_where_its_data_came_from(paper_data):
    from benchmarks.cells import Cell, RunContext
    from benchmarks.runner import run_cell
    from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

    env = EnvSpec("paper", ENV_ID, dict(paper_data), vary_world=False)
    spec = BenchmarkSpec(name="prov", family="two_stage", size="custom", envs=(env,),
                         agents=(AgentSpec("popular", "popular"),), seeds=1,
                         data=DataSpec(n_train=450, n_heldout=5), evaluation=EvalSpec(n_eval=50),
                         behaviour={"policy": "softmax", "temperature": 1.0})
    row = run_cell(Cell(spec, env, spec.agents[0], 0), RunContext("t", None, None))
    assert row["status"] == "ok", row["error"]
    provenance = row["env"]["data_provenance"]
    assert provenance["generated"] is True and provenance["regime"] == "project"
