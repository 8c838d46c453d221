"""Policies over the items the stated quit rule calls safe (issue 19).

The sequential family's return is mostly session length (``docs/sequential_results.md``):
these agents read the documented quit rule (:class:`~agents.sequential.reference.StatedQuitRule`,
the same mask as ``SequentialRec-v0``'s ``action_masks()``) and choose among the items it
lets through. They measure how much of a learner's return is the public structure it is
handed, the question the iALP comparison (Wang et al., WSDM 2025) needs answered:

- :class:`SafeRandom` (``safe_random``): uniform over safe items - the quit rule alone.
- :class:`ProfileGreedy` (``profile_greedy``): a no-learning rule reading the same public
  facts iALP is given: argmax over safe items of ``popularity_weight x popularity +
  like_weight x stated like``.
- :class:`SafeBandit` (``safe_bandit``): per-(item, stated like) running means of the
  observed reward over safe items, optimistic for items not yet tried (an online learner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import BaseAgent, as_batch
from agents.sequential.reference import StatedQuitRule, check_quit_rule_settings
from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.view import SessionView
from recsim_envs.sequential.world import CATEGORIES


def _safe(rule: StatedQuitRule, x: np.ndarray) -> np.ndarray:
    """(n, dim) -> (n, n_items) bool: safe items, all True where none is (as the env's
    mask)."""
    safe = ~rule.quits(x)
    safe[~safe.any(axis=1)] = True
    return safe


def stated_likes(rule: StatedQuitRule, x: np.ndarray) -> np.ndarray:
    """(n, dim) -> (n, n_items) float: 1 where the user states they like the item's
    category (the last ``len(CATEGORIES)`` user features, as the world lays them out)."""
    _, feats, _, _ = rule.layout.split(x)
    likes = feats[:, -len(CATEGORIES):]
    return likes[:, rule.item_category]


@dataclass
class SafeConfig:
    """Settings of :class:`SafeRandom` and :class:`ProfileGreedy`.

    Attributes:
        seed: the agent's generator (``safe_random`` samples; ``profile_greedy`` does not).
        popularity_weight, like_weight: ``profile_greedy``'s score (2 and 1: the rule the
            issue measured at 123.5 over 6 worlds; not tuned here).
        quit_window, max_same_category: the quit rule's settings; None reads the logged
            environment's (``dataset.meta.env_kwargs``, else 5 and 2).
    """

    seed: int = 0
    popularity_weight: float = 2.0
    like_weight: float = 1.0
    quit_window: int | None = None
    max_same_category: int | None = None

    def __post_init__(self) -> None:
        check_quit_rule_settings(self)
        for name in ("popularity_weight", "like_weight"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")


class _SafeBase(BaseAgent):
    Config: ClassVar[type] = SafeConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> _SafeBase:
        c = self.config
        self.rule = StatedQuitRule.from_dataset(dataset, c.quit_window, c.max_same_category)
        self.layout = self.rule.layout
        self.popularity = np.asarray(SessionView.of(dataset).item_popularity, np.float64)
        self._rng = np.random.default_rng(c.seed)
        self.fitted = True
        return self


class SafeRandom(_SafeBase):
    """Uniform over the items the stated quit rule calls safe (registered as
    ``safe_random``): what the quit rule alone is worth."""

    name: ClassVar[str] = "safe_random"

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        safe = _safe(self.rule, x).astype(np.float64)
        return safe / safe.sum(axis=1, keepdims=True)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = sample_categorical(self.action_probs(x), 1, self._rng)[:, 0]
        return int(a[0]) if single else a


class ProfileGreedy(_SafeBase):
    """No-learning rule (registered as ``profile_greedy``): the safe item with the highest
    ``popularity_weight x popularity + like_weight x stated like``.

    Reads exactly what iALP is handed (the public catalogue, the stated likes, the stated
    quit rule) and learns nothing; a pre-trained iALP should at least match it.
    """

    name: ClassVar[str] = "profile_greedy"

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) the rule's score, -inf on unsafe items."""
        c = self.config
        s = c.popularity_weight * self.popularity[None, :] + c.like_weight * stated_likes(
            self.rule, x)
        return np.where(_safe(self.rule, x), s, -np.inf)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = self.scores(x).argmax(axis=1)
        return int(a[0]) if single else a


