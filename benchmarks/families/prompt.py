"""Prompt-to-sentence (Kiyohara et al., 2025) as a benchmark family.

The agent picks one prompt per context [x, q]; the frozen generator writes a sentence;
the user's reward depends on x, q and the sentence. The online value is the exact expected
reward per context (``optimality``, the paper's score, next to it). The deployment holds
the generator (DSO samples fresh sentences with it) and the behaviour policy; the user's
reward model stays with the harness.

Off-policy estimates: IPS, SNIPS, DM, DR over prompts and kernel IS in sentence space
(the weighting of DSO), whose densities are Monte Carlo averages of a Gaussian kernel over
sentences the generator writes under each policy, with DSO's bandwidth rule (0.5 x the
median within-query distance, from the behaviour policy's sentences for the same queries).
DM/DR use the prompt reward regressor fit once on the training log: their intervals are
conditional on it (refitting it 200 times per cell would cost minutes), and say so.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import (
    CellError,
    Family,
    check_behaviour_keys,
)
from recsim_envs.core.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope import OffPolicyEstimate
from recsim_envs.prompt.family import FAMILY

_BEHAVIOUR_KEYS = {"policy", "beta", "n_rounds", "regressor_steps"}
KERNEL_SAMPLES = 32
"""Sentences per held-out row and policy in the Monte Carlo kernel densities."""
KERNEL_BANDWIDTH = 0.5
"""Factor on the median within-query distance (DSO's default rule, see agents.prompt.dso)."""
DM_STEPS = 1000
"""Adam steps of the direct-method reward regressor (fit on the training rounds)."""
_BEHAVIOUR_CACHE: dict[tuple, BehaviourPolicy] = {}
"""The last reference behaviour policy built in this process (see behaviour_policy)."""


class PromptFamily(Family):
    description = FAMILY

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        kind = settings.get("policy", "reference")
        if kind == "uniform":
            return UniformPolicy(base.n_prompts)
        if kind == "reference":
            from recsim_envs.prompt.behaviour import reference_behaviour_policy

            # The agents of a seed run one after the other on the same world and seed: the
            # policy (a regressor fit, the costliest part of logging) is kept for the next.
            key = (base.default_id, json.dumps(base.env_kwargs, sort_keys=True, default=str),
                   json.dumps(settings, sort_keys=True), int(seed))
            if key not in _BEHAVIOUR_CACHE:
                _BEHAVIOUR_CACHE.clear()
                _BEHAVIOUR_CACHE[key] = reference_behaviour_policy(
                    base, seed=seed, n_rounds=int(settings.get("n_rounds", 10_000)),
                    beta=float(settings.get("beta", 1.0)),
                    regressor_steps=int(settings.get("regressor_steps", 3000)),
                )
            return _BEHAVIOUR_CACHE[key]
        raise CellError(f"unknown behaviour policy {kind!r} for the prompt family; use "
                        "'reference' (softmax over a reward regressor) or 'uniform'")

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        return Deployment(family=self.name, behaviour=policy, generator=env.unwrapped.generator)

    def off_policy(
        self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
        deployment: Deployment, env: gym.Env, rng: np.random.Generator,
    ) -> dict[str, OffPolicyEstimate]:
        from recsim_envs.ope import estimate_policy

        return estimate_policy(heldout, agent, deployment, rng=rng, train=train, env=env)
