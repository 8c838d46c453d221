"""Logging rollouts of a behaviour policy in ``SequentialRec-v0``, many sessions side by side.

:meth:`~recsim_envs.sequential.envs.SequentialRecEnv.log_sessions` and
:meth:`~recsim_envs.sequential.envs.SequentialRecEnv.log_rounds` run these and turn the
columns into a :class:`~recsim_envs.data.dataset.LoggedDataset`. Both loop over turns only:
``B`` sessions advance together through :class:`~recsim_envs.sequential.dynamics.SessionDynamics`,
and a session that ends is replaced by a new user drawn from ``rng`` out of ``users`` (the
world's training users unless told otherwise: see :func:`population`).

Every function returns the columns ``(context, action, pscore, reward, episode_id, step,
next_context, terminated, truncated)``: (n, dim), (n,), (n,), (n,), (n,), (n,), (n, dim),
(n,), (n,), rows interleaved by turn.
"""

from __future__ import annotations

import numpy as np

from recsim_envs.core.policies import BehaviourPolicy, sample_categorical
from recsim_envs.sequential.dynamics import SessionDynamics


def _logged_turn(dyn: SessionDynamics, policy: BehaviourPolicy, rng: np.random.Generator,
                 users: np.ndarray, hist: np.ndarray, fb: np.ndarray, t: np.ndarray,
                 ep: np.ndarray) -> tuple[np.ndarray, ...]:
    """One turn of B sessions under ``policy`` (in place on hist, fb, t): the B rows
    ``(context, action, pscore, reward, episode_id, step, next_context, terminated,
    truncated)``; ``pscore`` is the policy's exact probability of the drawn item."""
    ctx = dyn.flat_obs(users, hist, fb)
    probs = policy.probs(ctx)
    a = sample_categorical(probs, 1, rng)[:, 0]
    ps = probs[np.arange(len(users)), a]
    step = t.copy()
    _, rew, term, trunc = dyn.step(users, hist, fb, t, a)
    nxt = dyn.flat_obs(users, hist, fb)
    return ctx, a, ps, rew, ep.copy(), step, nxt, term, trunc


POPULATIONS = ("train", "test")
"""Who a log's sessions come from: the world's training users (what agents fit on) or its
held-out evaluation users (whose sessions the online value averages over)."""


def population(dyn: SessionDynamics, users: str) -> np.ndarray:
    """(n,) int64 user ids of the population ``users`` ("train" or "test")."""
    if users not in POPULATIONS:
        raise ValueError(f"users must be one of {POPULATIONS}, got {users!r}: 'train' logs the "
                         "users agents fit on, 'test' the evaluation users of the online value")
    return dyn.world.train_users if users == "train" else dyn.world.test_users


def roll_sessions(dyn: SessionDynamics, policy: BehaviourPolicy, n_sessions: int,
                  rng: np.random.Generator, n_parallel: int,
                  users: str = "train") -> list[np.ndarray]:
    """Columns of ``n_sessions`` complete sessions, ``min(n_sessions, n_parallel)`` at a time.

    A finished slot starts a new user of the population ``users`` (:func:`population`,
    drawn uniformly with replacement) until ``n_sessions`` have started, then stops; rows
    of stopped slots are not recorded.
    """
    pool = population(dyn, users)
    b = min(int(n_sessions), n_parallel)
    users = pool[rng.integers(len(pool), size=b)]
    hist, fb = dyn.empty_history(b)
    t = np.zeros(b, np.int64)
    ep = np.arange(b, dtype=np.int64)
    live = np.ones(b, dtype=bool)
    started = b
    chunks: list[tuple] = []
    while live.any():
        row = _logged_turn(dyn, policy, rng, users, hist, fb, t, ep)
        keep = live.copy()
        chunks.append(tuple(x[keep] for x in row))
        term, trunc = row[-2], row[-1]
        ended = np.flatnonzero((term | trunc) & live)
        if ended.size:
            n_new = min(ended.size, int(n_sessions) - started)
            restart, stop = ended[:n_new], ended[n_new:]
            live[stop] = False
            users[restart] = pool[rng.integers(len(pool), size=restart.size)]
            dyn.clear(hist, fb, t, ended)
            ep[restart] = started + np.arange(restart.size)
            started += restart.size
    return [np.concatenate(c) for c in zip(*chunks, strict=True)]


def roll_rounds(dyn: SessionDynamics, policy: BehaviourPolicy, n_rounds: int,
                rng: np.random.Generator, n_parallel: int) -> list[np.ndarray]:
    """Columns of exactly ``n_rounds`` transitions, ``min(n_rounds, n_parallel)`` sessions
    at a time; sessions still running at the end are cut."""
    train = dyn.world.train_users
    b = min(n_rounds, n_parallel)
    users = train[rng.integers(len(train), size=b)]
    hist, fb = dyn.empty_history(b)
    t = np.zeros(b, np.int64)
    ep = np.arange(b, dtype=np.int64)
    next_ep = b
    chunks: list[tuple] = []
    done_rows = 0
    while done_rows < n_rounds:
        row = _logged_turn(dyn, policy, rng, users, hist, fb, t, ep)
        chunks.append(row)
        done_rows += b
        term, trunc = row[-2], row[-1]
        ended = np.flatnonzero(term | trunc)
        if ended.size:
            users[ended] = train[rng.integers(len(train), size=ended.size)]
            dyn.clear(hist, fb, t, ended)
            ep[ended] = next_ep + np.arange(ended.size)
            next_ep += ended.size
    return [np.concatenate(c)[:n_rounds] for c in zip(*chunks, strict=True)]
