"""Per-(state, item) features of sequential sessions for linear fitted-Q evaluation.

What the agents see, nothing more: the flat observation (user features, the last k items and
the ratings given to them, :class:`~recsim_envs.sequential.observation.ObsLayout`), the
public catalogue (``system["item_features"]``, ``system["item_category"]``) and the turn
(``extras["step"]``, the ``turn`` of every step's info). The rating matrix is never read.

phi(s, a) for item a in state s at turn t (``h = (max_turns - 1 - t) / max_turns``, the
share of the session still to come after this turn):

- the immediate rating: a bias, the item's public attributes, the user's stated like of its
  category, the mean rating the user gave to the recent items sharing its colour / its
  category (with indicators that there were any): the revealed part of the user's taste;
- generic history summaries: for each recency horizon m = 1..k, the item is among the last m
  items; its category occurs once / at least twice among them (as the ``linear_q`` agent's);
- the value still to come, zero where the stated quit rule (the action mask every agent is
  shown) says the item ends the session: a one-hot of the turn, and ``h`` times the user's
  features and mean recent rating.

Why this class: session return is mostly (turns survived) x (mean rating), so a linear Q
needs a per-turn continuation that vanishes exactly on quitting items; measured on
SequentialRec-v0 (issue 21), the same features without the turn one-hot under-estimated
the behaviour policy's own value by ~7 of 71.
"""

from __future__ import annotations

import numpy as np

from recsim_envs.sequential.observation import ObsLayout


