"""Model-based rollout estimate of a session policy: the target played in a user model fitted
on the held-out sessions, with a bootstrap that refits the model in every replicate.

Model-based off-policy evaluation (Paduraru, 2013; Voloshin et al., "Empirical Study of
Off-Policy Policy Evaluation for Reinforcement Learning", NeurIPS 2021 datasets track;
Zhang et al., "Autoregressive Dynamics Models for Offline Policy Evaluation and
Optimization", ICLR 2021): fit the environment's response from logged data, simulate the
target in it, average the simulated returns.

In ``SequentialRec-v0`` the only unknown part of the response is the user's rating of an
item: the next observation is the history shifted by the item and its rating, and the
session ends by the **stated** quit rule (the action mask every agent is shown: a repeat,
or a category crowded in the last ``quit_window`` items) or at the turn limit. So the
model here is a rating model, everything else is the public rule:

- a (user, item) pair the held-out log holds gets its logged mean rating (the world's
  ratings are a fixed matrix: a logged pair is known);
- any other pair gets an additive model on the rating scale fitted by backfitting
  (Hastie and Tibshirani, 1990): a global mean, the user's stated like of the item's
  category, a popularity band, the item, and the user's own effects per category and per
  colour (the hidden tastes the world's ratings are built from, learned from the user's
  logged ratings); each group's effects shrunk by empirical Bayes (sigma^2 / tau_g^2,
  method of moments); clipped to the rating scale.

The agent sees integer ratings: a simulated rating with model mean ``m`` is ``floor(m)`` or
``floor(m) + 1`` with the probability that keeps the mean ``m`` (a logged pair's rating is
exact). The reward is the mean ``m`` itself for ``reward_type="rating"`` (less simulation
noise), the click of the drawn rating for ``"click"``.

**Correction on the target's own logged pairs** (rating reward; in the spirit of doubly
robust estimation, Jiang and Li, ICML 2016): the additive model is biased where the world's
ratings are not additive (measured on ``SequentialRec-v0``: -0.1 to -0.26 per rating on the
pairs ``no_repeat_popular`` shows, -3% of its value). Each logged row whose pair one fold of
sessions never logged is predicted by that fold's fit (2 folds by session parity); the
mean of (rating - prediction) over those rows, each weighted by how often the simulated
target shows its pair, is the model's error on the target's pairs, added once per show of
a pair the table predicts.

Population: each held-out session's user starts a simulated session from the user's
logged first observation; the estimate is ``mean_e V_model(user_e)``, the same users in the
same proportions as the log. Interval: a percentile bootstrap over sessions in which the
rating model is refitted on the resampled sessions (their rows and their users' weights),
the correction recomputed, and the target simulated once per user (all replicates side by
side). Each replicate also draws what a refit cannot carry: each effect's shrinkage error
under the empirical-Bayes prior, and each unlogged pair's own deviation from the model,
N(0, sigma^2), shared by every show of that pair (an agent that cycles through 5 items
repeats one pair's error 6 times). It carries the user sampling, the model's estimation
error and the simulation noise; the correction's fold fits are not refitted per replicate.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsim_envs.evaluation import AgentHandle
from recsim_envs.ope.bootstrap import bootstrap_counts, interval_text, percentile_interval
from recsim_envs.ope.estimate import OffPolicyEstimate
from recsim_envs.ope.session_rollout import SessionRules, simulate

SHRINK = 3.0
"""Starting shrinkage of each group effect (pseudo-ratings of 0, a ridge penalty) before the
empirical-Bayes rounds replace it by sigma^2 / tau_g^2 per group."""
EB_ROUNDS = 2
"""Rounds of the empirical-Bayes estimate of the shrinkages (the second moves them < 10%)."""
TAU2_MIN = 1e-3
"""Floor of a group's effect variance (a group without signal is shrunk to ~0, not 1/0)."""
SWEEPS = 10
"""Backfitting sweeps over the groups (the effects move by < 1e-3 after ~6 on the quick
suite's logs)."""
POP_BANDS = 5
"""Quantile bands of the public popularity, one effect each (an item seen in no session
still gets its band's effect)."""
N_SIM_POINT = 8
"""Simulated sessions per logged user for the point estimate (stochastic targets and the
drawn integer ratings make a session random)."""


