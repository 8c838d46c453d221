"""Multi-step recommendation sessions (the iALP setting, Wang et al., WSDM 2025) as a family.

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

import functools
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import (
    CellError,
    Family,
    check_behaviour_keys,
    target_distribution,
)
from recsim_envs.core.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset, collect_sessions
from recsim_envs.data.views import SessionView
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope import OffPolicyEstimate, SessionLog, epsilon_soften, pdis, wpdis
from recsim_envs.ope.sessions import sequential_dm, sequential_dr
from recsim_envs.sequential.family import FAMILY

_BEHAVIOUR_KEYS = {"policy", "temperature", "llm_alignment"}
SOFTEN_EPSILON = 0.1
"""Share of uniform choice mixed into a deterministic agent for importance sampling."""
FQE_ITERATIONS = 30
"""Bellman backups of FQE: the sessions' 30-turn limit (exact for a finite horizon)."""


class SequentialFamily(Family):
    description = FAMILY

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.world.n_items)
        if kind == "softmax":
            from recsim_envs.sequential.behaviour import sequential_behaviour_policy

            return sequential_behaviour_policy(env, float(settings.get("temperature", 0.5)),
                                               seed=seed % (2**31))
        raise CellError(f"unknown behaviour policy {kind!r} for the sequential family; use "
                        "'softmax' or 'uniform'")

    def log(self, env: gym.Env, policy: BehaviourPolicy, n: int, seed: int) -> LoggedDataset:
        return collect_sessions(env, policy, n, seed)

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        alignment = float(settings.get("llm_alignment", 0.5))
        return Deployment(family=self.name, behaviour=policy,
                          text_user=functools.partial(env.unwrapped.make_llm_user,
                                                      alignment=alignment))

    def off_policy(
        self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
        deployment: Deployment, env: gym.Env, rng: np.random.Generator,
    ) -> dict[str, OffPolicyEstimate]:
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
