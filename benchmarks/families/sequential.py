"""Multi-step recommendation sessions (the iALP setting, Wang et al., WSDM 2025) as a family.

Online value: the cumulative reward of one session per held-out user (the environment's
test users, the first ``n_eval`` of them), acting with ``agent.act`` and learning nothing.
Agents that learn online (``observe``, ``explore`` or ``learn_episodes``) first get
``evaluation.online_steps`` training episodes through
:func:`agents.online_harness.run_online`, which records the learning curve. Agents that
take a simulated user that speaks text (``fit(dataset, llm=...)``, iALP) get the stub made
by ``env.make_llm_user(alignment)``: it exposes the public catalogue only.

Off-policy estimates, from held-out logged sessions: per-decision importance sampling of
the session return (``ips``, Precup et al., ICML 2000) and its weighted version
(``snips``); the direct method and DR would need a fitted Q-function and are not reported.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import (
    CellError,
    Family,
    OnlineResult,
    agent_actions,
    agent_probs,
    check_behaviour_keys,
)
from recsim_envs.data import LoggedDataset
from recsim_envs.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.stats import Estimate, mean_ci

_BEHAVIOUR_KEYS = {"policy", "temperature", "llm_alignment"}


class SequentialFamily(Family):
    name = "sequential"
    value_name = "session return per held-out user"

    def __init__(self) -> None:
        self._llm_alignment = 0.5
        self._env: gym.Env | None = None

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        self._llm_alignment = float(settings.get("llm_alignment", 0.5))
        self._env = env
        base = env.unwrapped
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.world.n_items)
        if kind == "softmax":
            from recsim_envs.envs.sequential import sequential_behaviour_policy

            return sequential_behaviour_policy(env, float(settings.get("temperature", 0.5)),
                                               seed=seed % (2**31))
        raise CellError(f"unknown behaviour policy {kind!r} for the sequential family; use "
                        "'softmax' or 'uniform'")

    def fit(
        self, agent: Any, train: LoggedDataset, online_steps: int, curve_points: int,
        env_factory: Any, seed: int,
    ) -> list[dict[str, float]]:
        kwargs: dict[str, Any] = {}
        if "llm" in inspect.signature(agent.fit).parameters:
            kwargs["llm"] = self._env.unwrapped.make_llm_user(alignment=self._llm_alignment)
        agent.fit(train, **kwargs)
        learns = any(hasattr(agent, m) for m in ("observe", "explore", "learn_episodes"))
        if not online_steps or not learns:
            return []
        from agents.online_harness import OnlineConfig, run_online

        probe = env_factory()
        env_id, env_kwargs = probe.spec.id, dict(probe.spec.kwargs)
        probe.close()
        n_epochs = min(curve_points, online_steps)
        try:
            result = run_online(agent, OnlineConfig(
                env_id=env_id, env_kwargs=env_kwargs, n_epochs=n_epochs,
                episodes_per_epoch=max(1, online_steps // n_epochs), seed=seed % (2**31),
            ))
        except Exception as exc:
            raise CellError(f"agent {_label(agent)!r} raised during its online phase "
                            f"(agents.online_harness.run_online): {type(exc).__name__}: "
                            f"{exc}") from exc
        return [{"step": int(s), "value": float(v)}
                for s, v in zip(result.episodes, result.eval_return, strict=True)]

    def evaluate(
        self, agent: Any, env_id: str, kwargs: dict[str, Any], n_eval: int, seed: int
    ) -> OnlineResult:
        from agents.online_harness import evaluate, make_flat_env

        env = make_flat_env(env_id, **kwargs)
        users = env.unwrapped.world.test_users[:n_eval]
        returns, lengths = evaluate(_CheckedAgent(agent, env.action_space), env, users)
        env.close()
        return OnlineResult(
            value=mean_ci(returns),
            metrics={"length": float(lengths.mean()),
                     "reward_per_step": float(returns.sum() / max(lengths.sum(), 1)),
                     "n_users": float(len(users))},
        )

    def off_policy(
        self, agent: Any, train: LoggedDataset, heldout: LoggedDataset, env: gym.Env, seed: int
    ) -> dict[str, Estimate]:
        n_items = heldout.meta.n_actions
        ctx = heldout.context
        probs = agent_probs(agent, ctx, n_items, _label(agent))
        if probs is not None:
            target = probs[np.arange(len(ctx)), heldout.action]
        else:
            acts = agent_actions(agent, ctx, env.action_space, _label(agent))
            target = (acts == heldout.action).astype(np.float64)
        return per_decision_estimates(
            target / heldout.pscore, heldout.reward, heldout.extras["episode_id"],
            heldout.extras["step"],
            heldout.extras["terminated"].astype(bool) | heldout.extras["truncated"].astype(bool),
        )


def per_decision_estimates(
    weights: np.ndarray, reward: np.ndarray, episode: np.ndarray, step: np.ndarray,
    ended: np.ndarray,
) -> dict[str, Estimate]:
    """Per-decision IS (PDIS) and weighted PDIS of the session return (Precup et al., 2000).

    Args:
        weights: (n,) per-step ratios pi(a_t|s_t) / pi_0(a_t|s_t).
        reward: (n,) per-step rewards.
        episode, step: (n,) session id and turn of each row.
        ended: (n,) whether the session ended at the row (sessions cut by the end of the
            log are dropped: their return is unknown).

    Returns:
        ``{"ips": PDIS, "snips": weighted PDIS}``; PDIS = mean_e sum_t rho_{e,t} r_{e,t},
        rho_{e,t} = prod_{t' <= t} w_{e,t'}; the weighted version divides each turn's terms
        by the mean of rho_{e,t} over sessions (finished sessions keep their last rho and
        add no reward).
    """
    complete = np.unique(episode[ended])
    keep = np.isin(episode, complete)
    if not keep.any():
        raise CellError("no complete session in the held-out logs; log more rounds")
    ep_idx = np.searchsorted(complete, episode[keep])
    t = step[keep].astype(np.int64)
    n_ep, horizon = len(complete), int(t.max()) + 1
    w = np.ones((n_ep, horizon))
    r = np.zeros((n_ep, horizon))
    w[ep_idx, t] = weights[keep]
    r[ep_idx, t] = reward[keep]
    rho = np.cumprod(w, axis=1)
    pdis_terms = (rho * r).sum(axis=1)
    mean_rho = rho.mean(axis=0)
    safe = np.where(mean_rho > 0, mean_rho, 1.0)
    wpdis_terms = (rho * r / safe).sum(axis=1)
    return {"ips": mean_ci(pdis_terms), "snips": mean_ci(wpdis_terms)}


class _CheckedAgent:
    """Checks the agent's batched actions against the action space before stepping."""

    def __init__(self, agent: Any, space: gym.Space) -> None:
        self._agent, self._space = agent, space

    def act(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        if obs.ndim == 1:
            return agent_actions(self._agent, obs[None], self._space, _label(self._agent))[0]
        return agent_actions(self._agent, obs, self._space, _label(self._agent))


def _label(agent: Any) -> str:
    return getattr(agent, "name", type(agent).__name__)
