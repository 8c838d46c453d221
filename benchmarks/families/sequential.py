"""Multi-step recommendation sessions (the iALP setting, Wang et al., WSDM 2025) as a family.

Logged data are whole sessions (``data.n_train`` / ``n_heldout`` count sessions): session
estimators need every session complete. The online value is the return of one session per
evaluation user, drawn from the world's held-out users. Agents that learn online get their
budget first (:func:`recsim_envs.evaluation.learning.run_online`). The deployment holds the
behaviour policy and the simulated text user (iALP's language-model stub sees the public
catalogue only).

Off-policy estimates from the held-out sessions (SCOPE-RL's names): per-decision IS
(``pdis``, Precup et al., ICML 2000) and its weighted form (``wpdis``), the direct method on
fitted-Q evaluation (``dm``, Le et al., ICML 2019) and per-decision doubly robust (``dr``,
Jiang and Li, ICML 2016). Deterministic agents almost never repeat the logged actions
over a session, so their IS estimates are of the epsilon-softened agent
(:data:`SOFTEN_EPSILON`; the note of each estimate says so); DM and DR estimate the
agent itself.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import (
    CellError,
    Family,
    check_behaviour_keys,
)
from recsim_envs.core.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset, collect_sessions
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope import OffPolicyEstimate
from recsim_envs.sequential.family import FAMILY

_BEHAVIOUR_KEYS = {"policy", "temperature", "llm_alignment"}
SOFTEN_EPSILON = 0.1
"""Share of uniform choice mixed into a deterministic agent for importance sampling."""
FQE_ITERATIONS = 30
"""Bellman backups of FQE: the sessions' 30-turn limit (exact for a finite horizon)."""


class SequentialFamily(Family):
    description = FAMILY

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.world.n_items)
        if kind == "softmax":
            from recsim_envs.sequential.behaviour import sequential_behaviour_policy

            return sequential_behaviour_policy(env, float(settings.get("temperature", 0.5)),
                                               seed=seed % (2**31))
        raise CellError(f"unknown behaviour policy {kind!r} for the sequential family; use "
                        "'softmax' or 'uniform'")

    def log(self, env: gym.Env, policy: BehaviourPolicy, n: int, seed: int) -> LoggedDataset:
        return collect_sessions(env, policy, n, seed)

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        alignment = float(settings.get("llm_alignment", 0.5))
        return Deployment(family=self.name, behaviour=policy,
                          text_user=functools.partial(env.unwrapped.make_llm_user,
                                                      alignment=alignment))

    def off_policy(
        self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
        deployment: Deployment, env: gym.Env, rng: np.random.Generator,
    ) -> dict[str, OffPolicyEstimate]:
        from recsim_envs.ope import estimate_policy

        return estimate_policy(heldout, agent, deployment, rng=rng, train=train, env=env)
