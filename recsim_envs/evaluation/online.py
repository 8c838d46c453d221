"""Online evaluation: the one function every family, the runner and users call.

    result = evaluate(agent, "recsim_envs/TwoStageSynthetic-v0", {"n_items": 300}, n_users=2000,
                      seed=0)
    print(result.value)                 # Estimate: mean and 95% CI over the evaluated users
    print(result.scores)                # the papers' scores: {"reward": ..., "precision@5": ...}

The agent acts on batches of observations from the environment's native vector env
(``vectorization_mode="vector_entry_point"``), reset once with ``seed``; the same seed gives
the same users for every agent (common random numbers, so comparisons are paired). A
one-step bandit is a session of length 1:

- two-stage: the value is the exact click probability of the shown item (for candidate
  samplers its exact expectation over the agent's draws), plus one-stage ranking metrics
  of the agent's own top-k and ``shown_positive`` (the paper's two-stage precision@1);
- prompt: the exact expected reward E[r | x, q, a] of the chosen prompt (for stochastic
  agents sum_a pi(a|x) E[r | x, q, a]) and ``optimality`` = (V - V_uniform) / (V_best -
  V_uniform) on the same contexts (Kiyohara et al., 2025);
- sequential: the return of one whole session per evaluation user, drawn from the world's
  held-out users with ``seed``.

Privileged skylines (``offline = False``) get the vector environment through ``bind_env``;
offline agents never see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.core.stats import Estimate, mean_ci
from recsim_envs.evaluation.contract import AgentHandle
from recsim_envs.families import get_family_description
from recsim_envs.two_stage.ranking_metrics import filter_ranked, ranker_order, ranking_metrics

DEFAULT_POSITIVE_QUANTILE = 0.9


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        env_id, agent, family: what was evaluated.
        n_users, seed: the evaluated users (same seed = same users for every agent).
        value: the family's online value per user (``measure``), with its 95% interval
            over the ``n_users`` users of this seed (``unit``).
        metrics: every per-user quantity with its interval (``expected_reward``,
            ``reward``, ``precision@5``, ``length``, ...).
        scores: the papers' scores as plain numbers (the family description's ``primary``
            is the one used for ranking).
        per_user: per-user arrays, for paired comparisons.
    """

    env_id: str
    agent: str
    family: str
    n_users: int
    seed: int
    value: Estimate
    unit: str
    measure: str
    metrics: dict[str, Estimate] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    positive_threshold: float | None = None
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def primary(self) -> str:
        return get_family_description(self.family).primary

    @property
    def expected_reward(self) -> Estimate:
        return self.metrics["expected_reward"]

    @property
    def reward(self) -> Estimate:
        return self.metrics["reward"]

    @property
    def ranking(self) -> dict[str, Estimate]:
        """One-stage ranking metrics and ``shown_positive`` (two-stage only)."""
        return {k: v for k, v in self.metrics.items()
                if "@" in k or k == "shown_positive"}

    def summary(self) -> dict[str, float]:
        """Flat {metric: mean} for tables."""
        return {k: v.mean for k, v in self.metrics.items()}


def evaluate(
    agent: Any,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    n_users: int = 1000,
    seed: int = 0,
    *,
    batch_size: int = 1000,
    ranking_ks: Sequence[int] = (5, 10),
    positive_threshold: float | None = None,
) -> EvalResult:
    """Run ``agent`` online for ``n_users`` users (sessions) and report means with 95% CIs.

    Args:
        agent: anything with ``act(obs_batch)`` (wrapped in an
            :class:`~recsim_envs.evaluation.contract.AgentHandle` once).
        env_id: a registered id with a native vector env.
        env_kwargs: settings of the environment.
        n_users: users (one-step families) or sessions (sequential) to evaluate.
        seed: the same seed gives the same users for every agent.
        batch_size: users stepped per call in one-step families.
        ranking_ks: cut-offs of the one-stage ranking metrics (two-stage).
        positive_threshold: two-stage ground truth is click probability >= this; None
            uses the 0.9 quantile of the first batch's click probabilities over all items.
    """
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    kwargs = dict(env_kwargs or {})
    # Sessions run all at once (one sub-environment each); one-step users in batches.
    sessions = get_family_description(_family_of(env_id)).eval_unit == "sessions"
    num_envs = n_users if sessions else min(batch_size, n_users)
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        **kwargs)
    try:
        base = venv.unwrapped
        family = str(base.family)
        desc = get_family_description(family)
        if handle.privileged:
            handle.bind_env(base)
        if desc.eval_unit == "sessions":
            per = _sessions(handle, venv, n_users, int(seed))
            threshold = None
        else:
            per, threshold = _one_step(handle, venv, family, n_users, int(seed), ranking_ks,
                                       positive_threshold)
    finally:
        venv.close()
    metrics = {}
    for name, values in per.items():
        valid = values[np.isfinite(values)]
        if valid.size:
            metrics[name] = mean_ci(valid)
    scores = {("reward" if k == "expected_reward" else k): v.mean for k, v in metrics.items()
              if k not in ("reward", "uniform_value", "best_value")}
    if family == "prompt":
        uniform, best = metrics["uniform_value"].mean, metrics["best_value"].mean
        scores["optimality"] = (metrics["expected_reward"].mean - uniform) / (best - uniform)
        scores["reward"] = metrics["expected_reward"].mean
    return EvalResult(
        env_id=env_id, agent=handle.name, family=family, n_users=n_users, seed=int(seed),
        value=metrics[desc.value_key], unit=desc.eval_unit,
        measure=desc.measure, metrics=metrics, scores=scores,
        positive_threshold=threshold, per_user=per,
    )


