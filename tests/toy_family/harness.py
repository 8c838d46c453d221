"""The toy family's harness: uniform logging, the exact expected reward online."""

from __future__ import annotations

from typing import Any

import numpy as np

from recsim_envs.core.policies import UniformPolicy
from recsim_envs.evaluation import Deployment
from recsim_envs.evaluation.harness import FamilyHarness, HarnessError
from tests.toy_family.family import FAMILY


class ToyHarness(FamilyHarness):
    description = FAMILY

    def behaviour_policy(self, env, settings: dict[str, Any], seed: int):
        self.check_behaviour_keys(settings)
        if settings.get("policy", "uniform") != "uniform":
            raise HarnessError("the toy family logs with policy = 'uniform' only")
        return UniformPolicy(int(env.action_space.n))

    def deployment(self, env, policy, settings: dict[str, Any]) -> Deployment:
        return Deployment(family=self.name, behaviour=policy)

    def measure(self, handle, venv, n_users: int, seed: int, **options: Any):
        obs, _ = venv.reset(seed=seed)
        per: dict[str, list[np.ndarray]] = {"expected_reward": [], "reward": []}
        done = 0
        while done < n_users:
            take = min(venv.num_envs, n_users - done)
            truth = venv.unwrapped.env.expected_reward_matrix(obs)  # (n, K)
            probs = handle.distribution(obs, truth.shape[1])
            actions = handle.act(obs)
            exact = (truth[np.arange(len(obs)), np.asarray(actions)] if probs is None
                     else (probs * truth).sum(axis=1))
            obs, reward, _, _, _ = venv.step(actions)
            per["expected_reward"].append(exact[:take])
            per["reward"].append(np.asarray(reward, np.float64)[:take])
            done += take
        return {k: np.concatenate(v) for k, v in per.items()}, {}


HARNESS = ToyHarness()
