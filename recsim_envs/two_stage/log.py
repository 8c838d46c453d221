"""Logged data of a two-stage system: i.i.d. candidate sets and the exact shown-item pscore.

The logging protocol of Ma et al., "Off-policy Learning in Two-stage Recommender Systems"
(WWW 2020): per round a fresh user, k candidates drawn from the behaviour policy, the
ranker's slate and the user's clicks. The paper's own MovieLens protocol (draws without
replacement) is :func:`recsim_envs.two_stage.paper_env.log_paper_rounds`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from recsim_envs.core.policies import BehaviourPolicy, draw_actions
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.two_stage.ranker import shown_item_probability


def log_rounds(
    env: Any,
    policy: BehaviourPolicy,
    n_rounds: int,
    rng: np.random.Generator,
    seed: int | None = None,
    chunk_cells: int = 2_000_000,
) -> LoggedDataset:
    """Log ``n_rounds`` one-step rounds of ``policy`` with exact propensities.

    Per round: a fresh user; k candidates drawn i.i.d. from ``policy.probs`` (set
    semantics); the ranker's slate; clicks. ``action`` is the item shown first and
    ``pscore`` its exact probability (see
    :func:`recsim_envs.two_stage.ranker.shown_item_probability`);
    ``reward`` is its click. Extras: ``candidates`` (n, k) int32 and, for slates, ``shown``
    and ``clicks`` (n, s). Work proceeds in chunks of about ``chunk_cells`` user-item
    cells, so memory stays bounded for large catalogues.

    Args:
        env: a two-stage environment (single or vector; its world, ``respond`` and ids).
        policy: the behaviour policy, a per-draw distribution over the catalogue.
        n_rounds: rows to log.
        rng: draws, per chunk: the users' uniforms, the candidates, the click uniforms.
        seed: recorded in the metadata.
    """
    if policy.n_actions != env.n_items:
        raise ValueError(
            f"behaviour policy covers {policy.n_actions} actions; the catalogue has "
            f"{env.n_items} items"
        )
    if n_rounds < 1:
        raise ValueError(f"n_rounds must be >= 1, got {n_rounds}")
    chunk = max(1, chunk_cells // env.n_items)
    cols = _Columns(n_rounds)  # filled chunk by chunk: no lists to concatenate at the end
    k, users_sampler = env.n_candidates, env.world.users
    for start in range(0, n_rounds, chunk):
        m = min(chunk, n_rounds - start)
        users = users_sampler.from_uniforms(rng.random((m, users_sampler.n_uniforms)))
        candidates, probs = draw_actions(policy, users.features, k, rng)
        shown, click_p, clicks = env.respond(users, candidates, rng.random((m, env.slate_size)))
        first = shown[:, 0]
        pscore = shown_item_probability(
            probs, env.world.ranker.scores_all(users.features), first, k
        )
        cols.put(start, context=users.features, action=first, pscore=pscore,
                 reward=clicks[:, 0].astype(np.float32), expected_reward=click_p[:, 0],
                 candidates=candidates.astype(np.int32), shown=shown,
                 clicks=clicks.astype(np.int8))
    out = cols.arrays
    extras = {"candidates": out.pop("candidates")}
    shown_all, clicks_all = out.pop("shown"), out.pop("clicks")
    if env.slate_size > 1:
        extras["shown"] = shown_all
        extras["clicks"] = clicks_all
    meta = DatasetMeta(
        env_id=env.env_id(),
        env_kwargs=dataclasses.asdict(env.config),
        n_actions=env.n_items,
        policy_name=policy.name,
        policy_settings=policy.settings(),
        seed=seed,
        info={
            "family": env.family,
            "action": "item shown first by the ranker",
            "n_candidates": env.n_candidates,
            "slate_size": env.slate_size,
            "obs_dim": env.user_dim,
        },
    )
    return LoggedDataset(**out, meta=meta, extras=extras, system=env.system_arrays())


class _Columns:
    """The logged columns, allocated once at their full length (``n_rounds`` rows) with the
    dtype and row shape of the first chunk written: no per-chunk lists to concatenate."""

    def __init__(self, n_rounds: int) -> None:
        self.n_rounds = n_rounds
        self.arrays: dict[str, np.ndarray] = {}

    def put(self, at: int, **chunk: np.ndarray) -> None:
        """Write each named (m, ...) array at rows ``at : at + m``."""
        for name, rows in chunk.items():
            if name not in self.arrays:
                self.arrays[name] = np.empty((self.n_rounds, *rows.shape[1:]), rows.dtype)
            self.arrays[name][at:at + len(rows)] = rows