class SessionFeatures:
    """phi(s, a) of every item, from flat observations and turns.

    Args:
        layout: the flat observation layout (``ObsLayout.from_array(system["obs_layout"])``).
        item_features: (n_items, d_item) public item attributes; the first ``n_cat`` columns
            are the category one-hot, the next ``n_colour`` the colour one-hot.
        item_category: (n_items,) category index.
        n_colour: colour columns after the category block of ``item_features``.
        max_turns: the sessions' turn limit (``meta.env_kwargs``, default 30).
        quit_window, max_same: the stated quit rule (the action mask every agent is shown:
            an item ends the session if it repeats one of the last ``quit_window - 1`` items
            or its category would then occur more than ``max_same`` times among them);
            ``max_same=None`` for a rule on repeats only (the distance rule's distances are
            not public).
    """

    def __init__(self, layout: ObsLayout, item_features: np.ndarray, item_category: np.ndarray,
                 n_colour: int, max_turns: int, quit_window: int = 5,
                 max_same: int | None = 2) -> None:
        self.layout = layout
        self.items = np.asarray(item_features, np.float64)
        self.cat = np.asarray(item_category, np.int64)
        self.n_cat = int(self.cat.max()) + 1
        self.colour = np.argmax(self.items[:, self.n_cat:self.n_cat + n_colour], axis=1)
        self.n_colour = int(n_colour)
        self.max_turns = int(max_turns)
        self.quit_window, self.max_same = int(quit_window), max_same
        if len(self.items) != layout.n_items or len(self.cat) != layout.n_items:
            raise ValueError(f"item_features / item_category must have {layout.n_items} rows "
                             "(the layout's n_items)")
        self.n_hist = 3 * layout.history_len
        self.n_now = 1 + self.items.shape[1] + 1 + 4
        self.dim = self.n_now + self.n_hist + self.max_turns + layout.user_dim + 1

    def all_items(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(n, obs_dim) observations, (n,) turns -> (n, n_items, dim) features, float32."""
        x = np.asarray(x)
        _, feats, items, fb = self.layout.split(x)
        n, k, n_items = len(x), items.shape[1], self.layout.n_items
        likes = feats[:, -self.n_cat:].astype(np.float64)  # (n, C)
        real = items < n_items  # (n, k) padding is n_items
        safe_items = np.where(real, items, 0)
        item_cat = np.where(real, self.cat[safe_items], -1)
        item_col = np.where(real, self.colour[safe_items], -1)
        # mean feedback per colour / category over the recent items (revealed taste)
        col_hit = (item_col[:, :, None] == np.arange(self.n_colour)).astype(np.float64)
        cat_hit = (item_cat[:, :, None] == np.arange(self.n_cat)).astype(np.float64)
        fb = np.asarray(fb, np.float64)
        col_n, cat_n = col_hit.sum(1), cat_hit.sum(1)  # (n, colours), (n, C)
        col_mean = np.einsum("nk,nkc->nc", fb, col_hit) / np.maximum(col_n, 1)
        cat_mean = np.einsum("nk,nkc->nc", fb, cat_hit) / np.maximum(cat_n, 1)
        mean_fb = (fb * real).sum(1) / np.maximum(real.sum(1), 1)
        # history summaries per recency horizon m = 1..k (columns m - 1)
        seen = np.zeros((n, k, n_items + 1))
        counts = np.zeros((n, k, self.n_cat + 1))
        cat_pad = np.where(real, item_cat, self.n_cat)
        rows = np.arange(n)
        for m in range(1, k + 1):
            for j in range(k - m, k):
                seen[rows, m - 1, items[:, j]] = 1.0
                counts[rows, m - 1, cat_pad[:, j]] += 1.0
        seen = seen[:, :, :n_items].transpose(0, 2, 1)  # (n, N, k)
        c = counts[:, :, :self.n_cat][:, :, self.cat].transpose(0, 2, 1)  # (n, N, k)
        out = np.zeros((n, n_items, self.dim), np.float32)
        d_item = self.items.shape[1]
        out[:, :, 0] = 1.0
        out[:, :, 1:1 + d_item] = self.items[None]
        j = 1 + d_item
        out[:, :, j] = likes[:, self.cat]
        out[:, :, j + 1] = col_mean[:, self.colour]
        out[:, :, j + 2] = col_n[:, self.colour] > 0
        out[:, :, j + 3] = cat_mean[:, self.cat]
        out[:, :, j + 4] = cat_n[:, self.cat] > 0
        j = self.n_now
        k3 = self.n_hist // 3
        out[:, :, j:j + k3], out[:, :, j + k3:j + 2 * k3] = seen, c == 1
        out[:, :, j + 2 * k3:j + self.n_hist] = c >= 2
        j += self.n_hist
        # what is still to come, only where the item does not end the session: a value per
        # turn, and the user's features and revealed taste scaled by the turns left
        go_on = ~self.quits(items, item_cat)  # (n, N)
        turn = np.clip(np.asarray(t, np.int64), 0, self.max_turns - 1)
        out[rows, :, j + turn] = go_on
        j += self.max_turns
        h = (self.max_turns - 1 - turn) / self.max_turns
        user = np.concatenate([feats, mean_fb[:, None]], axis=1) * h[:, None]
        out[:, :, j:] = go_on[:, :, None] * user[:, None, :]
        return out

    def quits(self, items: np.ndarray, item_cat: np.ndarray) -> np.ndarray:
        """(n, k) recent items (padding n_items) and their categories (-1 for padding) ->
        (n, n_items) bool: would the stated quit rule end the session on this item?"""
        n, n_items = len(items), self.layout.n_items
        m = min(max(self.quit_window - 1, 0), items.shape[1])
        prev, prev_cat = items[:, items.shape[1] - m:], item_cat[:, item_cat.shape[1] - m:]
        out = np.zeros((n, n_items + 1), bool)
        np.put_along_axis(out, prev, True, axis=1)
        out = out[:, :n_items]
        if self.max_same is not None:
            counts = (prev_cat[:, :, None] == np.arange(self.n_cat)).sum(1)  # (n, C)
            out |= counts[:, self.cat] + 1 > self.max_same
        return out

    def taken(self, x: np.ndarray, t: np.ndarray, actions: np.ndarray,
              chunk: int = 512) -> np.ndarray:
        """(n, obs_dim), (n,) turns, (n,) items -> (n, dim) features of the given items."""
        a = np.asarray(actions, np.int64)
        out = np.empty((len(a), self.dim))
        for s in range(0, len(a), chunk):
            sl = slice(s, s + chunk)
            out[sl] = self.all_items(x[sl], t[sl])[np.arange(len(a[sl])), a[sl]]
        return out

    def taken_and_expected(self, x: np.ndarray, t: np.ndarray, actions: np.ndarray,
                           probs: np.ndarray, chunk: int = 512
                           ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`taken` and :meth:`expected` at the same states, building each state's
        item features once: two (n, dim) arrays."""
        a = np.asarray(actions, np.int64)
        probs = np.asarray(probs, np.float64)
        taken, expected = np.empty((len(a), self.dim)), np.empty((len(a), self.dim))
        for s in range(0, len(a), chunk):
            sl = slice(s, s + chunk)
            every = self.all_items(x[sl], t[sl])
            taken[sl] = every[np.arange(len(a[sl])), a[sl]]
            expected[sl] = np.einsum("na,nad->nd", probs[sl], every)
        return taken, expected

    def expected(self, x: np.ndarray, t: np.ndarray, probs: np.ndarray,
                 chunk: int = 512) -> np.ndarray:
        """(n, obs_dim), (n,) turns, (n, n_items) target probabilities ->
        (n, dim) ``sum_a pi(a|s) phi(s, a)``: a linear Q's value V(s) = that . w."""
        probs = np.asarray(probs, np.float64)
        out = np.empty((len(probs), self.dim))
        for s in range(0, len(probs), chunk):
            sl = slice(s, s + chunk)
            out[sl] = np.einsum("na,nad->nd", probs[sl], self.all_items(x[sl], t[sl]))
        return out
