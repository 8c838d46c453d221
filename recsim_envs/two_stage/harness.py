"""The two-stage family's harness (Ma et al., "Off-policy Learning in Two-stage Recommender
Systems", WWW 2020): what the evaluation and the benchmark runner do in this family.

The agent is the candidate generator: ``act`` returns k item ids per user, the
environment's fixed ranker shows one. Online value: the exact click probability of the
shown item per user (for candidate samplers its exact expectation over the agent's draws),
plus the one-stage ranking metrics of the agent's own top-k and ``shown_positive`` (the
paper's two-stage precision@1). Off-policy estimates: :mod:`recsim_envs.ope.families.two_stage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import (
    BehaviourPolicy,
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
)
from recsim_envs.evaluation.contract import AgentHandle, Deployment
from recsim_envs.evaluation.harness import FamilyHarness, HarnessError
from recsim_envs.two_stage.family import FAMILY
from recsim_envs.two_stage.ranking_metrics import filter_ranked, ranker_order, ranking_metrics
from recsim_envs.two_stage.view import TwoStageView

DEFAULT_POSITIVE_QUANTILE = 0.9
"""Without an environment's own threshold, ground-truth positives are the items whose click
probability is in the top 10% of the first batch's."""


class TwoStageHarness(FamilyHarness):
    description = FAMILY
    behaviour_keys = frozenset({"policy", "temperature", "epsilon", "precision"})
    view_class = TwoStageView

    def behaviour_policy(self, env: gym.Env, settings: dict[str, Any],
                         seed: int) -> BehaviourPolicy:
        self.check_behaviour_keys(settings)
        base = env.unwrapped
        if int(base.config.session_length) != 1:
            raise HarnessError("the two-stage benchmark evaluates one-step sessions; set "
                               "session_length = 1")
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.n_items)
        if kind == "softmax":
            return SoftmaxPolicy(base.behaviour_scorer(), base.n_items,
                                 float(settings.get("temperature", 1.0)),
                                 scorer_name="two_stage_click_scorer",
                                 precision=str(settings.get("precision", "float64")))
        if kind == "epsilon_greedy":
            return EpsilonGreedyPolicy(base.behaviour_scorer(), base.n_items,
                                       float(settings.get("epsilon", 0.1)),
                                       scorer_name="two_stage_click_scorer")
        raise HarnessError(f"unknown behaviour policy {kind!r} for the two-stage family; use "
                           "'softmax', 'epsilon_greedy' or 'uniform'")

    def data_provenance(self, env: gym.Env) -> dict[str, Any] | None:
        return env.unwrapped.world_info.get("data_provenance")

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        base = env.unwrapped
        return Deployment(family=self.name, behaviour=policy, ranker=base.world.ranker,
                          n_candidates=int(base.n_candidates))

    def measure(self, handle: AgentHandle, venv: gym.vector.VectorEnv, n_users: int,
                seed: int, *, ranking_ks: Sequence[int] = (5, 10),
                positive_threshold: float | None = None,
                **options: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Per-user ``expected_reward``, ``reward``, ranking metrics and ``shown_positive``.

        ``ranking_ks``: cut-offs of the one-stage ranking metrics; ``positive_threshold``:
        ground truth is click probability >= this (None: the environment's own, else the
        0.9 quantile of the first batch's click probabilities over all items).
        """
        if options:
            raise HarnessError(f"unknown two-stage measurement option(s) {sorted(options)}; "
                               "known: ranking_ks, positive_threshold")
        base = venv.unwrapped
        num_envs = venv.num_envs
        obs, _ = venv.reset(seed=seed)
        per: dict[str, list[np.ndarray]] = {}
        threshold = positive_threshold
        done = 0
        while done < n_users:
            take = min(num_envs, n_users - done)

            def add(name: str, values: np.ndarray, take: int = take) -> None:
                per.setdefault(name, []).append(np.asarray(values, dtype=np.float64)[:take])

            truth = np.asarray(base.expected_reward_all())  # current users, before the step
            if threshold is None:
                threshold = base.positive_threshold
            if threshold is None:
                threshold = float(np.quantile(truth, DEFAULT_POSITIVE_QUANTILE))
            positives = truth >= threshold
            for name, values in _ranking(handle, base, obs, positives, ranking_ks).items():
                add(name, values)
            exact = _exact_value(handle, base, obs, truth)
            actions = handle.act(obs)
            obs, reward, _, _, info = venv.step(actions)
            add("expected_reward", info["expected_reward"] if exact is None else exact)
            add("reward", reward)
            if "shown" in info:
                shown = np.asarray(info["shown"])[:, 0]
                hit = positives[np.arange(num_envs), np.maximum(shown, 0)] & (shown >= 0)
                add("shown_positive", hit)
            done += take
        return ({k: np.concatenate(v) for k, v in per.items()},
                {"positive_threshold": threshold})


def _ranking(handle: AgentHandle, base: Any, obs: np.ndarray, positives: np.ndarray,
             ranking_ks: Sequence[int]) -> dict[str, np.ndarray]:
    """One- and two-stage ranking metrics (Ma et al., WWW 2020), per user.

    The generator's list: its top ``max(n_candidates, max(ranking_ks)) + (most excluded items
    of a user)`` items (``rank_items``; else ``act``), minus the environment's
    ``excluded_items()`` (the paper's logged positives) and repeats. One-stage metrics take
    that list in the generator's order (``precision@5``, ...); two-stage metrics take its
    first ``n_candidates`` re-sorted by the ranker (``two_stage_precision@1``, ...).
    Excluded items are not relevant items.
    """
    num_envs = len(obs)
    k_gen = int(base.n_candidates)
    excluded = base.excluded_items()
    extra = int(excluded.sum(axis=1).max()) if excluded is not None else 0
    if handle.ranks_items:
        # one-stage metrics may look deeper than k (e.g. @10 with k = 5)
        width = max([k_gen, *ranking_ks])
        ranked = handle.rank_items(obs, min(int(base.n_items), width + extra))
    else:
        ranked = handle.act(obs)
    ranked = np.asarray(ranked).reshape(num_envs, -1)
    ranked = filter_ranked(ranked, excluded, ranked.shape[1])
    relevant = positives if excluded is None else positives & ~excluded
    out: dict[str, np.ndarray] = {}
    ks = [k for k in ranking_ks if k <= ranked.shape[1]]
    if ks:
        out.update(ranking_metrics(ranked, relevant, ks))
    candidates = ranked[:, :k_gen]
    scores = base.world.ranker.scores(obs, np.maximum(candidates, 0))
    ordered = ranker_order(candidates, scores)
    two_ks = [k for k in sorted({1, *ranking_ks}) if k <= k_gen]
    for name, values in ranking_metrics(ordered, relevant, two_ks).items():
        out[f"two_stage_{name}"] = values
    return out


def _exact_value(handle: AgentHandle, base: Any, obs: np.ndarray,
                 truth: np.ndarray) -> np.ndarray | None:
    """E[click] over a candidate sampler's draws: sum_a P(shown = a) truth_a (slate of one)."""
    if not handle.sampler or int(base.slate_size) != 1:
        return None
    from recsim_envs.ope.policy import shown_item_distribution

    probs = handle.distribution(obs, truth.shape[1])
    scores = base.world.ranker.scores_all(obs)
    shown = shown_item_distribution(probs, scores, int(base.n_candidates),
                                    bool(handle.agent.with_replacement))
    return (shown * truth).sum(axis=1)


HARNESS = TwoStageHarness()
"""The two-stage family's harness (named by its description's ``harness``)."""
