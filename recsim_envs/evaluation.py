"""Online evaluation of an agent in a one-step (bandit-style) environment: the one function
every table in the suite uses.

    result = evaluate(agent, "recsim_envs/TwoStageSynthetic-v0", n_users=2000, seed=0)
    print(result.expected_reward)            # Estimate: mean and 95% CI
    print(result.ranking["ndcg@10"])          # two-stage environments only

The agent acts on batches of observations from the environment's native vector env
(``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``), reset once with
``seed`` (sub-environment i gets ``seed + i`` and draws later users from its own generator),
so the same ``seed`` and ``batch_size`` evaluate every agent on the same users. Reported:

- ``expected_reward``: the mean of ``info["expected_reward"]`` (the exact expected reward of
  what was shown; low variance, the headline figure);
- ``reward``: the mean realised reward;
- for environments with a privileged ``expected_reward_all()`` (two-stage): one-stage
  ranking metrics of the agent's own top-k (see :func:`ranking_metrics`) and
  ``shown_positive``, the fraction of rounds whose shown item is a ground-truth positive
  (the paper's two-stage top-1 precision).

Privileged reference policies (``agent.offline is False``, e.g. the oracle) are handed the
vector environment's unwrapped object through ``agent.bind_env(env)`` before the first
step; offline agents never see the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.stats import Estimate, mean_ci

DEFAULT_POSITIVE_QUANTILE = 0.9


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        env_id, agent: what was evaluated (agent: its registered name or class name).
        n_users, seed: the evaluated users (same seed = same users for every agent).
        expected_reward: mean exact expected reward per round, with 95% CI over users.
        reward: mean realised reward per round, with 95% CI.
        ranking: one-stage metrics of the agent's top-k ("precision@k", "recall@k",
            "ndcg@k") and "shown_positive" (two-stage environments only).
        positive_threshold: the click-probability cut that defined ground-truth positives.
        per_user: per-round arrays ("expected_reward", "reward", ...) for paired comparisons.
    """

    env_id: str
    agent: str
    n_users: int
    seed: int
    expected_reward: Estimate
    reward: Estimate
    ranking: dict[str, Estimate] = field(default_factory=dict)
    positive_threshold: float | None = None
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, float]:
        """Flat {metric: mean} for tables."""
        out = {"expected_reward": self.expected_reward.mean, "reward": self.reward.mean}
        out.update({k: v.mean for k, v in self.ranking.items()})
        return out


