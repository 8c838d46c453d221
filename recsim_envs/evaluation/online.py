"""Online evaluation: the one function every family, the runner and users call.

    result = evaluate(agent, "recsim_envs/TwoStageSynthetic-v0", {"n_items": 300}, n_users=2000,
                      seed=0)
    print(result.value)                 # Estimate: mean and 95% CI over the evaluated users
    print(result.scores)                # the papers' scores: {"reward": ..., "precision@5": ...}

The agent acts on batches of observations from the environment's native vector env
(``vectorization_mode="vector_entry_point"``), reset once with ``seed``; the same seed gives
the same users for every agent (common random numbers, so comparisons are paired). What is
measured per user and which scores the papers report is the family's
(:class:`~recsim_envs.evaluation.harness.FamilyHarness`, found from the environment class's
``family``): the exact expected clicks and ranking metrics in two-stage
(:mod:`recsim_envs.two_stage.harness`), the exact expected reward and the optimality in
prompt (:mod:`recsim_envs.prompt.harness`), the return of one whole session per held-out
user in sequential (:mod:`recsim_envs.sequential.harness`).

``env_kwargs`` may hold ``built_world`` (the cell's world, built once: nothing is built
again). Privileged skylines (``offline = False``) that read the environment get it through
``bind_env``; offline agents never see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsim_envs.core.stats import Estimate, mean_ci
from recsim_envs.evaluation.contract import AgentHandle
from recsim_envs.evaluation.harness import harness_of_env
from recsim_envs.families import get_family_description


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
        info: what the family's measurement chose (e.g. the two-stage
            ``positive_threshold``).
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
    info: dict[str, Any] = field(default_factory=dict)
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def primary(self) -> str:
        return get_family_description(self.family).primary

    @property
    def positive_threshold(self) -> float | None:
        """The ranking metrics' ground-truth threshold, where the family has one."""
        return self.info.get("positive_threshold")

    @property
    def expected_reward(self) -> Estimate:
        return self.metrics["expected_reward"]

    @property
    def reward(self) -> Estimate:
        return self.metrics["reward"]

    @property
    def ranking(self) -> dict[str, Estimate]:
        """Ranking metrics (``...@k``) and ``shown_positive``, where the family has them."""
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
    **options: Any,
) -> EvalResult:
    """Run ``agent`` online for ``n_users`` users (sessions) and report means with 95% CIs.

    Args:
        agent: anything with ``act(obs_batch)`` (wrapped in an
            :class:`~recsim_envs.evaluation.contract.AgentHandle` once).
        env_id: a registered id with a native vector env.
        env_kwargs: settings of the environment (``built_world`` among them: its world).
        n_users: users (one-step families) or sessions (sequential) to evaluate.
        seed: the same seed gives the same users for every agent.
        batch_size: users stepped per call in one-step families.
        options: the family's measurement options (two-stage: ``ranking_ks``, the
            cut-offs of the ranking metrics, default (5, 10); ``positive_threshold``).
    """
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    harness = harness_of_env(env_id)
    desc = harness.description
    venv = harness.make_vec(env_id, harness.eval_envs(n_users, batch_size),
                            dict(env_kwargs or {}))
    try:
        if handle.privileged:
            handle.bind_env(venv.unwrapped)
        per, info = harness.measure(handle, venv, n_users, int(seed), **options)
    finally:
        venv.close()
    metrics = {}
    for name, values in per.items():
        valid = values[np.isfinite(values)]
        if valid.size:
            metrics[name] = mean_ci(valid)
    return EvalResult(
        env_id=env_id, agent=handle.name, family=desc.name, n_users=n_users, seed=int(seed),
        value=metrics[desc.value_key], unit=desc.eval_unit,
        measure=desc.measure, metrics=metrics, scores=harness.scores(metrics),
        info=info, per_user=per,
    )
