"""Imagined sessions: the language-model user plays the user in rollouts of iALP's pre-training.

Wang et al., WSDM 2025 (iALP) prompt a language model with user states to learn item
preferences; the rollout design below (candidate lists, exploration, the text history) is
ours (``docs/sequential.md``). With a quit model (``quit_rule``), imagined sessions end the
way the documented quit rule says; without one (``variant="as_built"``) they never end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import AgentError
from recsim_envs.sequential.observation import ObsLayout


def flat_obs(users, feats, hist, fb) -> np.ndarray:
    """(n,), (n, user_dim), (n, k), (n, k) -> (n, dim) flat observations (``ObsLayout``)."""
    return np.concatenate([users[:, None].astype(np.float32), feats, hist.astype(np.float32),
                           fb], axis=1).astype(np.float32)


def candidates(hist: np.ndarray, item_category: np.ndarray, n_items: int, n_cand: int,
               rng: np.random.Generator) -> np.ndarray:
    """(n, k) histories -> (n, n_cand) distinct candidate items for the prompts.

    Like a retrieval stage: half are "more of the same" (the history's items and items
    of its categories, drawn at random among them), half uniformly random others, so
    the language model's answers show the reward model both novelty and boredom.
    """
    n = len(hist)
    seen = np.zeros((n, n_items + 1), bool)
    np.put_along_axis(seen, hist, True, axis=1)
    cat_seen = np.zeros((n, int(item_category.max()) + 2), bool)
    cat_hist = np.where(hist < n_items, np.append(item_category, -1)[hist], -1)
    np.put_along_axis(cat_seen, cat_hist, True, axis=1)  # -1 lands in the spare column
    similar = seen[:, :n_items] | cat_seen[:, item_category]
    half = n_cand // 2
    first = np.argsort(-(rng.random((n, n_items)) + similar), axis=1)[:, :half]
    pri = rng.random((n, n_items))
    np.put_along_axis(pri, first, -1.0, axis=1)
    rest = np.argsort(-pri, axis=1)[:, :n_cand - half]
    return np.concatenate([first, rest], axis=1)


def safe_candidates(quits: np.ndarray, n_cand: int, rng: np.random.Generator) -> np.ndarray:
    """(n, n_items) bool "would quit" -> (n, n_cand) candidates drawn uniformly among the
    items the stated quit rule calls safe (unsafe ones only if too few are safe).

    Ours (issue 19): with retrieval-style lists (:func:`candidates`) half the candidates
    repeat the history, so most preference pairs teach "avoid boredom", which the stated
    rule already says; lists of safe items make every pair about which safe item the user
    prefers - the choice the deployed policy has to make.
    """
    pri = rng.random(quits.shape) - quits.astype(np.float64)
    return np.argsort(-pri, axis=1)[:, :n_cand]


def imagine(llm: Any, layout: ObsLayout, config: Any, rng: np.random.Generator,
            quit_rule: Any = None) -> dict[str, np.ndarray]:
    """Roll out imagined sessions with the language model as the user.

    Per turn: ``config.n_candidates`` items are listed (:func:`candidates`); the model
    names preferred ones; the shown item is its top choice (or, with probability
    ``config.explore``, a random candidate). The imagined rating is 5 for the top two named
    items, 4 for the other named ones and 2 for items not named - it only drives the text
    history; rewards for learning come from the reward model. With ``quit_rule`` (a
    :class:`~agents.sequential.reference.StatedQuitRule`) a session ends on the turn whose
    item the rule says makes the user leave (``d = 1``) and records no later turns; without
    it every transition has ``d = 0``. Loops over turns and live users because each
    language-model call is one prompt.

    Returns arrays over the T recorded transitions: ``s``, ``s2`` (T, dim), ``a``, ``top``
    (T,) shown and top-named items, ``d`` (T,) float ended flags, and the preference pairs
    ``pair_s`` (P,) row into ``s``, ``pair_w`` / ``pair_l`` (P,) preferred / not items.
    """
    c, n_items = config, layout.n_items
    n, t_max = c.n_imagined_sessions, c.session_len
    users = llm.sample_users(n, rng)
    feats = llm.user_features(users)
    hist = np.full((n, layout.history_len), n_items, np.int64)
    fb = np.zeros((n, layout.history_len), np.float32)
    n_cand = min(c.n_candidates, n_items)
    alive = np.ones(n, bool)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "a", "top", "s2", "d")}
    pref_s, pref_w, pref_l = [], [], []
    n_rows = 0
    for t in range(t_max):
        live = np.flatnonzero(alive)
        if live.size == 0:
            break
        s = flat_obs(users, feats, hist, fb)
        if getattr(c, "candidate_pool", "retrieval") == "safe" and quit_rule is not None:
            cand = safe_candidates(quit_rule.quits(s), n_cand, rng)
        else:
            cand = candidates(hist, llm.catalogue.item_category, n_items, n_cand, rng)
        act = np.full(n, n_items, np.int64)
        best = np.full(n, n_items, np.int64)
        rating = np.zeros(n, np.float32)
        for j, i in enumerate(live):
            parsed = llm.ask(int(users[i]), hist[i], fb[i], cand[i], seed=c.seed * 1_000_003 + t)
            named = parsed.items
            best[i] = named[0]
            act[i] = cand[i, rng.integers(n_cand)] if rng.random() < c.explore else named[0]
            pos = np.flatnonzero(named == act[i])
            rating[i] = (5.0 if pos[0] < 2 else 4.0) if pos.size else 2.0
            losers = np.setdiff1d(cand[i], named)
            if losers.size and not parsed.fallback:
                k = min(c.pairs_per_turn, losers.size * named.size)
                pref_s.append(np.full(k, n_rows + j))
                pref_w.append(named[rng.integers(named.size, size=k)])
                pref_l.append(losers[rng.integers(losers.size, size=k)])
        ended = np.zeros(n, bool)
        if quit_rule is not None:
            ended[live] = quit_rule.quits(s[live])[np.arange(live.size), act[live]]
        cols["s"].append(s[live])
        cols["a"].append(act[live])
        cols["top"].append(best[live])
        cols["d"].append(ended[live].astype(np.float32))
        hist = np.concatenate([hist[:, 1:], act[:, None]], axis=1)
        fb = np.concatenate([fb[:, 1:], rating[:, None]], axis=1)
        cols["s2"].append(flat_obs(users, feats, hist, fb)[live])
        n_rows += live.size
        alive &= ~ended
    if not pref_s:
        raise AgentError("the language model never named a candidate item; every answer "
                         "fell back. Check the backend's answers (llm.stats)")
    out = {k: np.concatenate(v) for k, v in cols.items()}
    out.update(pair_s=np.concatenate(pref_s), pair_w=np.concatenate(pref_w),
               pair_l=np.concatenate(pref_l))
    return out
