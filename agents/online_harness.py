"""The online protocol of the sequential family, and its reference policies.

The harness owns the environment; agents never see it. Each epoch it runs
``episodes_per_epoch`` training episodes and then evaluates on fixed held-out users
without learning:

- Training episodes: per turn the harness asks the agent for an action -
  ``agent.explore(obs)`` if the agent has it (its exploring behaviour policy), else
  ``agent.act(obs)`` - steps the environment and, for online agents, hands over the
  transition with ``agent.observe(obs, action, reward, next_obs, terminated, truncated)``.
  Agents that train inside their own environment instance (the stable-baselines3
  baselines, :mod:`agents.sb3_online`) implement ``learn_episodes(n, make_env)``
  instead: the harness gives them a factory for a fresh environment with the same id and
  settings, and they report the returns and lengths of the ``n`` episodes they played.
- Evaluation: every held-out user (``world.test_users``, the same users every epoch) gets
  one session with ``agent.act`` (deployment behaviour); sessions run in lockstep so the
  agent acts on batches. Nothing is learned.

Metrics per evaluation: cumulative reward per episode, episode length and reward per step
(means over held-out users); per training epoch the same for the training episodes.
Epoch 0 evaluates before any online learning. ``OnlineResult.first_epoch`` reports the
first epoch separately (where pre-training should help most).

Reference policies here: :class:`SeqRandom` (uniform items) and :class:`SeqOracle`
(a privileged skyline that reads the true ratings).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agents.base import BaseAgent, as_batch
from recsim_envs.data import LoggedDataset
from recsim_envs.envs.sequential import ENV_ID, ObsLayout, SequentialFlatObservation


@dataclass
class OnlineConfig:
    """Settings of :func:`run_online`.

    Attributes:
        env_id, env_kwargs: the environment (``with_text`` is forced off: agents get
            observations only).
        n_epochs: evaluation epochs; the online budget is ``n_epochs * episodes_per_epoch``
            training episodes.
        episodes_per_epoch: training episodes between evaluations.
        n_eval_users: held-out users evaluated (0 = all of them).
        seed: seeds the training environment (its user draws).
    """

    env_id: str = ENV_ID
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_epochs: int = 10
    episodes_per_epoch: int = 20
    n_eval_users: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_epochs < 1 or self.episodes_per_epoch < 1:
            raise ValueError("n_epochs and episodes_per_epoch must be >= 1, got "
                             f"{self.n_epochs} and {self.episodes_per_epoch}")
        if self.n_eval_users < 0:
            raise ValueError(f"n_eval_users must be >= 0, got {self.n_eval_users}")


@dataclass
class OnlineResult:
    """Learning curves of one agent on one seed.

    Attributes:
        agent: agent name.
        episodes: (E + 1,) training episodes played before each evaluation.
        eval_return, eval_length, eval_reward_per_step: (E + 1,) held-out means.
        train_return, train_length, train_reward_per_step: (E,) training-episode means.
        info: anything the agent reports (e.g. language-model fallbacks).
    """

    agent: str
    episodes: np.ndarray
    eval_return: np.ndarray
    eval_length: np.ndarray
    eval_reward_per_step: np.ndarray
    train_return: np.ndarray
    train_length: np.ndarray
    train_reward_per_step: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def first_epoch(self) -> dict[str, float]:
        """The first online epoch: training episodes' return, length and reward per step,
        and the held-out return after it."""
        return {"train_return": float(self.train_return[0]),
                "train_length": float(self.train_length[0]),
                "train_reward_per_step": float(self.train_reward_per_step[0]),
                "eval_return": float(self.eval_return[1])}


def make_flat_env(env_id: str = ENV_ID, **env_kwargs: Any) -> gym.Env:
    """The environment as agents see it: flat ``Box`` observations, no text."""
    env_kwargs = {**env_kwargs, "with_text": False}
    return SequentialFlatObservation(gym.make(env_id, **env_kwargs))


def evaluate(agent: Any, env: gym.Env, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One session per user with ``agent.act``, no learning; (returns, lengths), each (n,)."""
    envs = [copy.deepcopy(env) for _ in users]
    obs = np.stack([e.reset(options={"user_id": int(u)})[0]
                    for e, u in zip(envs, users, strict=True)])
    returns = np.zeros(len(users))
    lengths = np.zeros(len(users), np.int64)
    active = np.ones(len(users), bool)
    while active.any():
        idx = np.flatnonzero(active)
        actions = np.asarray(agent.act(obs[idx])).reshape(-1)
        for j, i in enumerate(idx):  # environments step one by one; the agent acted in batch
            o, r, term, trunc, _ = envs[i].step(int(actions[j]))
            obs[i] = o
            returns[i] += r
            lengths[i] += 1
            active[i] = not (term or trunc)
    return returns, lengths