def ranking_metrics(
    top_items: np.ndarray, positives: np.ndarray, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """Per-user Precision@k, Recall@k and NDCG@k of ranked lists against binary relevance.

    Args:
        top_items: (n, K) item ids, best first, K >= max(ks). A repeated id counts once (at
            its first position), as candidate sets have set semantics.
        positives: (n, n_items) bool ground truth.
        ks: cut-offs.

    Returns:
        {"precision@k": (n,), "recall@k": (n,), "ndcg@k": (n,)} float64. Precision divides
        hits by k; recall divides by the user's number of positives; NDCG is DCG with gains
        1/log2(rank + 1) over the ideal DCG of min(k, n_pos) positives. Recall and NDCG are
        NaN for users without positives (excluded by :func:`evaluate`).
    """
    top_items = np.asarray(top_items, dtype=np.int64)
    n, width = top_items.shape
    if not ks or max(ks) > width:
        raise ValueError(f"need cut-offs ks (got {list(ks)}) of at most {width} ranked items")
    rows = np.arange(n)[:, None]
    first = np.ones_like(top_items, dtype=bool)
    # first occurrence of each id in each row, in a vectorised way: sort, mark run starts
    order = np.argsort(top_items, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(top_items, order, axis=1)
    starts = np.ones_like(sorted_ids, dtype=bool)
    starts[:, 1:] = sorted_ids[:, 1:] != sorted_ids[:, :-1]
    first[rows, order] = starts
    hits = positives[rows, top_items] & first  # (n, K)
    n_pos = positives.sum(axis=1).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in ks:
            h = hits[:, :k]
            n_hits = h.sum(axis=1).astype(np.float64)
            out[f"precision@{k}"] = n_hits / k
            out[f"recall@{k}"] = np.where(n_pos > 0, n_hits / n_pos, np.nan)
            dcg = (h * discounts[:k]).sum(axis=1)
            ideal = np.cumsum(discounts[:k])[np.minimum(n_pos, k).astype(np.int64) - 1]
            out[f"ndcg@{k}"] = np.where(n_pos > 0, dcg / ideal, np.nan)
    return out


def evaluate(
    agent: Any,
    env_id: str,
    n_users: int,
    seed: int,
    batch_size: int = 1000,
    ranking_ks: Sequence[int] = (5, 10),
    positive_threshold: float | None = None,
    **env_kwargs: Any,
) -> EvalResult:
    """Run ``agent`` online for ``n_users`` one-step rounds and report means with 95% CIs.

    Args:
        agent: anything with ``act(obs_batch) -> actions``; optional ``rank_items(obs, k)``
            (one-stage metrics use it, else ``act``); ``offline = False`` agents also need
            ``bind_env(env)``.
        env_id: a registered id with a native vector env (``vector_entry_point``).
        n_users: rounds to evaluate (each a fresh user of a one-step episode).
        seed: the vector env is reset with this seed; the same seed gives the same users.
        batch_size: users stepped per call (memory: batch_size x n_items for rankings).
        ranking_ks: cut-offs of the one-stage ranking metrics.
        positive_threshold: ground truth for ranking metrics is click probability >= this;
            None uses the 0.9 quantile of the click probabilities of the first batch of
            users over all items (a global cut like the paper's, about 10% positives,
            identical for every agent evaluated with the same seed and batch size).
        **env_kwargs: passed to ``gymnasium.make_vec``.

    Returns:
        An :class:`EvalResult`.
    """
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    num_envs = min(batch_size, n_users)
    env = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **env_kwargs
    )
    try:
        base = env.unwrapped
        if getattr(agent, "offline", True) is False:
            if not hasattr(agent, "bind_env"):
                raise TypeError(
                    f"{type(agent).__name__} is marked offline=False but has no bind_env"
                )
            agent.bind_env(base)
        privileged = hasattr(base, "expected_reward_all")
        obs, _ = env.reset(seed=int(seed))
        per: dict[str, list[np.ndarray]] = {}
        threshold = positive_threshold
        done = 0
        while done < n_users:
            take = min(num_envs, n_users - done)
            if privileged:
                truth = np.asarray(base.expected_reward_all())  # current users, before the step
                if threshold is None:
                    threshold = float(np.quantile(truth, DEFAULT_POSITIVE_QUANTILE))
                positives = truth >= threshold
                k_max = max(ranking_ks)
                ranked = (
                    agent.rank_items(obs, k_max)
                    if hasattr(agent, "rank_items")
                    else np.asarray(agent.act(obs))
                )
                ranked = np.asarray(ranked).reshape(num_envs, -1)
                # an agent without rank_items is scored on its action: cut-offs up to its width
                ks = [k for k in ranking_ks if k <= ranked.shape[1]]
                metrics = ranking_metrics(ranked, positives, ks) if ks else {}
                for name, values in metrics.items():
                    per.setdefault(name, []).append(values[:take])
            actions = agent.act(obs)
            obs, reward, _, _, info = env.step(actions)
            if "expected_reward" not in info:
                raise KeyError(f"{env_id} does not report info['expected_reward']")
            per.setdefault("expected_reward", []).append(np.asarray(info["expected_reward"])[:take])
            per.setdefault("reward", []).append(np.asarray(reward, dtype=np.float64)[:take])
            if privileged and "shown" in info:
                shown = np.asarray(info["shown"])[:, 0]
                hit = positives[np.arange(num_envs), np.maximum(shown, 0)] & (shown >= 0)
                per.setdefault("shown_positive", []).append(hit[:take].astype(np.float64))
            done += take
    finally:
        env.close()
    arrays = {k: np.concatenate(v) for k, v in per.items()}
    ranking = {}
    for name, values in arrays.items():
        if name in ("expected_reward", "reward"):
            continue
        valid = values[np.isfinite(values)]
        if valid.size:
            ranking[name] = mean_ci(valid)
    return EvalResult(
        env_id=env_id,
        agent=getattr(agent, "name", type(agent).__name__),
        n_users=n_users,
        seed=int(seed),
        expected_reward=mean_ci(arrays["expected_reward"]),
        reward=mean_ci(arrays["reward"]),
        ranking=ranking,
        positive_threshold=threshold,
        per_user=arrays,
    )
