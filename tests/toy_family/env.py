"""The toy bandit: context x ~ N(0, I_d), arm a, reward ~ Bernoulli(sigmoid(x . w_a)).

The world is the (K, d) weight matrix, drawn from ``world_seed``; ``BUILDS`` counts how
often it is drawn (the harness test checks that a benchmark cell draws it once).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.built_world import BuiltWorld, check_built_world
from recsim_envs.data import DatasetMeta, LoggedDataset

ENV_ID = "recsim_envs/ToyBandit-v0"
BUILDS = [0]


def _settings(n_actions: int, dim: int, world_seed: int) -> dict[str, int]:
    return {"n_actions": int(n_actions), "dim": int(dim), "world_seed": int(world_seed)}


class ToyBanditEnv(gym.Env):
    family = "toy"

    def __init__(self, n_actions: int = 5, dim: int = 3, world_seed: int = 0,
                 built_world: Any = None) -> None:
        settings = _settings(n_actions, dim, world_seed)
        if built_world is None:
            built_world = self.build_world(**settings)
        self.weights = check_built_world(built_world, ENV_ID, settings)  # (K, d)
        self.settings = settings
        self.observation_space = spaces.Box(-np.inf, np.inf, (int(dim),), np.float32)
        self.action_space = spaces.Discrete(int(n_actions))
        self._x: np.ndarray | None = None

    @classmethod
    def build_world(cls, n_actions: int = 5, dim: int = 3, world_seed: int = 0,
                    **_: Any) -> BuiltWorld:
        BUILDS[0] += 1
        rng = np.random.default_rng(world_seed)
        weights = 2.0 * rng.standard_normal((int(n_actions), int(dim)))
        return BuiltWorld(ENV_ID, _settings(n_actions, dim, world_seed), weights)

    def expected_reward_matrix(self, x: np.ndarray) -> np.ndarray:
        """(n, d) contexts -> (n, K) click probabilities."""
        return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64) @ self.weights.T))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._x = self.np_random.standard_normal(self.observation_space.shape).astype(np.float32)
        return self._x.copy(), {}

    def step(self, action: Any):
        p = float(self.expected_reward_matrix(self._x[None])[0, int(action)])
        reward = float(self.np_random.random() < p)
        return self._x.copy(), reward, True, False, {"expected_reward": p}

    def log_rounds(self, policy: Any, n_rounds: int, rng: np.random.Generator,
                   seed: int) -> LoggedDataset:
        x = rng.standard_normal((n_rounds, self.weights.shape[1])).astype(np.float32)
        probs = np.asarray(policy.probs(x), np.float64)
        u = rng.random((n_rounds, 1))
        action = np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), probs.shape[1] - 1)
        truth = self.expected_reward_matrix(x)[np.arange(n_rounds), action]
        reward = (rng.random(n_rounds) < truth).astype(np.float32)
        meta = DatasetMeta(ENV_ID, dict(self.settings), self.action_space.n, policy.name,
                           policy.settings(), seed, info={"family": self.family})
        return LoggedDataset(x, action.astype(np.int64), probs[np.arange(n_rounds), action],
                             reward, truth.astype(np.float32), meta)


class ToyBanditVectorEnv(VectorEnv):
    """``num_envs`` users at once; every step ends the episode and draws new users."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        self.env = ToyBanditEnv(**kwargs)
        self.num_envs = int(num_envs)
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rng = np.random.default_rng()

    def _users(self) -> np.ndarray:
        return self._rng.standard_normal((self.num_envs, self.env.weights.shape[1])).astype(
            np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._x = self._users()
        return self._x.copy(), {}

    def step(self, actions: Any):
        actions = np.asarray(actions, np.int64).reshape(self.num_envs)
        p = self.env.expected_reward_matrix(self._x)[np.arange(self.num_envs), actions]
        reward = (self._rng.random(self.num_envs) < p).astype(np.float64)
        self._x = self._users()
        done = np.ones(self.num_envs, bool)
        return self._x.copy(), reward, done, ~done, {"expected_reward": p}
