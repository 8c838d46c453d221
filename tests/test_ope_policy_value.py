"""estimate_policy on a user's own agent and logs: library only, cross-fitted DM/DR."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recsim_envs.ope.crossfit import cross_fit, fold_ids

# A user's script: a small two-stage world, softmax logs, two agents of their own (a
# deterministic top-k and a uniform candidate sampler), estimated with the library only -
# `benchmarks` is made unimportable first.
_SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["benchmarks"] = None  # the benchmark tool is not installed
    import gymnasium as gym
    import numpy as np
    import recsim_envs  # noqa: F401
    from recsim_envs.core.policies import SoftmaxPolicy
    from recsim_envs.data import collect
    from recsim_envs.evaluation import Deployment
    from recsim_envs.ope import estimate_policy

    env = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=40, n_candidates=4,
                   world_seed=3)
    base = env.unwrapped
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)
    train = collect(env, policy, 600, seed=1)
    heldout = collect(env, policy, 600, seed=2)

    class TopK:
        def fit(self, dataset, deployment=None):
            return self
        def act(self, obs):
            return np.tile(np.arange(4), (len(obs), 1))

    class Uniform:
        with_replacement = True
        def fit(self, dataset, deployment=None):
            return self
        def candidate_probs(self, obs):
            return np.full((len(obs), 40), 1 / 40)
        def act(self, obs):
            return np.random.default_rng(0).integers(0, 40, (len(obs), 4))

    deployment = Deployment(family="two_stage", behaviour=policy)
    for agent in (TopK(), Uniform()):
        with_train = estimate_policy(heldout, agent, deployment, rng=0, train=train)
        alone = estimate_policy(heldout, agent, rng=0)  # no deployment, no train
        again = estimate_policy(heldout, agent, deployment, rng=0, train=train)
        assert sorted(with_train) == ["dm", "dr", "ips", "snips"], sorted(with_train)
        assert with_train == again  # same seed, same estimates
        for est in with_train.values():
            assert est.unsupported_mass is not None and est.thin_mass is not None
        assert alone["ips"].thin_mass is None  # no behaviour policy given: masses unknown
        assert not with_train["dm"].calibrated and with_train["dm"].estimate is not None
        assert "benchmarks" not in [m.split(".")[0] for m in sys.modules if sys.modules[m]]
        print(type(agent).__name__, {k: round(v.estimate, 4) for k, v in with_train.items()
                                     if v.estimate is not None})
""")


def test_estimate_policy_works_from_the_library_alone():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "TopK" in out.stdout and "Uniform" in out.stdout


def test_fold_ids_are_balanced_and_seeded():
    f = fold_ids(11, 2, np.random.default_rng(0))
    assert sorted(np.bincount(f).tolist()) == [5, 6]
    np.testing.assert_array_equal(f, fold_ids(11, 2, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="k >= 2"):
        fold_ids(10, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 3 rows"):
        fold_ids(2, 3, np.random.default_rng(0))


def test_cross_fit_predicts_every_row_out_of_fold():
    n = 20
    seen: list[tuple[set, set]] = []

    def fit_predict(fit_rows, eval_rows):
        seen.append((set(fit_rows.tolist()), set(eval_rows.tolist())))
        # a "model" that predicts the mean row id of its fit rows: never its own rows
        return np.full((len(eval_rows), 2), np.mean(fit_rows))

    q = cross_fit(n, fit_predict, np.random.default_rng(1))
    assert q.shape == (n, 2)
    assert len(seen) == 2
    for fit, ev in seen:
        assert not fit & ev and fit | ev == set(range(n))
    with pytest.raises(ValueError, match="one prediction per row"):
        cross_fit(n, lambda f, e: np.zeros(3), np.random.default_rng(1))
