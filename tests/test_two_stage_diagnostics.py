"""``two-stage-diagnostics``: the regime properties of a two-stage world (issue 18)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import recsim_envs  # noqa: F401  (registers the environments)
from recsim_envs.__main__ import main
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.two_stage.diagnostics import diagnose, per_user_auc

SMALL = {"n_items": 60, "n_candidates": 5, "world_seed": 1}


def test_auc_matches_pairwise_counting_with_ties_as_halves():
    scores = np.array([[0.9, 0.1, 0.5, 0.5, 0.3], [1.0, 2.0, 3.0, 4.0, 5.0]])
    pos = np.array([[True, False, True, False, False], [False] * 5])
    expected = np.mean([(s_p > s_n) + 0.5 * (s_p == s_n)
                        for s_p in scores[0, pos[0]] for s_n in scores[0, ~pos[0]]])
    auc = per_user_auc(scores, pos)
    assert auc[0] == pytest.approx(expected)  # 5.5 of 6 pairs
    assert np.isnan(auc[1])


def test_diagnose_measures_a_ranker_that_knows_the_truth():
    env = gym.make("recsim_envs/TwoStageSynthetic-v0", **SMALL, ranker_noise=0.0)
    noisy = gym.make("recsim_envs/TwoStageSynthetic-v0", **SMALL, ranker_noise=8.0)
    reports = []
    for e in (env, noisy):
        base = e.unwrapped
        policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 0.5)
        reports.append(diagnose(e, policy, n_users=300, seed=0, top=10))
    good, bad = reports
    for report in reports:
        assert set(report) >= {"logging_median_top1", "logging_items_half_mass",
                               "logged_positive_share", "ranker_auc",
                               "ranker_top5_positive_share",
                               "ranker_pick_positive_logging_top10", "positive_rate"}
        assert all(0 <= v <= 1 for k, v in report.items() if k != "logging_items_half_mass")
    # The same world and logging policy; only the ranker differs.
    assert good["logging_median_top1"] == bad["logging_median_top1"]
    assert good["ranker_auc"] > bad["ranker_auc"] + 0.05
    assert good["ranker_top5_positive_share"] > bad["ranker_top5_positive_share"]
    # Deterministic for a seed.
    base = env.unwrapped
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 0.5)
    assert diagnose(env, policy, n_users=300, seed=0, top=10) == good


def test_command_prints_json_and_rejects_other_families(capsys):
    assert main(["two-stage-diagnostics", "recsim_envs/TwoStageSynthetic-v0", "--kwargs",
                 json.dumps(SMALL), "--n-users", "200", "--top", "10"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_users"] == 200 and "ranker_pick_positive_logging_top10" in out
    assert main(["two-stage-diagnostics", "recsim_envs/PromptSentence-v0"]) == 2
    assert "not a two-stage environment" in capsys.readouterr().err
