"""Linear Q-learning on public per-(state, item) features (issue 19), registered as
``linear_q``.

A from-scratch learner that can learn the sequential family: it sees, for every item, the
public catalogue attributes and generic summaries of the visible history (is this item
among the last m shown, how often its category appears there), and learns from
terminations which of them end sessions. It is *not* told the quit rule. Method: fitted Q
iteration (Ernst, Geurts and Wehenkel, JMLR 2005) with a linear Q-function and ridge
regression, on the logged transitions (optional) and on its own online transitions,
epsilon-greedy online (Sutton and Barto, 2018, ch. 6 and 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView
from recsim_envs.sequential.world import CATEGORIES


class ItemStateFeatures:
    """phi(s, a) for every item: public attributes plus history summaries.

    Per (state, item), ``D = 1 + d_item + 1 + 3k`` features (``k`` = history length):
    a bias, the item's public attributes (category, colour, material one-hots, popularity),
    the user's stated like of its category, and for each recency horizon m = 1..k: the item
    is among the last m items shown; its category occurs once / at least twice among them.
    No feature names the quit rule's window or cap; the weights say which matter.
    """

    def __init__(self, layout: ObsLayout, item_features: np.ndarray,
                 item_category: np.ndarray) -> None:
        self.layout = layout
        self.items = np.asarray(item_features, np.float64)  # (N, d_item)
        self.cat = np.asarray(item_category, np.int64)  # (N,)
        self.n_cat = len(CATEGORIES)
        k = layout.history_len
        self.dim = 1 + self.items.shape[1] + 1 + 3 * k

    def _history(self, x: np.ndarray):
        """(n, dim) -> likes (n, C), seen (n, k, N) and counts (n, k, C) per horizon."""
        _, feats, items, _ = self.layout.split(x)
        n, k, n_items = len(x), items.shape[1], self.layout.n_items
        likes = feats[:, -self.n_cat:].astype(np.float64)
        seen = np.zeros((n, k, n_items + 1), bool)
        counts = np.zeros((n, k, self.n_cat + 1))
        cat = np.append(self.cat, self.n_cat)[items]  # padding -> spare column
        rows = np.arange(n)
        for m in range(1, k + 1):  # horizon m: the last m items
            for j in range(k - m, k):
                seen[rows, m - 1, items[:, j]] = True
                counts[rows, m - 1, cat[:, j]] += 1
        return likes, seen[:, :, :n_items], counts[:, :, :self.n_cat]

    def phi(self, x: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(n, dim) observations, (n,) items -> (n, D) features of the taken items."""
        likes, seen, counts = self._history(x)
        a = np.asarray(actions, np.int64)
        rows = np.arange(len(x))
        c = counts[rows, :, self.cat[a]]  # (n, k)
        return np.hstack([np.ones((len(x), 1)), self.items[a], likes[rows, self.cat[a]][:, None],
                          seen[rows, :, a].astype(np.float64), (c == 1).astype(np.float64),
                          (c >= 2).astype(np.float64)])

    def q_all(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(n, dim) observations, (D,) weights -> (n, N) Q of every item, without building
        the (n, N, D) feature tensor."""
        likes, seen, counts = self._history(x)
        d_item = self.items.shape[1]
        w_bias, w_item, w_like = w[0], w[1:1 + d_item], w[1 + d_item]
        w_seen, w_one, w_two = np.split(w[2 + d_item:], 3)
        q = w_bias + (self.items @ w_item)[None, :] + w_like * likes[:, self.cat]
        q = q + np.einsum("m,nmj->nj", w_seen, seen.astype(np.float64))
        c = counts[:, :, self.cat]  # (n, k, N)
        q = q + np.einsum("m,nmj->nj", w_one, (c == 1).astype(np.float64))
        return q + np.einsum("m,nmj->nj", w_two, (c >= 2).astype(np.float64))


@dataclass
class LinearQConfig:
    """Settings of :class:`LinearQ`.

    Attributes:
        seed: the agent's generator (exploration and tie-breaking).
        gamma: discount of the Q target.
        ridge: L2 penalty of each least-squares fit.
        use_logs: start from the logged transitions (True) or learn from nothing.
        offline_iterations: Q iterations on the logged transitions (30 = the sessions'
            horizon: exact for a finite horizon).
        epsilon: share of uniform items in training episodes.
        refit_every: training episodes between refits on all transitions so far.
        online_iterations: Q iterations per refit (continuing from the current weights).
        max_transitions: the most recent transitions kept (bounds the cost of a refit).
    """

    seed: int = 0
    gamma: float = 0.9
    ridge: float = 1.0
    use_logs: bool = True
    offline_iterations: int = 30
    epsilon: float = 0.1
    refit_every: int = 5
    online_iterations: int = 5
    max_transitions: int = 30_000

    def __post_init__(self) -> None:
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        if not self.ridge > 0:
            raise ValueError(f"ridge must be > 0, got {self.ridge}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        for name in ("offline_iterations", "refit_every", "online_iterations",
                     "max_transitions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class LinearQ(BaseAgent):
    """Linear Q-learning over :class:`ItemStateFeatures` (registered as ``linear_q``).

    ``fit`` reads the public catalogue and, with ``use_logs``, runs ``offline_iterations``
    of fitted Q iteration on the logged transitions (target ``r + gamma (1 - terminated)
    max_a' Q(s', a')``, terminations as logged). Online, ``explore`` is epsilon-greedy,
    ``observe`` stores the transition and every ``refit_every`` finished episodes the
    weights are refitted on all stored transitions. ``act`` is greedy (ties: lowest id).
    """

    name: ClassVar[str] = "linear_q"
    Config: ClassVar[type] = LinearQConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> LinearQ:
        view = SessionView.of(dataset)
        self.layout = view.obs_layout
        self.features = ItemStateFeatures(self.layout, view.item_features, view.item_category)
        self.w = np.zeros(self.features.dim)
        self._rng = np.random.default_rng(self.config.seed)
        dim = self.layout.dim
        self._s, self._a = np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
        self._r, self._s2, self._d = np.zeros(0), np.zeros((0, dim), np.float32), np.zeros(0)
        self._pending: list[tuple] = []
        self.online_steps = self.online_episodes = 0
        if self.config.use_logs:
            self._store(dataset.context, dataset.action, dataset.reward, view.next_context,
                        view.terminated)
            self._refit(self.config.offline_iterations)
        self.fitted = True
        return self

    def _store(self, s, a, r, s2, d) -> None:
        keep = self.config.max_transitions
        self._s = np.vstack([self._s, np.asarray(s, np.float32)])[-keep:]
        self._a = np.concatenate([self._a, np.asarray(a, np.int64)])[-keep:]
        self._r = np.concatenate([self._r, np.asarray(r, np.float64)])[-keep:]
        self._s2 = np.vstack([self._s2, np.asarray(s2, np.float32)])[-keep:]
        self._d = np.concatenate([self._d, np.asarray(d, np.float64)])[-keep:]

    def _refit(self, iterations: int) -> None:
        if not len(self._a):
            return
        phi = self.features.phi(self._s, self._a)
        gram = phi.T @ phi + self.config.ridge * np.eye(phi.shape[1])
        solve = np.linalg.cholesky(gram)
        for _ in range(iterations):
            v2 = self.features.q_all(self._s2, self.w).max(axis=1)
            y = self._r + self.config.gamma * (1.0 - self._d) * v2
            z = np.linalg.solve(solve, phi.T @ y)
            self.w = np.linalg.solve(solve.T, z)

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) the learned Q of every item."""
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        return self.features.q_all(x, self.w)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        a = self.q_values(x).argmax(axis=1)
        return int(a[0]) if single else a

    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        q = self.q_values(x)
        # random tie-breaking: with no data yet every item has the same Q
        a = (q + 1e-9 * self._rng.random(q.shape)).argmax(axis=1)
        uniform = self._rng.integers(self.layout.n_items, size=len(x))
        a = np.where(self._rng.random(len(x)) < self.config.epsilon, uniform, a)
        return int(a[0]) if single else a

    def observe(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        if not self.fitted:
            raise AgentError("linear_q must be fit before it observes; call fit(dataset)")
        self._pending.append((np.asarray(obs, np.float32).reshape(1, -1),
                              np.atleast_1d(action), np.atleast_1d(reward),
                              np.asarray(next_obs, np.float32).reshape(1, -1),
                              np.atleast_1d(float(terminated))))
        self.online_steps += 1
        if terminated or truncated:
            self.online_episodes += 1
            self._store(*[np.concatenate(col) for col in zip(*self._pending, strict=True)])
            self._pending = []
            if self.online_episodes % self.config.refit_every == 0:
                self._refit(self.config.online_iterations)

    def stats(self) -> dict[str, int]:
        return {"online_steps": int(self.online_steps),
                "online_episodes": int(self.online_episodes)}