@dataclass
class SafeBanditConfig:
    """Settings of :class:`SafeBandit`.

    Attributes:
        seed: the agent's generator (exploration).
        prior_mean, prior_count: each (item, liked) arm starts as ``prior_count`` pseudo
            observations of ``prior_mean`` (5 = the top rating: optimism makes the greedy
            policy try every arm it meets).
        epsilon: share of uniform choice over safe items in training episodes (``explore``).
        use_logs: start from the logged transitions' rewards (True) or from nothing.
        quit_window, max_same_category: as :class:`SafeConfig`.
    """

    seed: int = 0
    prior_mean: float = 5.0
    prior_count: float = 1.0
    epsilon: float = 0.05
    use_logs: bool = True
    quit_window: int | None = None
    max_same_category: int | None = None

    def __post_init__(self) -> None:
        if not self.prior_count > 0:
            raise ValueError(f"prior_count must be > 0, got {self.prior_count}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        check_quit_rule_settings(self)


class SafeBandit(_SafeBase):
    """Per-item running means over safe items, split by stated like (registered as
    ``safe_bandit``; an online learner).

    Arms are (item, whether the user states they like its category): 2 x n_items running
    means of the reward (``sums``, ``counts``, arrays (2, n_items)), each starting as
    ``prior_count`` observations of ``prior_mean``. ``act`` shows the safe item with the
    highest mean (ties: the more popular); ``explore`` does the same with ``epsilon``
    uniform choice over safe items; ``observe`` adds the reward to its arm. With
    ``use_logs`` the logged transitions fill the arms first. It is told the quit rule; it
    learns only which items users rate well.
    """

    name: ClassVar[str] = "safe_bandit"
    Config: ClassVar[type] = SafeBanditConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> SafeBandit:
        super().fit(dataset, deployment)
        n = self.layout.n_items
        self.sums = np.zeros((2, n))
        self.counts = np.zeros((2, n))
        if self.config.use_logs:
            like = self._liked(np.asarray(dataset.context, np.float32), dataset.action)
            np.add.at(self.sums, (like, dataset.action), dataset.reward)
            np.add.at(self.counts, (like, dataset.action), 1.0)
        self.online_steps = 0
        return self

    def _liked(self, x: np.ndarray, actions: np.ndarray) -> np.ndarray:
        likes = stated_likes(self.rule, x)
        return (likes[np.arange(len(x)), np.asarray(actions, np.int64)] > 0).astype(np.int64)

    def means(self, x: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) each arm's posterior-style mean for these users."""
        c = self.config
        mean = (self.sums + c.prior_mean * c.prior_count) / (self.counts + c.prior_count)
        liked = (stated_likes(self.rule, x) > 0).astype(np.int64)
        return np.where(liked == 1, mean[1][None, :], mean[0][None, :])

    def _greedy(self, x: np.ndarray) -> np.ndarray:
        # popularity (in [0, 1]) x 1e-6 breaks ties without overriding any mean difference
        score = self.means(x) + 1e-6 * self.popularity[None, :]
        return np.where(_safe(self.rule, x), score, -np.inf).argmax(axis=1)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = self._greedy(x)
        return int(a[0]) if single else a

    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = self._greedy(x)
        safe = _safe(self.rule, x).astype(np.float64)
        uniform = sample_categorical(safe / safe.sum(1, keepdims=True), 1, self._rng)[:, 0]
        a = np.where(self._rng.random(len(x)) < self.config.epsilon, uniform, a)
        return int(a[0]) if single else a

    def observe(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        x, _ = as_batch(obs, self.layout.dim)
        a = np.atleast_1d(np.asarray(action, np.int64))
        like = self._liked(x, a)
        np.add.at(self.sums, (like, a), np.atleast_1d(np.asarray(reward, np.float64)))
        np.add.at(self.counts, (like, a), 1.0)
        self.online_steps += len(a)

    def stats(self) -> dict[str, int]:
        return {"online_steps": int(self.online_steps)}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": self.sums.copy(), "counts": self.counts.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums = np.asarray(state["sums"], np.float64)
        self.counts = np.asarray(state["counts"], np.float64)
