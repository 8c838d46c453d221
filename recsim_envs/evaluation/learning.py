"""The online phase: agents that keep learning after their offline fit.

The harness owns the environment; agents never see it. Two protocols
(:mod:`recsim_envs.evaluation.contract`):

- :class:`OnlineLearner`: per turn the harness asks ``explore(obs)``, steps the environment
  and hands the transition to ``observe(obs, action, reward, next_obs, terminated,
  truncated)``.
- :class:`EpisodeLearner` (stable-baselines3 adapters): ``learn_episodes(n, make_env)``
  plays ``n`` episodes in environments the harness builds and returns their returns and
  lengths.

Sessions (:func:`run_sessions`): ``n_epochs`` epochs of ``episodes_per_epoch`` training
episodes, each followed by a held-out evaluation through
:func:`recsim_envs.evaluation.evaluate` (epoch 0 evaluates before any online learning), so
the learning curve is measured on the same users as the final value. One-step families
(:func:`run_bandit`): ``n_steps`` batched steps of the native vector env. ``env_kwargs``
may hold ``built_world`` (the cell's world): every environment here is made over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.evaluation.contract import AgentHandle
from recsim_envs.evaluation.harness import harness_of_env, with_world
from recsim_envs.evaluation.online import evaluate


@dataclass
class LearningCurve:
    """Held-out value after each epoch of online learning.

    Attributes:
        episodes: (E + 1,) training episodes played before each evaluation.
        value: (E + 1,) mean held-out value after them.
        train_return, train_length: (E,) means of each epoch's training episodes.
    """

    episodes: np.ndarray
    value: np.ndarray
    length: np.ndarray
    train_return: np.ndarray
    train_length: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def points(self) -> list[dict[str, float]]:
        return [{"step": int(s), "value": float(v)}
                for s, v in zip(self.episodes, self.value, strict=True)]

    @property
    def eval_return(self) -> np.ndarray:
        return self.value

    @property
    def eval_length(self) -> np.ndarray:
        return self.length

    @property
    def eval_reward_per_step(self) -> np.ndarray:
        return self.value / np.maximum(self.length, 1e-12)

    @property
    def train_reward_per_step(self) -> np.ndarray:
        return self.train_return / np.maximum(self.train_length, 1e-12)

    def first_epoch(self) -> dict[str, float]:
        """The first online epoch: training episodes' return and length, and the held-out
        return after it."""
        return {"train_return": float(self.train_return[0]),
                "train_length": float(self.train_length[0]),
                "train_reward_per_step": float(self.train_reward_per_step[0]),
                "eval_return": float(self.value[1])}


def make_flat_env(env_id: str, **env_kwargs: Any) -> gym.Env:
    """An environment as agents see it (the family harness's ``agent_env``; sequential:
    flat ``Box`` observations, no text)."""
    return harness_of_env(env_id).agent_env(env_id, env_kwargs)


def run_sessions(agent: Any, env_id: str, env_kwargs: dict[str, Any], *, n_epochs: int,
                 episodes_per_epoch: int, seed: int, n_eval: int,
                 eval_seed: int) -> LearningCurve:
    """Online learning in sessions with a held-out evaluation after each epoch."""
    if n_epochs < 1 or episodes_per_epoch < 1:
        raise ValueError("n_epochs and episodes_per_epoch must be >= 1, got "
                         f"{n_epochs} and {episodes_per_epoch}")
    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    env = make_flat_env(env_id, **env_kwargs)

    def make_env() -> gym.Env:
        return make_flat_env(env_id, **env_kwargs)

    def held_out() -> tuple[float, float]:
        result = evaluate(handle, env_id, env_kwargs, n_eval, eval_seed)
        return result.value.mean, result.metrics["length"].mean

    if handle.episodic:
        handle.learn_episodes(0, make_env)  # builds the untrained learner for epoch 0
    values = [held_out()]
    train_ret, train_len = [], []
    seeded = False
    for _ in range(n_epochs):
        if handle.episodic:
            rets, lens = handle.learn_episodes(episodes_per_epoch, make_env)
        else:
            rets = np.zeros(episodes_per_epoch)
            lens = np.zeros(episodes_per_epoch)
            choose = handle.explore if handle.online else handle.act
            for ep in range(episodes_per_epoch):
                obs, _ = env.reset(seed=None if seeded else int(seed))
                seeded = True
                done = False
                while not done:
                    a = int(choose(obs))
                    nxt, r, term, trunc, _ = env.step(a)
                    if handle.online:
                        handle.observe(obs, a, r, nxt, term, trunc)
                    rets[ep] += r
                    lens[ep] += 1
                    obs, done = nxt, term or trunc
        train_ret.append(float(np.mean(rets)))
        train_len.append(float(np.mean(lens)))
        values.append(held_out())
    env.close()
    stats = getattr(handle.agent, "stats", None)  # optional: what the learner reports
    info = stats() if callable(stats) else {}
    return LearningCurve(
        episodes=np.arange(n_epochs + 1) * episodes_per_epoch,
        value=np.array([v for v, _ in values]), length=np.array([n for _, n in values]),
        train_return=np.array(train_ret), train_length=np.array(train_len), info=info,
    )


@dataclass
class OnlineConfig:
    """Settings of :func:`run_online` (the sequential online protocol on its own).

    Attributes:
        env_id, env_kwargs: the environment (``with_text`` is forced off).
        n_epochs, episodes_per_epoch: the online budget is their product.
        n_eval_users: held-out users evaluated after each epoch (0 = all of them).
        seed: seeds the training environment; ``eval_seed`` the choice of held-out users.
    """

    env_id: str = "recsim_envs/SequentialRec-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_epochs: int = 10
    episodes_per_epoch: int = 20
    n_eval_users: int = 0
    seed: int = 0
    eval_seed: int = 0

    def __post_init__(self) -> None:
        if self.n_epochs < 1 or self.episodes_per_epoch < 1:
            raise ValueError("n_epochs and episodes_per_epoch must be >= 1, got "
                             f"{self.n_epochs} and {self.episodes_per_epoch}")
        if self.n_eval_users < 0:
            raise ValueError(f"n_eval_users must be >= 0, got {self.n_eval_users}")


def run_online(agent: Any, config: OnlineConfig) -> LearningCurve:
    """:func:`run_sessions` with an :class:`OnlineConfig` (all held-out users by default),
    every environment over one world built here."""
    harness = harness_of_env(config.env_id)
    kwargs = with_world(config.env_kwargs,
                        harness.build_world(config.env_id, config.env_kwargs))
    n_eval = config.n_eval_users
    if not n_eval:
        env = gym.make(config.env_id, **{**kwargs, "with_text": False})
        n_eval = len(env.unwrapped.world.test_users)
        env.close()
    return run_sessions(agent, config.env_id, kwargs, n_epochs=config.n_epochs,
                        episodes_per_epoch=config.episodes_per_epoch, seed=config.seed,
                        n_eval=n_eval, eval_seed=config.eval_seed)


def run_bandit(agent: Any, env_id: str, env_kwargs: dict[str, Any], *, n_steps: int,
               batch_size: int, seed: int) -> None:
    """Online learning in a one-step family: ``n_steps`` batched steps of the native vector
    env; the agent sees observations, its actions and rewards only."""
    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    venv = gym.make_vec(env_id, num_envs=batch_size, vectorization_mode="vector_entry_point",
                        **env_kwargs)
    obs, _ = venv.reset(seed=int(seed))
    for _ in range(n_steps):
        action = np.asarray(handle.explore(obs))
        nxt, reward, term, trunc, _ = venv.step(action)
        handle.observe(obs, action, reward, nxt, term, trunc)
        obs = nxt
    venv.close()