def run_online(agent: Any, config: OnlineConfig) -> OnlineResult:
    """Run the online protocol (module docstring) for an already fitted ``agent``."""
    env = make_flat_env(config.env_id, **config.env_kwargs)
    users = env.unwrapped.world.test_users
    if config.n_eval_users:
        users = users[:config.n_eval_users]

    def make_env() -> gym.Env:
        return make_flat_env(config.env_id, **config.env_kwargs)

    if hasattr(agent, "learn_episodes"):
        agent.learn_episodes(0, make_env)  # builds the untrained learner for epoch 0
    ev = [evaluate(agent, env, users)]
    tr: list[tuple[np.ndarray, np.ndarray]] = []
    seeded = False
    for _ in range(config.n_epochs):
        if hasattr(agent, "learn_episodes"):
            rets, lens = agent.learn_episodes(config.episodes_per_epoch, make_env)
        else:
            rets = np.zeros(config.episodes_per_epoch)
            lens = np.zeros(config.episodes_per_epoch, np.int64)
            choose = getattr(agent, "explore", agent.act)
            learns = hasattr(agent, "observe")
            for ep in range(config.episodes_per_epoch):
                obs, _ = env.reset(seed=None if seeded else config.seed)
                seeded = True
                done = False
                while not done:
                    a = int(choose(obs))
                    nxt, r, term, trunc, _ = env.step(a)
                    if learns:
                        agent.observe(obs, a, r, nxt, term, trunc)
                    rets[ep] += r
                    lens[ep] += 1
                    obs, done = nxt, term or trunc
        tr.append((np.asarray(rets, float), np.asarray(lens, float)))
        ev.append(evaluate(agent, env, users))
    er = np.array([r.mean() for r, _ in ev])
    el = np.array([ln.mean() for _, ln in ev])
    trr = np.array([r.mean() for r, _ in tr])
    trl = np.array([ln.mean() for _, ln in tr])
    info = agent.stats() if hasattr(agent, "stats") else {}
    if hasattr(agent, "choice_counts"):
        info["choice_counts_pre_online"] = agent.choice_counts.tolist()
    return OnlineResult(
        agent=getattr(agent, "name", type(agent).__name__),
        episodes=np.arange(config.n_epochs + 1) * config.episodes_per_epoch,
        eval_return=er, eval_length=el,
        eval_reward_per_step=np.array([r.sum() / ln.sum() for r, ln in ev]),
        train_return=trr, train_length=trl,
        train_reward_per_step=np.array([r.sum() / ln.sum() for r, ln in tr]),
        info=info,
    )


# ---------------------------------------------------------------------- reference policies


@dataclass
class SeqRandomConfig:
    """Settings of :class:`SeqRandom`: ``seed`` of its generator."""

    seed: int = 0


class SeqRandom(BaseAgent):
    """Uniformly random items (registered as ``seq_random``)."""

    name: ClassVar[str] = "seq_random"
    Config: ClassVar[type] = SeqRandomConfig

    def fit(self, dataset: LoggedDataset, llm: Any = None) -> SeqRandom:
        dataset.require("obs_layout")
        self.layout = ObsLayout.from_array(dataset.system["obs_layout"])
        self._rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        return np.full((len(x), self.layout.n_items), 1.0 / self.layout.n_items)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = self._rng.integers(self.layout.n_items, size=len(x))
        return int(a[0]) if single else a


@dataclass
class SeqOracleConfig:
    """Settings of :class:`SeqOracle` (none besides a seed for the protocol)."""

    seed: int = 0


class SeqOracle(BaseAgent):
    """Skyline with privileged information (registered as ``seq_oracle``; ``offline=False``).

    Rebuilds the environment's world from the dataset's ``env_kwargs`` and, each turn,
    shows the unseen item with the highest true rating among those that do not make the
    user quit (one-step lookahead on the known quit rule; if every item would end the
    session, the best-rated one). Not optimal over the whole session, but a strong bound.
    """

    name: ClassVar[str] = "seq_oracle"
    Config: ClassVar[type] = SeqOracleConfig
    offline: ClassVar[bool] = False

    def fit(self, dataset: LoggedDataset, llm: Any = None) -> SeqOracle:
        from recsim_envs.envs.sequential import SequentialRecEnv

        env = SequentialRecEnv(**{**dataset.meta.env_kwargs, "with_text": False})
        self._dyn = env._dyn
        self.layout = env.layout
        self.fitted = True
        return self

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        users, _, items, _ = self.layout.split(x)
        dyn, n, n_items = self._dyn, len(x), self.layout.n_items
        hist = np.concatenate([np.full((n, max(dyn.L - items.shape[1], 0)), n_items, np.int64),
                               items[:, -dyn.L:]], axis=1)
        cand = np.broadcast_to(np.arange(n_items), (n, n_items))
        quits = dyn.would_quit(np.repeat(hist, n_items, axis=0), cand.ravel()).reshape(n, -1)
        score = dyn.world.ratings[users].astype(np.float64) - 100.0 * quits
        a = score.argmax(1)
        return int(a[0]) if single else a
