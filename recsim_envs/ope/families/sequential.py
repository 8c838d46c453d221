"""Off-policy estimates for multi-step sessions (the iALP setting, Wang et al., WSDM 2025).

Logged data are whole sessions (``data.n_train`` / ``n_heldout`` count sessions): session
estimators need every session complete. The online value is the return of one session per
evaluation user, drawn from the world's held-out users. Agents that learn online get their
budget first (:func:`recsim_envs.evaluation.learning.run_online`). The deployment holds the
behaviour policy and the simulated text user (iALP's language-model stub sees the public
catalogue only).

Off-policy estimates from the held-out sessions (SCOPE-RL's names): per-decision IS
(``pdis``, Precup et al., ICML 2000) and its weighted form (``wpdis``), the direct method on
fitted-Q evaluation (``dm``, Le et al., ICML 2019) and per-decision doubly robust (``dr``,
Jiang and Li, ICML 2016). Deterministic agents almost never repeat the logged actions
over a session, so their IS estimates are of the epsilon-softened agent
(:data:`SOFTEN_EPSILON`; the note of each estimate says so); DM and DR estimate the
agent itself.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.data.views import SessionView
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope.estimate import OffPolicyEstimate
from recsim_envs.ope.sessions import (
    SessionLog,
    epsilon_soften,
    pdis,
    sequential_dm,
    sequential_dr,
    wpdis,
)
from recsim_envs.ope.targets import target_distribution

SOFTEN_EPSILON = 0.1
"""Share of uniform choice mixed into a deterministic agent for importance sampling."""
FQE_ITERATIONS = 30
"""Bellman backups of FQE: the sessions' 30-turn limit (exact for a finite horizon)."""


def estimate(
    agent: AgentHandle, heldout: LoggedDataset, deployment: Deployment,
    rng: np.random.Generator, *, train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Estimates of the agent's session return from the complete sessions of ``heldout``."""
    from recsim_envs.ope.fqe import MLPQ, FittedQEvaluation, FQEConfig

    view = SessionView.of(heldout)
    view.require_complete()
    n_items = heldout.meta.n_actions
    space = gym.spaces.Discrete(n_items)
    ctx, rows = heldout.context, np.arange(len(heldout))
    target = target_distribution(agent, ctx, n_items, space)
    nxt = target_distribution(agent, view.next_context, n_items, space)
    deterministic = agent.distribution(ctx[:1], n_items) is None
    is_target = epsilon_soften(target, SOFTEN_EPSILON) if deterministic else target

    def log_of(probs: np.ndarray) -> SessionLog:
        return SessionLog.from_rows(view.episode_id, view.step, heldout.reward,
                                    heldout.pscore, probs[rows, heldout.action])

    is_log = log_of(is_target)
    out = {"pdis": pdis(is_log, rng=rng), "wpdis": wpdis(is_log, rng=rng)}
    if deterministic:
        note = (f"of the epsilon-softened agent (epsilon = {SOFTEN_EPSILON}): the "
                "deterministic agent itself has no support in the logs")
        out = {k: _with_note(v, note) for k, v in out.items()}
    fqe = FittedQEvaluation(
        MLPQ(n_items, hidden=64, epochs=2, seed=int(rng.integers(2**31))),
        FQEConfig(n_iterations=FQE_ITERATIONS),
    ).fit(ctx, heldout.action, heldout.reward, view.next_context, view.ended, nxt)
    q = fqe.q_values(ctx)
    log = log_of(target)
    v = (target * q).sum(axis=1)
    start = view.step == 0
    order = np.argsort(view.episode_id[start], kind="stable")
    out["dm"] = sequential_dm(v[start][order], rng=rng, log=log)
    out["dr"] = sequential_dr(log, log.to_padded(q[rows, heldout.action]),
                              log.to_padded(v), rng=rng)
    return out


def _with_note(est: OffPolicyEstimate, note: str) -> OffPolicyEstimate:
    import dataclasses

    return dataclasses.replace(est, note="; ".join(x for x in (est.note, note) if x))
