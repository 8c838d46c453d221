"""Two-stage recommendation (Ma et al., WWW 2020) as a benchmark family.

The agent is the candidate generator: ``act`` returns k item ids per user, the
environment's fixed ranker shows one. Online value: the expected clicks of the shown item
per user (the exact click probability, so the interval reflects users, not click noise).
Off-policy estimates are of the same value: the logged action is the item shown first,
so the target policy's distribution over it goes through the ranker (see
:func:`first_shown_distribution`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import (
    CellError,
    Family,
    OnlineResult,
    agent_actions,
    agent_probs,
    check_behaviour_keys,
    one_hot,
)
from benchmarks.ope import off_policy_estimates
from recsim_envs.data import LoggedDataset
from recsim_envs.policies import (
    BehaviourPolicy,
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
)
from recsim_envs.ranker import BilinearRanker, fit_bilinear
from recsim_envs.stats import Estimate

_BEHAVIOUR_KEYS = {"policy", "temperature", "epsilon"}


class TwoStageFamily(Family):
    name = "two_stage"
    value_name = "expected clicks per user"

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.n_items)
        if kind == "softmax":
            return SoftmaxPolicy(base.behaviour_scorer(), base.n_items,
                                 float(settings.get("temperature", 1.0)),
                                 scorer_name="two_stage_click_scorer")
        if kind == "epsilon_greedy":
            return EpsilonGreedyPolicy(base.behaviour_scorer(), base.n_items,
                                       float(settings.get("epsilon", 0.1)),
                                       scorer_name="two_stage_click_scorer")
        raise CellError(f"unknown behaviour policy {kind!r} for the two-stage family; use "
                        "'softmax', 'epsilon_greedy' or 'uniform'")

    def evaluate(
        self, agent: Any, env_id: str, kwargs: dict[str, Any], n_eval: int, seed: int
    ) -> OnlineResult:
        """``n_eval`` fresh users through :func:`recsim_envs.evaluation.evaluate`, with every
        action checked against the action space first."""
        from recsim_envs.evaluation import evaluate

        probe = self.make_env(env_id, kwargs)
        space = probe.action_space
        if int(probe.unwrapped.config.session_length) != 1:
            raise CellError("the two-stage benchmark evaluates one-step sessions; set "
                            "session_length = 1")
        k = int(probe.unwrapped.n_candidates)
        probe.close()
        # Ranking cut-offs no longer than the candidate set (agents without rank_items are
        # ranked by their k candidates).
        ks = tuple(sorted({min(5, k), min(10, k)}))
        result = evaluate(_CheckedAgent(agent, space), env_id, n_users=n_eval, seed=int(seed),
                          ranking_ks=ks, **kwargs)
        metrics = {"reward": result.reward.mean}
        metrics.update({name: est.mean for name, est in result.ranking.items()})
        return OnlineResult(value=result.expected_reward, metrics=metrics)

    def off_policy(
        self, agent: Any, train: LoggedDataset, heldout: LoggedDataset, env: gym.Env, seed: int
    ) -> dict[str, Estimate]:
        if getattr(agent, "offline", True) is False:
            return {}  # privileged skylines act on the live environment's users only
        ranker = BilinearRanker(heldout.system["ranker_weights"], heldout.system["item_features"])
        ctx = heldout.context
        n_items, k = heldout.meta.n_actions, int(heldout.meta.info["n_candidates"])
        per_draw = agent_probs(agent, ctx, n_items, _label(agent)) if _samples(agent) else None
        if per_draw is not None:
            target = first_shown_distribution(per_draw, ranker.scores_all(ctx), k)
        else:
            candidates = agent_actions(agent, ctx, env.action_space, _label(agent))
            target = one_hot(ranker.select(ctx, candidates, 1)[:, 0], n_items)
        q_hat = _reward_model(train)(ctx)
        return off_policy_estimates(target, heldout.action, heldout.pscore, heldout.reward, q_hat)


class _CheckedAgent:
    """Forwards to the agent, checking every batch of actions against the action space (a
    clear error naming the agent instead of the environment's)."""

    def __init__(self, agent: Any, space: gym.Space) -> None:
        self._agent, self._space = agent, space
        self.offline = getattr(agent, "offline", True)
        self.name = _label(agent)
        if hasattr(agent, "bind_env"):
            self.bind_env = agent.bind_env
        if hasattr(agent, "rank_items"):
            self.rank_items = agent.rank_items

    def act(self, obs: np.ndarray) -> np.ndarray:
        return agent_actions(self._agent, obs, self._space, self.name)


def _label(agent: Any) -> str:
    return getattr(agent, "name", type(agent).__name__)


def _samples(agent: Any) -> bool:
    """Whether ``act`` draws its candidates i.i.d. from ``action_probs``.

    Agents declare it with ``act_samples = True``; otherwise ``act`` is taken as the
    deployed (deterministic) policy and evaluated as a one-hot, which is exact for a
    top-k generator and unbiased (one draw) for a sampling one.
    """
    return bool(getattr(agent, "act_samples", False))


def first_shown_distribution(
    probs: np.ndarray, ranker_scores: np.ndarray, n_candidates: int
) -> np.ndarray:
    """P(the ranker shows item a first) for every item, exactly.

    The candidate set is ``n_candidates`` i.i.d. draws from ``probs`` (n, N). With items
    sorted by the ranker (score desc, id asc) and S_a the mass of a and all items ranked
    below it, P(first = a) = S_a^k - (S_a - p_a)^k (as in
    :func:`recsim_envs.ranker.shown_item_probability`, here for all a at once).

    Returns:
        (n, N) float64, rows summing to 1.
    """
    n, n_items = probs.shape
    ids = np.broadcast_to(np.arange(n_items), (n, n_items))
    order = np.lexsort((ids, -ranker_scores), axis=-1)  # best first
    p_sorted = np.take_along_axis(np.asarray(probs, dtype=np.float64), order, axis=1)
    suffix = np.cumsum(p_sorted[:, ::-1], axis=1)[:, ::-1]  # mass at or below each position
    suffix = np.clip(suffix, 0.0, 1.0)
    lower = np.clip(suffix - p_sorted, 0.0, 1.0)
    first_sorted = suffix**n_candidates - lower**n_candidates
    out = np.empty_like(first_sorted)
    np.put_along_axis(out, order, first_sorted, axis=1)
    return out / out.sum(axis=1, keepdims=True)


def _reward_model(train: LoggedDataset):
    """A bilinear ridge model of clicks on (user features, item features) from ``train``
    (the direct-method model of DM and DR); returns contexts (n, d) -> (n, N) in [0, 1]."""
    items = train.system["item_features"]
    weights = fit_bilinear(train.context, items[train.action], train.reward, ridge=1.0)
    from recsim_envs.policies import LinearScorer

    scorer = LinearScorer(weights, items)
    return lambda ctx: np.clip(scorer(ctx).astype(np.float64), 0.0, 1.0)
