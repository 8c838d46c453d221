"""The agent contract: one policy per agent, exact shown-item probabilities, skylines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recsim_envs.evaluation import AgentHandle, ContractError
from recsim_envs.ope.policy import shown_item_distribution


def _enumerated(p: np.ndarray, scores: np.ndarray, k: int, replacement: bool) -> np.ndarray:
    """P(first shown = a) by enumerating every candidate tuple (tiny catalogues only)."""
    n_items = len(p)
    rank = {a: r for r, a in enumerate(sorted(range(n_items), key=lambda a: (-scores[a], a)))}
    out = np.zeros(n_items)
    if replacement:
        for draw in itertools.product(range(n_items), repeat=k):
            out[min(draw, key=rank.get)] += np.prod(p[list(draw)])
    else:
        support = [a for a in range(n_items) if p[a] > 0]
        sets = list(itertools.combinations(support, k))
        for s in sets:
            out[min(s, key=rank.get)] += 1.0 / len(sets)
    return out


@pytest.mark.parametrize("replacement", [True, False])
def test_shown_item_probability_matches_enumeration(replacement):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=6)
    if replacement:
        p = rng.dirichlet(np.ones(6))
    else:
        p = np.array([0.25, 0.0, 0.25, 0.25, 0.0, 0.25])
    for k in (1, 2, 3):
        got = shown_item_distribution(p[None], scores[None], k, replacement)[0]
        np.testing.assert_allclose(got, _enumerated(p, scores, k, replacement), atol=1e-12)


def test_without_replacement_from_a_non_uniform_distribution_is_refused():
    with pytest.raises(ValueError, match="uniform"):
        shown_item_distribution(np.array([[0.5, 0.3, 0.2]]), np.zeros((1, 3)), 2, False)


class _Liar:
    """act always picks prompt 0 but claims to be uniform: two policies in one agent."""

    def fit(self, dataset, deployment=None):
        return self

    def action_probs(self, obs):
        return np.full((len(obs), 5), 0.2)

    def act(self, obs):
        return np.zeros(len(obs), dtype=np.int64)


class _Honest(_Liar):
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def act(self, obs):
        return self.rng.integers(5, size=len(obs))


def test_an_agent_whose_act_ignores_its_distribution_is_caught():
    obs = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ContractError, match="does not sample"):
        AgentHandle(_Liar()).check_agreement(obs, 5)
    AgentHandle(_Honest()).check_agreement(obs, 5)  # a faithful sampler passes


def test_plain_fit_plugins_and_skylines_are_resolved_once():
    class Plain:
        def __init__(self):
            self.seen = None

        def fit(self, dataset):
            self.seen = dataset
            return self

        def act(self, obs):
            return obs

    # a plain fit(dataset) is declared once, where the plug-in is loaded (the runner's
    # benchmarks.plugins.wrap_agent reads it from the signature); no call-time guessing
    from benchmarks.plugins import wrap_agent

    handle = AgentHandle(Plain(), plain_fit=True)
    handle.fit("logs", deployment=object())
    assert handle.agent.seen == "logs" and not handle.privileged and not handle.stochastic
    assert wrap_agent(Plain(), "plain").plain_fit
    assert not wrap_agent(_Honest(), "honest").plain_fit
    assert not hasattr(handle, "seen")  # the handle forwards only what the contract names

    class Skyline(Plain):
        offline = False

    with pytest.raises(ContractError, match="bind_env"):
        AgentHandle(Skyline())


def test_capabilities_the_harness_does_not_read_are_named_before_any_estimate():
    from recsim_envs.evaluation.contract import Deployment

    class Plain:
        def fit(self, dataset, deployment=None):
            return self

        def act(self, obs):
            return np.zeros((len(obs), 3), dtype=np.int64)

    class RetiredSpelling(Plain):
        act_samples = True  # once documented; no code reads it

        def action_probs(self, obs):
            return np.full((len(obs), 5), 0.2)

    with pytest.raises(ContractError, match="declares 'act_samples'.*candidate_probs"):
        AgentHandle(RetiredSpelling())

    class ItemDistribution(Plain):
        def action_probs(self, obs):
            return np.full((len(obs), 5), 0.2)

    two_stage = Deployment(family="two_stage", n_candidates=3)
    with pytest.raises(ContractError, match="sets of 3 candidates: declare candidate_probs"):
        AgentHandle(ItemDistribution()).fit("logs", two_stage)
    # one action per observation (no candidate sets): action_probs is the spelling
    AgentHandle(ItemDistribution()).fit("logs", Deployment(family="prompt"))