def _family_of(env_id: str) -> str:
    """The ``family`` attribute of ``env_id``'s class (a user's own environment declares
    it too, see docs/benchmarks.md)."""
    spec = gym.spec(env_id)
    cls = spec.entry_point
    if isinstance(cls, str):
        import importlib

        module, _, name = cls.partition(":")
        cls = getattr(importlib.import_module(module), name)
    return str(getattr(cls, "family", ""))


def _one_step(handle: AgentHandle, venv: gym.vector.VectorEnv, family: str, n_users: int,
              seed: int, ranking_ks: Sequence[int], positive_threshold: float | None):
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

        if family == "two_stage":
            truth = np.asarray(base.expected_reward_all())  # current users, before the step
            if threshold is None:
                threshold = getattr(base, "positive_threshold", None)
            if threshold is None:
                threshold = float(np.quantile(truth, DEFAULT_POSITIVE_QUANTILE))
            positives = truth >= threshold
            for name, values in _two_stage_ranking(handle, base, obs, positives,
                                                   ranking_ks).items():
                add(name, values)
            exact = _exact_two_stage(handle, base, obs, truth)
        else:
            truth = np.asarray(base.env.expected_reward_matrix(obs))  # (n, n_prompts)
            add("uniform_value", truth.mean(axis=1))
            add("best_value", truth.max(axis=1))
            probs = handle.distribution(obs, truth.shape[1])
            exact = None if probs is None else (probs * truth).sum(axis=1)
        actions = handle.act(obs)
        obs, reward, _, _, info = venv.step(actions)
        add("expected_reward", info["expected_reward"] if exact is None else exact)
        add("reward", reward)
        if family == "two_stage" and "shown" in info:
            shown = np.asarray(info["shown"])[:, 0]
            hit = positives[np.arange(num_envs), np.maximum(shown, 0)] & (shown >= 0)
            add("shown_positive", hit)
        done += take
    return {k: np.concatenate(v) for k, v in per.items()}, threshold


def _two_stage_ranking(handle: AgentHandle, base: Any, obs: np.ndarray, positives: np.ndarray,
                       ranking_ks: Sequence[int]) -> dict[str, np.ndarray]:
    """One- and two-stage ranking metrics (Ma et al., WWW 2020), per user.

    The generator's list: its top ``max(n_candidates, max(ranking_ks)) + (most excluded items
    of a user)`` items (``rank_items``; else ``act``), minus the environment's
    ``excluded_items`` (the paper's logged positives) and repeats. One-stage metrics take
    that list in the generator's order (``precision@5``, ...); two-stage metrics take its
    first ``n_candidates`` re-sorted by the ranker (``two_stage_precision@1``, ...).
    Excluded items are not relevant items.
    """
    num_envs = len(obs)
    k_gen = int(base.n_candidates)
    excluded = np.asarray(base.excluded_items()) if hasattr(base, "excluded_items") else None
    extra = int(excluded.sum(axis=1).max()) if excluded is not None else 0
    if hasattr(handle.agent, "rank_items"):
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


def _exact_two_stage(handle: AgentHandle, base: Any, obs: np.ndarray,
                     truth: np.ndarray) -> np.ndarray | None:
    """E[click] over a candidate sampler's draws: sum_a P(shown = a) truth_a (slate of one)."""
    if not handle.sampler or int(getattr(base, "slate_size", 1)) != 1:
        return None
    from recsim_envs.ope.policy import shown_item_distribution

    probs = handle.distribution(obs, truth.shape[1])
    scores = base.world.ranker.scores_all(obs)
    shown = shown_item_distribution(probs, scores, int(base.n_candidates),
                                    bool(handle.agent.with_replacement))
    return (shown * truth).sum(axis=1)


def _sessions(handle: AgentHandle, venv: gym.vector.VectorEnv, n_users: int,
              seed: int) -> dict[str, np.ndarray]:
    """One session per evaluation user, all users side by side in the native vector env."""
    from recsim_envs.sequential.observation import flatten_obs

    base = venv.unwrapped
    held_out = base.world.test_users
    rng = np.random.default_rng(seed)
    users = rng.choice(held_out, size=n_users, replace=n_users > len(held_out))
    obs, _ = venv.reset(seed=seed, options={"user_ids": users})
    returns = np.zeros(n_users)
    lengths = np.zeros(n_users)
    active = np.ones(n_users, dtype=bool)
    while active.any():
        flat = flatten_obs(obs)
        actions = np.zeros(n_users, dtype=np.int64)
        idx = np.flatnonzero(active)
        actions[idx] = np.asarray(handle.act(flat[idx])).reshape(-1)
        obs, reward, term, trunc, _ = venv.step(actions)
        returns[idx] += reward[idx]
        lengths[idx] += 1
        active &= ~(term | trunc)
    return {"return": returns, "length": lengths}
