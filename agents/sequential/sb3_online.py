"""PPO and DQN from stable-baselines3 and MaskablePPO from sb3-contrib, trained online from
scratch (baselines for A-iALP). PPO and DQN learn from bare item ids (no item attribute, no
mask); MaskablePPO gets the environment's action mask of the documented quit rule.

They follow the agent protocol (``fit``, ``act`` on flat observations) and the online
harness's ``learn_episodes(n, make_env)`` hook: stable-baselines3 drives its own
environment loop, so the harness hands these baselines a factory for their own
environment instance (same id and settings, Dict observations with
``MultiInputPolicy``) and they learn for exactly ``n`` more episodes - the same budget of
online episodes the other agents get (see :mod:`recsim_envs.evaluation.learning`). ``fit`` reads
only the observation layout: nothing is learned from logged data.

Deployment: PPO's policy is stochastic and is deployed as such (``deterministic=False``,
items sampled from its action distribution with the agent's own generator); its argmax
collapses onto one item, the user sees a repeat and leaves (measured: 5.9 vs random 30.2
after 20,000 steps). DQN is deployed greedily (its policy is the argmax of Q).
Threads: learning runs under ``torch_threads(1)`` (PPO 5,000 steps: 234 s with torch's
default threads vs 34 s with one on the shared 2-core machine).

Seeding: stable-baselines3 seeds its own model with ``seed`` (it sets the global torch,
numpy and ``random`` seeds internally, which this project's own code never relies on);
deployment sampling uses ``np.random.default_rng(seed)`` created in ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.core.policies import sample_categorical
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView


@dataclass
class SB3Config:
    """Settings shared by :class:`PPOOnline` and :class:`DQNOnline`.

    Attributes:
        seed: stable-baselines3 seed (model and its environment).
        gamma, learning_rate: as in stable-baselines3.
        n_steps, batch_size, n_epochs, ent_coef: PPO rollout/optimisation settings
            (small rollouts, since the online budget is a few thousand steps).
        buffer_size, learning_starts, target_update_interval, exploration_steps,
        exploration_final_eps: DQN settings; epsilon decays linearly from 1 to
        ``exploration_final_eps`` over the first ``exploration_steps`` environment steps.
        net_arch: hidden layer sizes.
        deterministic: deploy the argmax (True) or sample from the policy (False); None
            means False for PPO (a stochastic policy) and True for DQN (greedy in Q).
    """

    seed: int = 0
    gamma: float = 0.9
    learning_rate: float = 3e-4
    n_steps: int = 256
    batch_size: int = 64
    n_epochs: int = 4
    ent_coef: float = 0.01
    buffer_size: int = 20_000
    learning_starts: int = 200
    target_update_interval: int = 250
    exploration_steps: int = 1500
    exploration_final_eps: float = 0.05
    net_arch: tuple[int, ...] = (64, 64)
    deterministic: bool | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        for name in ("n_steps", "batch_size", "n_epochs", "buffer_size", "exploration_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.exploration_final_eps <= 1:
            raise ValueError("exploration_final_eps must be in [0, 1]")
        self.net_arch = tuple(int(h) for h in self.net_arch)


class _SB3Online(BaseAgent):
    algo: ClassVar[str] = ""
    Config: ClassVar[type] = SB3Config

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> _SB3Online:
        """Read the observation layout only (these baselines learn online from scratch)."""
        self.layout = SessionView.of(dataset).obs_layout
        self.model = None
        self._rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    @property
    def deterministic(self) -> bool:
        d = self.config.deterministic
        return self.algo == "dqn" if d is None else bool(d)

    def _build(self, make_env: Callable[[], gym.Env]) -> None:
        from stable_baselines3.common.monitor import Monitor

        env = Monitor(_DictView(make_env()))
        c = self.config
        kwargs = dict(policy="MultiInputPolicy", env=env, gamma=c.gamma,
                      learning_rate=c.learning_rate, seed=c.seed, device="cpu", verbose=0,
                      policy_kwargs={"net_arch": list(c.net_arch)})
        if self.algo == "maskable_ppo":
            from sb3_contrib import MaskablePPO

            self.model = MaskablePPO(n_steps=c.n_steps, batch_size=c.batch_size,
                                     n_epochs=c.n_epochs, ent_coef=c.ent_coef, **kwargs)
        elif self.algo == "ppo":
            from stable_baselines3 import PPO

            self.model = PPO(n_steps=c.n_steps, batch_size=c.batch_size, n_epochs=c.n_epochs,
                             ent_coef=c.ent_coef, **kwargs)
        else:
            from stable_baselines3 import DQN

            self.model = DQN(buffer_size=c.buffer_size, learning_starts=c.learning_starts,
                             batch_size=c.batch_size, train_freq=1,
                             target_update_interval=c.target_update_interval, **kwargs)
            model = self.model
            # Epsilon by environment steps played, not by the (open-ended) learn() horizon.
            model.exploration_schedule = lambda _progress: max(
                c.exploration_final_eps,
                1.0 - (1.0 - c.exploration_final_eps) * model.num_timesteps / c.exploration_steps)

    def learn_episodes(self, n: int, make_env: Callable[[], gym.Env]):
        """Train for exactly ``n`` more episodes; returns (returns, lengths), each (n,).

        The first call builds the model (``n = 0`` only builds it).
        """
        from stable_baselines3.common.callbacks import BaseCallback

        self._require_fitted()
        if self.model is None:
            self._build(make_env)
        if n == 0:
            return np.zeros(0), np.zeros(0, np.int64)

        class Budget(BaseCallback):
            def __init__(self) -> None:
                super().__init__()
                self.returns: list[float] = []
                self.lengths: list[int] = []

            def _on_step(self) -> bool:
                for info in self.locals["infos"]:
                    if "episode" in info:
                        self.returns.append(float(info["episode"]["r"]))
                        self.lengths.append(int(info["episode"]["l"]))
                return len(self.returns) < n

        cb = Budget()
        with torch_threads(1):
            self.model.learn(total_timesteps=10**9, callback=cb, reset_num_timesteps=False)
        return np.array(cb.returns[:n]), np.array(cb.lengths[:n])

    def _dict_obs(self, obs: np.ndarray) -> tuple[dict[str, np.ndarray], bool]:
        self._require_fitted()
        if self.model is None:
            raise AgentError(f"{self.name} learns online only: run it through "
                             "recsim_envs.evaluation.learning.run_online first")
        x, single = as_batch(obs, self.layout.dim)
        users, feats, items, fb = self.layout.split(x)
        return {"user_id": users, "user_features": feats, "recent_items": items,
                "recent_feedback": fb}, single

    def policy_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) the learned policy's action distribution (PPO)."""
        import torch

        d, _ = self._dict_obs(obs)
        with torch_threads(1), torch.no_grad():
            t, _ = self.model.policy.obs_to_tensor(d)
            if self.algo == "maskable_ppo":
                dist = self.model.policy.get_distribution(t, action_masks=self._masks(obs))
            else:
                dist = self.model.policy.get_distribution(t)
            return dist.distribution.probs.double().numpy()

    def _masks(self, obs: np.ndarray) -> np.ndarray:
        return np.ones((len(np.atleast_2d(obs)), self.layout.n_items), bool)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        d, single = self._dict_obs(obs)
        if self.algo == "maskable_ppo" and self.deterministic:
            a = self.policy_probs(obs).argmax(axis=1)
        elif self.deterministic:
            with torch_threads(1):
                a, _ = self.model.predict(d, deterministic=True)
            a = np.asarray(a, np.int64).reshape(-1)
        else:
            a = sample_categorical(self.policy_probs(obs), 1, self._rng)[:, 0]
        return int(a[0]) if single else a