def _group_matrix(levels: np.ndarray, n_levels: int) -> sp.csr_matrix:
    """(N,) level per row -> (N, n_levels) sparse one-hot."""
    n = len(levels)
    return sp.csr_matrix((np.ones(n), (np.arange(n), levels)), shape=(n, n_levels))


class RatingModel:
    """The rating model of the module docstring, fitted for R row weightings at once.

    Args:
        rules: :class:`SessionRules` (item attributes).
        user_likes: (U, C) stated likes of the U users the rows come from.
        row_user: (N,) user index in [0, U) of each logged rating.
        row_item: (N,) item of each logged rating.
        ratings: (N,) the logged ratings.
        row_session: (N,) session index of each row (its parity makes the link's folds).
    """

    def __init__(self, rules: SessionRules, user_likes: np.ndarray, row_user: np.ndarray,
                 row_item: np.ndarray, ratings: np.ndarray, row_session: np.ndarray) -> None:
        self.rules = rules
        n_items = rules.layout.n_items
        cat, col = rules.item_category, rules.item_colour
        n_cat, n_col = int(cat.max()) + 1, int(col.max()) + 1
        self.n_users, self.n_items = len(user_likes), n_items
        like_item = (np.asarray(user_likes)[:, cat] > 0.5).astype(np.int64)  # (U, n_items)
        cuts = np.quantile(rules.item_popularity, np.linspace(0, 1, POP_BANDS + 1)[1:-1])
        band = np.searchsorted(cuts, rules.item_popularity, side="right")
        u, i = np.asarray(row_user, np.int64), np.asarray(row_item, np.int64)
        # per group: (level of every (user, item) pair (U, n_items), number of levels)
        self.groups = [
            (np.broadcast_to(0, (self.n_users, n_items)), 1),
            (like_item, 2),
            (np.broadcast_to(band, (self.n_users, n_items)), POP_BANDS),
            (np.broadcast_to(np.arange(n_items), (self.n_users, n_items)), n_items),
            (np.arange(self.n_users)[:, None] * n_cat + cat[None, :], self.n_users * n_cat),
            (np.arange(self.n_users)[:, None] * n_col + col[None, :], self.n_users * n_col),
        ]
        self.row_levels = [g[u, i] for g, _ in self.groups]
        self.matrices = [_group_matrix(lv, n) for lv, (_, n) in zip(self.row_levels,
                                                                   self.groups, strict=True)]
        self.ratings = np.asarray(ratings, np.float64)
        self.pairs = sp.csr_matrix((np.ones(len(u)), (u * n_items + i, np.arange(len(u)))),
                                   shape=(self.n_users * n_items, len(u)))
        self.shrink, self.sigma2 = self._hyperparameters()
        self.row_pair = u * n_items + i
        self.oof_rows, self.oof_pred = self._out_of_fold(np.asarray(row_session) % 2)

    def _backfit(self, w: np.ndarray, shrink: np.ndarray
                 ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Effects (R, levels) and weighted counts (R, levels) per group, and the (R, N)
        residuals, of the additive model fitted with row weights ``w`` (R, N)."""
        resid = np.broadcast_to(self.ratings, w.shape).copy()
        effects = [np.zeros((len(w), n)) for _, n in self.groups]
        counts = [(m.T @ w.T).T for m in self.matrices]  # (R, levels)
        for _ in range(SWEEPS):
            for g, (m, lv) in enumerate(zip(self.matrices, self.row_levels, strict=True)):
                resid += effects[g][:, lv]
                effects[g] = (m.T @ (w * resid).T).T / (counts[g] + shrink[g] + 1e-12)
                resid -= effects[g][:, lv]
        return effects, counts, resid

    def _hyperparameters(self) -> tuple[np.ndarray, float]:
        """Each group's shrinkage sigma^2 / tau_g^2 and the residual variance sigma^2 by
        empirical Bayes on all rows (method of moments, :data:`EB_ROUNDS` rounds from
        :data:`SHRINK`): sigma^2 = residual sum of squares / (N - effective df), tau_g^2 =
        mean over a group's logged levels of (raw mean^2 - sigma^2 / n)."""
        ones = np.ones((1, len(self.ratings)))
        shrink = np.array([0.0] + [SHRINK] * (len(self.groups) - 1))
        sigma2 = 1.0
        for _ in range(EB_ROUNDS):
            effects, counts, resid = self._backfit(ones, shrink)
            df = 1.0 + sum(float((c / (c + lam)).sum())
                           for c, lam in zip(counts[1:], shrink[1:], strict=True))
            sigma2 = float((resid ** 2).sum() / max(len(self.ratings) - df, 1.0))
            for g in range(1, len(self.groups)):
                n, eff = counts[g][0], effects[g][0]
                seen = n > 0
                raw = eff[seen] * (n[seen] + shrink[g]) / n[seen]  # the unshrunk level mean
                tau2 = max(float(np.mean(raw ** 2 - sigma2 / n[seen])), TAU2_MIN)
                shrink[g] = sigma2 / tau2
        return shrink, sigma2

    def _additive(self, w: np.ndarray, rng: np.random.Generator | None = None
                  ) -> np.ndarray:
        """(R, N) row weights -> (R, U, n_items) sums of the fitted effects (with the
        prior draws of :meth:`predict` when ``rng`` is given)."""
        effects, counts, _ = self._backfit(w, self.shrink)
        if rng is not None:
            for g in range(1, len(self.groups)):
                lam = self.shrink[g]
                effects[g] += rng.normal(size=effects[g].shape) * (
                    np.sqrt(self.sigma2 * lam) / (counts[g] + lam))
        out = np.zeros((len(w), self.n_users, self.n_items))
        for eff, (levels, _) in zip(effects, self.groups, strict=True):
            out += eff[:, levels]
        return out

    def _out_of_fold(self, row_fold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) bool: rows whose pair the other fold never logged, and (N,) their model
        prediction from the other fold's fit (clipped; 2 folds of sessions): what the model
        says of a pair it has not seen, where the truth is known."""
        ok, pred = np.zeros(len(self.ratings), bool), np.zeros(len(self.ratings))
        for f in (0, 1):
            w = (row_fold != f).astype(np.float64)[None]
            other = (self.pairs @ w[0]) > 0  # pairs the other fold logged
            rows = (row_fold == f) & ~other[self.row_pair]
            ok |= rows
            pred[rows] = np.clip(self._additive(w)[0].reshape(-1)[self.row_pair[rows]],
                                 self.rules.rating_min, self.rules.rating_max)
        return ok, pred

    def logged(self, weights: np.ndarray) -> np.ndarray:
        """(R, N) row weights -> (R, U * n_items) bool: pairs with a logged rating."""
        return (self.pairs @ np.atleast_2d(weights).T).T > 0

    def predict(self, weights: np.ndarray, rng: np.random.Generator | None = None
                ) -> np.ndarray:
        """(R, N) row weights -> (R, U, n_items) mean ratings: logged pairs their weighted
        mean rating, the others the backfitted additive model, clipped to the scale.

        With ``rng``, each effect also gets a draw of its shrinkage error under the
        empirical-Bayes prior, N(0, sigma^2 lambda_g / (n + lambda_g)^2) for a level of
        weighted count n (tau_g^2 for a level never logged): the part of the posterior
        variance sigma^2 / (n + lambda_g) that a refit on resampled sessions does not
        carry (its sampling variance is sigma^2 n / (n + lambda_g)^2)."""
        w = np.atleast_2d(np.asarray(weights, np.float64))
        out = np.clip(self._additive(w, rng), self.rules.rating_min, self.rules.rating_max)
        if rng is not None:
            # the pair's own deviation from the additive model (the rating noise sigma^2),
            # shared by every turn that shows the pair; after clipping, so that a
            # replicate's mean is the fit's (the simulated integer rating is clipped)
            out += rng.normal(scale=np.sqrt(self.sigma2), size=out.shape)
        seen_w = (self.pairs @ w.T).T  # (R, U * n_items)
        seen_sum = (self.pairs @ (w * self.ratings).T).T
        flat = out.reshape(len(w), -1)
        hit = seen_w > 0
        flat[hit] = seen_sum[hit] / seen_w[hit]
        return out


def _corrected(model: RatingModel, weights: np.ndarray, returns: np.ndarray,
               visits: np.ndarray) -> np.ndarray:
    """(R, U) returns plus the model's mean error on the target's own logged pairs times
    each user's shows of pairs the rating table predicts (module docstring): weights (R, N),
    returns (R, U), visits (R, U, n_items)."""
    if model.rules.reward_type != "rating":
        return returns
    r = len(weights)
    c = visits.reshape(r, -1)[:, model.row_pair] * weights * model.oof_rows  # (R, N)
    total = c.sum(axis=1)
    error = np.where(total > 0, c @ (model.ratings - model.oof_pred) / np.maximum(total, 1e-12),
                     0.0)  # (R,) mean (truth - prediction) over the target's logged pairs
    unseen = visits * ~model.logged(weights).reshape(visits.shape)
    return returns + error[:, None] * unseen.sum(axis=2)


def rollout_estimate(agent: AgentHandle, rules: SessionRules, context: np.ndarray,
                     action: np.ndarray, rating: np.ndarray, session: np.ndarray,
                     step: np.ndarray, *, rng: np.random.Generator, n_boot: int = 200,
                     calibrated: bool = False, note: str = "") -> OffPolicyEstimate:
    """The rollout estimate of the agent's mean session return (module docstring).

    Args:
        agent: the target.
        rules: :class:`SessionRules` of the world.
        context: (N, dim) logged observations; action: (N,) items; rating: (N,) the ratings
            the user gave (the last feedback slot of the next observation).
        session: (N,) session ids; step: (N,) turns (each session needs its turn 0).
        rng: draws the bootstrap and the simulations.
        n_boot: bootstrap replicates (each refits the rating model and simulates).
        calibrated: label the interval as a 95% interval over logs.
        note: text added to the estimate's note.
    """
    lay = rules.layout
    sessions, row_session = np.unique(session, return_inverse=True)
    m = len(sessions)
    user_ids = np.asarray(context[:, 0], np.int64)
    users, row_user = np.unique(user_ids, return_inverse=True)
    first = np.flatnonzero(np.asarray(step) == 0)
    if len(np.unique(row_session[first])) != m:
        raise ValueError("every session needs its first turn (step 0) in the log")
    first_obs = np.empty((len(users), context.shape[1]), np.float32)
    first_obs[row_user[first]] = context[first]
    session_user = np.empty(m, np.int64)
    session_user[row_session[first]] = row_user[first]
    likes = first_obs[:, 1 + lay.user_dim - (int(rules.item_category.max()) + 1):
                      1 + lay.user_dim]
    model = RatingModel(rules, likes, row_user, action, rating, row_session)
    user_count = np.bincount(session_user, minlength=len(users)).astype(np.float64)
    point_tables = np.repeat(model.predict(np.ones((1, len(action)))), N_SIM_POINT, axis=0)
    ret, visits = simulate(agent, rules, first_obs, point_tables, rng)
    ones = np.ones((1, len(action)))
    point = float(user_count @ _corrected(model, ones, ret.mean(0, keepdims=True),
                                          visits.mean(0, keepdims=True))[0] / m)
    reps = []
    for counts in bootstrap_counts(rng, m, n_boot):
        w = counts[:, row_session]
        tables = model.predict(w, rng)
        ret = _corrected(model, w, *simulate(agent, rules, first_obs, tables, rng))
        user_w = np.zeros((len(counts), len(users)))
        np.add.at(user_w.T, session_user, counts.T)
        reps.append((user_w * ret).sum(axis=1) / m)
    lo, hi, _ = percentile_interval(np.concatenate(reps))
    text = interval_text("sessions", n_boot, "rating model refitted and the target simulated "
                         "in every replicate")
    return OffPolicyEstimate(
        "rollout", point, lo, hi, None, m, m, "sessions", text,
        note=note or ("model-based: the target simulated in a rating model fitted on the "
                      "held-out sessions under the stated quit rule"),
        calibrated=calibrated)
