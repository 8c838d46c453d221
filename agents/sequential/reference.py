"""Reference policies of the sequential family: random items, a hand rule and a skyline.

:class:`SeqRandom` is the floor every sequential agent must beat; :class:`NoRepeatPopular`
is a hand rule from public information (popularity and the documented quit rule, read by
:class:`StatedQuitRule`); :class:`SeqOracle` reads the true ratings (privileged,
``offline = False``) and is never given off-policy rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView

# ---------------------------------------------------------------------- the stated quit rule

ENV_DEFAULT_QUIT = {"quit_rule": "category", "quit_window": 5, "max_same_category": 2}
"""The quit-rule settings of ``SequentialRec-v0`` when its kwargs do not name them."""


@dataclass(frozen=True)
class StatedQuitRule:
    """The environment's documented quit rule, evaluated on public observations only.

    The user leaves when the new item repeats one of the previous ``window - 1`` items or
    its category then occurs more than ``max_same`` times in the window (the Kuai-style
    ``quit_rule="category"`` of ``SequentialRec-v0``; see ``docs/sequential.md``). Under
    ``quit_rule="distance"`` the rating distances are not public, so only repeats are
    predicted (``category=False``). The observation shows ``history_len`` items: with
    ``window - 1 > history_len`` the older part of the window is not visible and the rule
    under-predicts.
    """

    layout: ObsLayout
    item_category: np.ndarray
    window: int = 5
    max_same: int = 2
    category: bool = True

    @classmethod
    def from_dataset(cls, dataset: LoggedDataset, window: int | None = None,
                     max_same: int | None = None) -> StatedQuitRule:
        """The rule with the logged environment's public settings (``meta.env_kwargs``,
        else the environment's defaults); ``window`` / ``max_same`` override them."""
        view = SessionView.of(dataset)
        kw = {**ENV_DEFAULT_QUIT, **dict(getattr(dataset.meta, "env_kwargs", {}) or {})}
        return cls(view.obs_layout, np.asarray(view.item_category, np.int64),
                   int(window if window is not None else kw["quit_window"]),
                   int(max_same if max_same is not None else kw["max_same_category"]),
                   kw["quit_rule"] == "category")

    def quits(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) flat observations -> (n, n_items) bool: would showing item j end it?"""
        _, _, items, _ = self.layout.split(np.asarray(obs))
        n, n_items = len(items), self.layout.n_items
        m = min(max(self.window - 1, 0), items.shape[1])
        prev = items[:, items.shape[1] - m:].astype(np.int64)  # (n, m), padding = n_items
        seen = np.zeros((n, n_items + 1), bool)
        np.put_along_axis(seen, prev, True, axis=1)
        out = seen[:, :n_items]
        if self.category:
            n_cat = int(self.item_category.max()) + 1
            cat = np.append(self.item_category, n_cat)[prev]  # padding -> spare column
            counts = (cat[:, :, None] == np.arange(n_cat + 1)).sum(1)[:, :n_cat]
            out = out | (counts[:, self.item_category] + 1 > self.max_same)
        return out


# ---------------------------------------------------------------------- reference policies


@dataclass
class ReferenceConfig:
    """Settings of :class:`SeqRandom`, :class:`SeqOracle` and :class:`SeqLogging`: the
    ``seed`` of the agent's generator (the oracle draws nothing; kept for the protocol)."""

    seed: int = 0


class SeqRandom(BaseAgent):
    """Uniformly random items (registered as ``seq_random``)."""

    name: ClassVar[str] = "seq_random"
    Config: ClassVar[type] = ReferenceConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqRandom:
        self.layout = SessionView.of(dataset).obs_layout
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
class NoRepeatPopularConfig:
    """Settings of :class:`NoRepeatPopular`.

    Attributes:
        seed: unused (the rule is deterministic); kept for the protocol.
        quit_window, max_same_category: the quit rule's window and category cap; None
            reads them from the logged environment's settings (``dataset.meta.env_kwargs``,
            else the environment defaults 5 and 2).
    """

    seed: int = 0
    quit_window: int | None = None
    max_same_category: int | None = None

    def __post_init__(self) -> None:
        check_quit_rule_settings(self)


def check_quit_rule_settings(config: Any) -> None:
    """A config's ``quit_window`` and ``max_same_category``: None (read from the logs) or
    >= 1; shared by every agent that reads the stated quit rule."""
    for name in ("quit_window", "max_same_category"):
        v = getattr(config, name)
        if v is not None and v < 1:
            raise ValueError(f"{name} must be >= 1 or None, got {v}")


class NoRepeatPopular(BaseAgent):
    """Hand rule (registered as ``no_repeat_popular``): the most popular safe item.

    Each turn shows the item of highest public popularity that is not in the recent window
    and whose category is not already crowded there (:class:`StatedQuitRule` with the
    environment's quit settings); if every item would end the session, the most popular.
    Uses public information only (the catalogue's popularity and the documented rule), no
    ratings and nothing learned. It is the baseline that shows how much of a session's
    return is only its length.
    """

    name: ClassVar[str] = "no_repeat_popular"
    Config: ClassVar[type] = NoRepeatPopularConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> NoRepeatPopular:
        c = self.config
        self.rule = StatedQuitRule.from_dataset(dataset, c.quit_window, c.max_same_category)
        self.layout = self.rule.layout
        self.popularity = np.asarray(SessionView.of(dataset).item_popularity, np.float64)
        self.fitted = True
        return self

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        # popularity is in [0, 1]: a penalty of 2 puts every quitting item below every safe one
        score = self.popularity[None, :] - 2.0 * self.rule.quits(x)
        a = score.argmax(1)
        return int(a[0]) if single else a


class SeqOracle(BaseAgent):
    """Skyline with privileged information (registered as ``seq_oracle``; ``offline=False``).

    Reads the live environment through :meth:`bind_env` and, each turn,
    shows the unseen item with the highest true rating among those that do not make the
    user quit (one-step lookahead on the known quit rule; if every item would end the
    session, the best-rated one). Not optimal over the whole session, but a strong bound.
    """

    name: ClassVar[str] = "seq_oracle"
    Config: ClassVar[type] = ReferenceConfig
    offline: ClassVar[bool] = False

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqOracle:
        self.layout = SessionView.of(dataset).obs_layout
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


class SeqLogging(BaseAgent):
    """The behaviour policy itself, replayed (registered as ``seq_logging``).

    Takes the policy from the deployment (``fit(dataset, deployment)``) and samples from it;
    the on-policy check of every off-policy estimator: its estimate from its own held-out
    sessions must match its online value. The policy object is code, not tensors, so this
    agent is rebuilt rather than saved.
    """

    name: ClassVar[str] = "seq_logging"
    Config: ClassVar[type] = ReferenceConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SeqLogging:
        self.policy = getattr(deployment, "behaviour", None)
        if self.policy is None:
            raise AgentError("seq_logging replays the behaviour policy: fit(dataset, "
                             "deployment) with deployment.behaviour set")
        self.layout = SessionView.of(dataset).obs_layout
        self._rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        return np.asarray(self.policy.probs(x), dtype=np.float64)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        probs = self.action_probs(x)
        a = sample_categorical(probs, 1, self._rng)[:, 0]
        return int(a[0]) if single else a

    def state_dict(self) -> dict[str, Any]:
        raise AgentError("seq_logging wraps a behaviour policy object and cannot be saved; "
                         "fit it again with the deployment")