class PPOOnline(_SB3Online):
    """PPO (stable-baselines3) from scratch, online (registered as ``ppo``)."""

    name: ClassVar[str] = "ppo"
    algo: ClassVar[str] = "ppo"

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items): the deployed distribution (one-hot of the argmax when
        ``deterministic``), for off-policy estimates."""
        p = self.policy_probs(obs)
        if self.deterministic:
            p = np.eye(p.shape[1])[p.argmax(1)]
        return p


class DQNOnline(_SB3Online):
    """DQN (stable-baselines3) from scratch, online (registered as ``dqn``)."""

    name: ClassVar[str] = "dqn"
    algo: ClassVar[str] = "dqn"


class MaskablePPOOnline(_SB3Online):
    """sb3-contrib's MaskablePPO from scratch, online, with the environment's action mask
    (registered as ``maskable_ppo``).

    Same observation and hyper-parameters as :class:`PPOOnline` (:class:`SB3Config`: gamma
    0.9, learning rate 3e-4, 256-step rollouts, batch 64, 4 epochs, entropy 0.01, 64 x 64
    MLPs on the Dict observation of bare ids); in training the policy's logits are masked
    with ``env.unwrapped.action_masks()`` (the items the documented quit rule lets
    through, Huang and Ontanon, "A Closer Look at Invalid Action Masking", FLAIRS 2022).
    Deployed stochastically under the same mask, computed from the flat observation by
    the stated quit rule of the logged environment (identical to the env's mask under
    ``quit_rule="category"``; under ``"distance"`` only repeats are public, so the deployed
    mask is looser than the training one).
    """

    name: ClassVar[str] = "maskable_ppo"
    algo: ClassVar[str] = "maskable_ppo"

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> MaskablePPOOnline:
        from agents.sequential.reference import StatedQuitRule

        super().fit(dataset, deployment)
        self.rule = StatedQuitRule.from_dataset(dataset)
        return self

    def _masks(self, obs: np.ndarray) -> np.ndarray:
        x, _ = as_batch(obs, self.layout.dim)
        safe = ~self.rule.quits(x)
        safe[~safe.any(axis=1)] = True
        return safe

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items): the deployed (masked) distribution."""
        return self.policy_probs(obs)


class _DictView(gym.ObservationWrapper):
    """Undo the harness's flat wrapper: SB3 learns on the environment's Dict observations
    (the four default keys), and sees the environment's action mask."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        full = env.unwrapped.observation_space
        self.observation_space = gym.spaces.Dict(
            {k: full[k] for k in ("user_id", "user_features", "recent_items",
                                  "recent_feedback")})
        self._layout: ObsLayout = env.unwrapped.layout

    def action_masks(self) -> np.ndarray:
        """The environment's mask (what sb3-contrib's ``get_action_masks`` reads)."""
        return self.env.unwrapped.action_masks()

    def observation(self, observation: np.ndarray) -> dict[str, Any]:
        users, feats, items, fb = self._layout.split(np.asarray(observation)[None])
        return {"user_id": int(users[0]), "user_features": feats[0].astype(np.float32),
                "recent_items": items[0], "recent_feedback": fb[0].astype(np.float32)}
