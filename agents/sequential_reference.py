"""Reference policies of the sequential family: uniform random items and a skyline.

:class:`SeqRandom` is the floor every sequential agent must beat; :class:`SeqOracle` reads
the true ratings (privileged, ``offline = False``) and is never given off-policy rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.data import LoggedDataset
from recsim_envs.envs.sequential import ObsLayout
from recsim_envs.policies import sample_categorical

# ---------------------------------------------------------------------- reference policies


@dataclass
class SeqRandomConfig:
    """Settings of :class:`SeqRandom`: ``seed`` of its generator."""

    seed: int = 0


class SeqRandom(BaseAgent):
    """Uniformly random items (registered as ``seq_random``)."""

    name: ClassVar[str] = "seq_random"
    Config: ClassVar[type] = SeqRandomConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqRandom:
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

    Reads the live environment through :meth:`bind_env` and, each turn,
    shows the unseen item with the highest true rating among those that do not make the
    user quit (one-step lookahead on the known quit rule; if every item would end the
    session, the best-rated one). Not optimal over the whole session, but a strong bound.
    """

    name: ClassVar[str] = "seq_oracle"
    Config: ClassVar[type] = SeqOracleConfig
    offline: ClassVar[bool] = False

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqOracle:
        dataset.require("obs_layout")
        self.layout = ObsLayout.from_array(dataset.system["obs_layout"])
        self._dyn = None
        self.fitted = True
        return self

    def bind_env(self, env: Any) -> None:
        """Privileged hook: the evaluation's (vector) environment, whose dynamics hold the
        true ratings and the quit rule."""
        self._dyn = env._dyn
        self.layout = env.layout
        self.fitted = True

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        if self._dyn is None:
            raise AgentError("seq_oracle reads the environment: call bind_env(env) first "
                             "(recsim_envs.evaluation.evaluate does this for skylines)")
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


@dataclass
class SeqLoggingConfig:
    """Settings of :class:`SeqLogging`: ``seed`` of its generator."""

    seed: int = 0


class SeqLogging(BaseAgent):
    """The behaviour policy itself, replayed (registered as ``seq_logging``).

    Takes the policy from the deployment (``fit(dataset, deployment)``) and samples from it;
    the on-policy check of every off-policy estimator: its estimate from its own held-out
    sessions must match its online value. The policy object is code, not tensors, so this
    agent is rebuilt rather than saved.
    """

    name: ClassVar[str] = "seq_logging"
    Config: ClassVar[type] = SeqLoggingConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqLogging:
        self.policy = getattr(deployment, "behaviour", None)
        if self.policy is None:
            raise AgentError("seq_logging replays the behaviour policy: fit(dataset, "
                             "deployment) with deployment.behaviour set")
        dataset.require("obs_layout")
        self.layout = ObsLayout.from_array(dataset.system["obs_layout"])
        self._rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        return np.asarray(self.policy.probs(x), dtype=np.float64)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        x, single = as_batch(obs, self.layout.dim)
        probs = self.action_probs(x)
        a = sample_categorical(probs, 1, self._rng)[:, 0]
        return int(a[0]) if single else a

    def state_dict(self) -> dict[str, Any]:
        raise AgentError("seq_logging wraps a behaviour policy object and cannot be saved; "
                         "fit it again with the deployment")
