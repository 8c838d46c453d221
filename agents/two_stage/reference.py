"""Reference policies for two-stage environments: random, popular, logging and the oracle.

They bracket the learned generators of :mod:`agents.two_stage.base`: ``random`` and ``logging``
(the behaviour policy itself) are the floors every learned agent must beat, ``popular``
is the classic non-personalised baseline, and ``oracle`` is the skyline. The oracle is
NOT an offline agent (``offline = False``): it reads the true click probabilities through
the privileged hook :meth:`Oracle.bind_env`, which :func:`recsim_envs.evaluation.evaluate`
calls for agents with ``offline = False`` only.

All of them learn their shapes (catalogue size, k, observation width) from ``fit(dataset)``
so that they follow the same protocol as the learned agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from agents.base import AgentError, BaseAgent, as_batch
from agents.two_stage.data import TwoStageShapes, two_stage_view
from recsim_envs.core.policies import BehaviourPolicy, sample_categorical
from recsim_envs.data import LoggedDataset


@dataclass
class ReferenceConfig:
    """Settings of the reference policies.

    Attributes:
        seed: seeds the agent's own random generator (random and logging policies draw
            from a stateful generator created at ``fit``/``load``; the generator's state is
            part of the checkpoint, so a saved and reloaded agent continues identically).
    """

    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"seed must be an int, got {self.seed!r}")


class _ReferenceAgent(BaseAgent):
    Config: ClassVar[type] = ReferenceConfig
    config: ReferenceConfig

    def __init__(self, config: ReferenceConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.shapes: TwoStageShapes | None = None

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> _ReferenceAgent:
        """Read the system's shapes (and, for some, statistics) from the logs; returns self."""
        self.shapes = TwoStageShapes.of(two_stage_view(dataset))
        self._deployment = deployment
        self._fit(dataset)
        self.fitted = True
        return self

    def _fit(self, dataset: LoggedDataset) -> None:
        pass

    def _batch(self, obs: np.ndarray) -> tuple[np.ndarray, bool]:
        self._require_fitted()
        return as_batch(obs, self.shapes.obs_dim)

    def state_dict(self) -> dict[str, Any]:
        return {} if self.shapes is None else {"shapes": dict(self.shapes._asdict())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.shapes = TwoStageShapes(**{k: int(v) for k, v in state["shapes"].items()})


class RandomPolicy(_ReferenceAgent):
    """k distinct items uniformly at random per user (torch generator seeded from ``seed``)."""

    name: ClassVar[str] = "random"
    with_replacement: ClassVar[bool] = False

    def _fit(self, dataset: LoggedDataset) -> None:
        self._generator = torch.Generator().manual_seed(int(self.config.seed))

    def act(self, obs: np.ndarray) -> np.ndarray:
        x, single = self._batch(obs)
        n, k, n_items = len(x), self.shapes.n_candidates, self.shapes.n_items
        # k distinct items = the k smallest of n_items uniform keys; rows in chunks so the
        # key matrix stays under ~4M floats for large catalogues.
        chunk = max(1, 4_000_000 // n_items)
        parts = [
            torch.rand(min(chunk, n - s), n_items, generator=self._generator)
            .topk(k, largest=False)
            .indices
            for s in range(0, n, chunk)
        ]
        out = torch.cat(parts).numpy().astype(np.int64)
        return out[0] if single else out

    def candidate_probs(self, obs: np.ndarray) -> np.ndarray:
        """Uniform over the catalogue, (n, n_items); ``act`` draws k distinct items."""
        x, _ = self._batch(obs)
        return np.full((len(x), self.shapes.n_items), 1.0 / self.shapes.n_items)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state:
            state["generator"] = self._generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state:
            self._generator = torch.Generator()
            self._generator.set_state(state["generator"])


class PopularPolicy(_ReferenceAgent):
    """The k items with the most logged clicks, the same for every user (ties: more often
    shown, then lower id). Not personalised; deterministic."""

    name: ClassVar[str] = "popular"

    def _fit(self, dataset: LoggedDataset) -> None:
        n_items = self.shapes.n_items
        clicks = np.bincount(dataset.action, weights=dataset.reward, minlength=n_items)
        shown = np.bincount(dataset.action, minlength=n_items)
        order = np.lexsort((np.arange(n_items), -shown, -clicks))
        # The whole catalogue in order: evaluation may ask for more than k (the paper's
        # protocol drops logged positives from the top-k + excluded).
        self.ranking = order.astype(np.int64)

    def rank_items(self, obs: np.ndarray, k: int) -> np.ndarray:
        x, single = self._batch(obs)
        if k > len(self.ranking):
            raise AgentError(f"popular keeps the top {len(self.ranking)} items; asked for {k}")
        out = np.broadcast_to(self.ranking[:k], (len(x), k)).copy()
        return out[0] if single else out

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.rank_items(obs, self.shapes.n_candidates if self.shapes else 0)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state:
            state["ranking"] = self.ranking
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state:
            self.ranking = np.asarray(state["ranking"], dtype=np.int64)


class LoggingPolicy(_ReferenceAgent):
    """The behaviour policy itself: k i.i.d. draws from ``policy.probs(obs)``, as the
    environment's ``log_rounds`` drew the logged candidate sets.

    The behaviour policy comes with the deployment (``fit(dataset, deployment)``, as the
    harness calls it) or is given directly: ``agents.make("logging", policy=behaviour)``.
    Draws come from a numpy generator seeded from ``seed`` at ``fit``. The policy object is
    code, not tensors, so this agent cannot be checkpointed (``save`` raises).
    """

    name: ClassVar[str] = "logging"
    with_replacement: ClassVar[bool] = True

    def __init__(
        self,
        config: ReferenceConfig | None = None,
        policy: BehaviourPolicy | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, **overrides)
        self.policy = policy

    def _fit(self, dataset: LoggedDataset) -> None:
        deployed = getattr(self._deployment, "behaviour", None)
        self.policy = deployed if deployed is not None else self.policy
        if self.policy is None or not hasattr(self.policy, "probs"):
            raise AgentError(
                "the logging reference needs the behaviour policy: fit(dataset, deployment) "
                "with deployment.behaviour, or agents.make('logging', policy=behaviour_policy)"
            )
        if self.policy.n_actions != self.shapes.n_items:
            raise AgentError(
                f"the behaviour policy covers {self.policy.n_actions} items; the data's "
                f"catalogue has {self.shapes.n_items}"
            )
        self._rng = np.random.default_rng(int(self.config.seed))

    def candidate_probs(self, obs: np.ndarray) -> np.ndarray:
        """The behaviour policy's per-draw probabilities, (n, n_items); ``act`` draws k
        i.i.d. candidates from them."""
        x, _ = self._batch(obs)
        return np.asarray(self.policy.probs(x), dtype=np.float64)

    def act(self, obs: np.ndarray) -> np.ndarray:
        x, single = self._batch(obs)
        k = self.shapes.n_candidates
        unique, inverse = np.unique(x, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        if len(unique) == len(x):
            draws = sample_categorical(self.candidate_probs(x), k, self._rng)
        else:
            # Repeated contexts (e.g. the harness's sampling check repeats one user 10^5
            # times): one probability row per distinct context, then inverse-CDF search in
            # the concatenated normalised CDFs, row r's CDF shifted to [r, r + 1).
            probs = self.candidate_probs(unique)
            cdf = np.cumsum(probs, axis=1)
            cdf = cdf / cdf[:, -1:] + np.arange(len(unique))[:, None]
            q = inverse[:, None] + self._rng.random((len(x), k))
            idx = np.searchsorted(cdf.ravel(), q, side="right") - inverse[:, None] * probs.shape[1]
            draws = np.clip(idx, 0, probs.shape[1] - 1).astype(np.int64)
        return draws[0] if single else draws

    def state_dict(self) -> dict[str, Any]:
        raise AgentError(
            "the logging reference wraps a behaviour policy object and cannot be saved; "
            "rebuild it with agents.make('logging', policy=...)"
        )


class Oracle(_ReferenceAgent):
    """Skyline with the true response model - NOT an offline agent (``offline = False``).

    Reads the current users' true click probabilities through :meth:`bind_env` (called by
    :func:`recsim_envs.evaluation.evaluate`). Nominates the ``slate_size`` best items and
    fills the rest of the k slots by repeating the best one: with set semantics the ranker
    can then only show the truly best items, whatever it prefers. ``rank_items`` gives the
    true top-k (the one-stage skyline).
    """

    name: ClassVar[str] = "oracle"
    offline: ClassVar[bool] = False

    def __init__(self, config: ReferenceConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._env: Any = None

    def bind_env(self, env: Any) -> None:
        """Privileged hook: ``env`` exposes ``expected_reward_all()`` -> (n_envs, n_items)
        for the users whose observations ``act`` receives next, and ``n_candidates``."""
        if not hasattr(env, "expected_reward_all"):
            raise AgentError(
                f"{type(env).__name__} has no expected_reward_all(); the oracle cannot use it"
            )
        self._env = env
        self.shapes = TwoStageShapes(
            int(env.n_items),
            int(env.user_dim),
            int(env.world.item_features.shape[1]),
            int(env.n_candidates),
        )
        self._slate = int(getattr(env, "slate_size", 1))
        self.fitted = True

    def _truth(self, obs: np.ndarray) -> tuple[np.ndarray, bool]:
        if self._env is None:
            raise AgentError(
                "the oracle uses privileged information: call bind_env(env) first "
                "(recsim_envs.evaluation.evaluate does this for offline=False agents)"
            )
        x, single = self._batch(obs)
        truth = np.atleast_2d(np.asarray(self._env.expected_reward_all()))
        if truth.shape[0] != len(x):
            raise AgentError(
                f"the bound environment holds {truth.shape[0]} users but act got {len(x)} "
                "observations"
            )
        return truth, single

    def rank_items(self, obs: np.ndarray, k: int) -> np.ndarray:
        truth, single = self._truth(obs)
        top = np.argsort(-truth, axis=1, kind="stable")[:, :k].astype(np.int64)
        return top[0] if single else top

    def act(self, obs: np.ndarray) -> np.ndarray:
        truth, single = self._truth(obs)
        s, k = self._slate, self.shapes.n_candidates
        top = np.argsort(-truth, axis=1, kind="stable")[:, :s].astype(np.int64)
        out = np.concatenate([top, np.repeat(top[:, :1], k - s, axis=1)], axis=1)
        return out[0] if single else out

    def state_dict(self) -> dict[str, Any]:
        return {}
