"""Calibration of the sequential estimates through the runner's own path.

One fixed world, one behaviour policy, agents fitted once on one training log; then
``n_logs`` replicate held-out logs of the evaluation users (as
``benchmarks/families/sequential.py`` logs them), each estimated with
:func:`recsim_envs.ope.estimate_policy` exactly as the runner calls it. The truth is each
agent's mean session return over the evaluation users, computed exactly on the world
(``sessions_per_user`` sessions of every evaluation user: exact for deterministic agents,
a Monte Carlo mean for stochastic ones, whose standard error the table prints).

Coverage (OBP's and SCOPE-RL's test of an interval, docs/ope.md "Sequential estimates"): the
share of replicate logs whose interval holds the truth, with its 95% Wilson interval over
the logs. Run ``python -m benchmarks.perf.calibration_sessions --help`` (it builds the
agents: the library never imports them).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

ENV_ID = "recsim_envs/SequentialRec-v0"


@dataclass
class SessionCalibrationConfig:
    """Settings of one calibration run (defaults: the quick sequential suite's sizes).

    Attributes:
        env_kwargs: the world's settings.
        n_train: training sessions the agents fit on (training users).
        n_sessions: sessions per held-out log (evaluation users).
        n_logs: replicate held-out logs.
        sessions_per_user: sessions of every evaluation user for the true value.
        temperature: of the softmax behaviour policy.
        seed: seeds the behaviour policy, the training log, the agents and the logs.
        online_sessions, curve_points: the online budget of agents that learn online
            (the quick suite's ``online_steps`` and ``curve_points``): ``online_sessions``
            training sessions in ``curve_points`` epochs after ``fit``, as the runner's
            online phase.
    """

    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"n_users": 300,
                                                                "n_items": 200})
    n_train: int = 250
    n_sessions: int = 100
    n_logs: int = 50
    sessions_per_user: int = 200
    temperature: float = 0.5
    seed: int = 0
    online_sessions: int = 20
    curve_points: int = 2

    def __post_init__(self) -> None:
        for name in ("n_train", "n_sessions", "n_logs", "sessions_per_user",
                     "online_sessions", "curve_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.n_sessions < 4:
            raise ValueError(f"n_sessions must be >= 4 (two cross-fitting folds of whole "
                             f"sessions, each with >= 2), got {self.n_sessions}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def true_value(agent: Any, env: gym.Env, sessions_per_user: int, seed: int = 0
               ) -> tuple[float, float]:
    """(mean, standard error) of the agent's session return over every evaluation user,
    ``sessions_per_user`` sessions each, all side by side in the native vector env."""
    from recsim_envs.evaluation import AgentHandle
    from recsim_envs.sequential.observation import flatten_obs

    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    base = env.unwrapped
    users = np.repeat(base.world.test_users, sessions_per_user)
    venv = gym.make_vec(ENV_ID, num_envs=len(users), vectorization_mode="vector_entry_point",
                        **base.kwargs)
    try:
        obs, _ = venv.reset(seed=seed, options={"user_ids": users})
        returns, active = np.zeros(len(users)), np.ones(len(users), bool)
        while active.any():
            idx = np.flatnonzero(active)
            actions = np.zeros(len(users), np.int64)
            actions[idx] = np.asarray(handle.act(flatten_obs(obs)[idx])).reshape(-1)
            obs, reward, term, trunc, _ = venv.step(actions)
            returns[idx] += reward[idx]
            active &= ~(term | trunc)
    finally:
        venv.close()
    per_user = returns.reshape(-1, sessions_per_user).mean(axis=1)
    within = returns.reshape(-1, sessions_per_user).var(axis=1, ddof=1).mean() \
        if sessions_per_user > 1 else 0.0
    return float(per_user.mean()), float(np.sqrt(within / len(returns)))


def replicate_rows(config: SessionCalibrationConfig, env: gym.Env, policy: Any,
                   deployment: Any, handles: dict[str, Any], truth: dict[str, float],
                   logs: Iterable[int]) -> list[dict[str, Any]]:
    """One row per (log, agent, estimator): estimate, interval, status, label, covered."""
    from recsim_envs.ope import estimate_policy

    rows = []
    for k in logs:
        seed = 10_000 * (config.seed + 1) + k
        log = env.unwrapped.log_sessions(policy, config.n_sessions,
                                         rng=np.random.default_rng(seed), seed=seed,
                                         users="test")
        for name, handle in handles.items():
            ests = estimate_policy(log, handle, deployment, rng=np.random.default_rng(seed))
            for est_name, est in ests.items():
                shown = est.estimate is not None
                rows.append({
                    "log": k, "agent": name, "estimator": est_name, "truth": truth[name],
                    "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                    "status": est.status, "calibrated": est.calibrated, "ess": est.ess,
                    "covered": bool(shown and est.ci_low <= truth[name] <= est.ci_high),
                })
    return rows


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a proportion k / n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def coverage_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (agent, estimator): logs, shown, coverage of the shown intervals with its Wilson
    interval, mean error and relative error against the truth, mean width, labelled share."""
    out = []
    keys = sorted({(r["agent"], r["estimator"]) for r in rows})
    for agent, est in keys:
        sel = [r for r in rows if r["agent"] == agent and r["estimator"] == est]
        shown = [r for r in sel if r["estimate"] is not None]
        truth = sel[0]["truth"]
        k = sum(r["covered"] for r in shown)
        err = np.array([r["estimate"] - truth for r in shown]) if shown else np.array([])
        out.append({
            "agent": agent, "estimator": est, "truth": truth, "logs": len(sel),
            "shown": len(shown), "covered": k,
            "coverage": k / len(shown) if shown else float("nan"),
            "coverage_ci": wilson(k, len(shown)),
            "mean_error": float(err.mean()) if shown else float("nan"),
            "rel_error": float(err.mean() / truth) if shown and truth else float("nan"),
            "rmse": float(np.sqrt((err ** 2).mean())) if shown else float("nan"),
            "width": float(np.mean([r["ci_high"] - r["ci_low"] for r in shown]))
            if shown else float("nan"),
            "calibrated": sum(r["calibrated"] for r in shown),
            "low_ess": sum(r["status"] == "low_ess" for r in sel),
        })
    return out


def markdown(table: list[dict[str, Any]]) -> str:
    """The coverage table as markdown."""
    lines = ["| agent | truth | estimator | shown / logs | labelled calibrated | low ESS | "
             "coverage [95% Wilson] | mean error (rel.) | RMSE | mean width |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lo, hi = r["coverage_ci"]
        lines.append(
            f"| {r['agent']} | {r['truth']:.2f} | {r['estimator']} | {r['shown']}/{r['logs']} "
            f"| {r['calibrated']} | {r['low_ess']} | {r['coverage']:.2f} [{lo:.2f}, {hi:.2f}] "
            f"| {r['mean_error']:+.2f} ({100 * r['rel_error']:+.1f}%) | {r['rmse']:.2f} "
            f"| {r['width']:.2f} |")
    return "\n".join(lines)


def setup(config: SessionCalibrationConfig, agents: dict[str, Any]):
    """Build the world and logs, fit ``agents`` (name -> unfitted agent) once on the training
    log: (env, behaviour policy, deployment, fitted handles, truth, truth standard errors)."""
    from recsim_envs.evaluation import AgentHandle, Deployment
    from recsim_envs.sequential.behaviour import sequential_behaviour_policy

    env = gym.make(ENV_ID, **config.env_kwargs)
    base = env.unwrapped
    policy = sequential_behaviour_policy(env, config.temperature, seed=config.seed)
    deployment = Deployment(family="sequential", behaviour=policy,
                            text_user=functools.partial(base.make_llm_user, alignment=0.5))
    train = base.log_sessions(policy, config.n_train, rng=np.random.default_rng(config.seed),
                              seed=config.seed)
    handles, truth, truth_se = {}, {}, {}
    for name, agent in agents.items():
        handle = AgentHandle(agent, name=name)
        handle.fit(train, deployment)
        if handle.online or handle.episodic:
            # the runner's online phase (recsim_envs.sequential.harness.learn_online)
            from recsim_envs.evaluation.learning import run_sessions
            epochs = min(config.curve_points, config.online_sessions)
            run_sessions(handle, ENV_ID, dict(config.env_kwargs), n_epochs=epochs,
                         episodes_per_epoch=max(1, config.online_sessions // epochs),
                         seed=config.seed, n_eval=len(base.world.test_users), eval_seed=0)
        handles[name] = handle
        truth[name], truth_se[name] = true_value(handle, env, config.sessions_per_user)
    return env, policy, deployment, handles, truth, truth_se


def run(config: SessionCalibrationConfig, agents: dict[str, Any],
        out: str | None = None) -> list[dict[str, Any]]:
    """The whole calibration: prints the truth and the coverage table; returns the rows
    (and writes them, with the config and truth first, as JSON lines to ``out``)."""
    import json
    from pathlib import Path

    t0 = time.perf_counter()
    env, policy, deployment, handles, truth, se = setup(config, agents)
    print("truth (mean return over the evaluation users): "
          + ", ".join(f"{k} {v:.2f} (se {se[k]:.2f})" for k, v in truth.items()), flush=True)
    rows = replicate_rows(config, env, policy, deployment, handles, truth,
                          range(config.n_logs))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as fh:
            fh.write(json.dumps({"config": vars(config), "truth": truth, "truth_se": se})
                     + "\n")
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(markdown(coverage_table(rows)))
    print(f"{config.n_logs} logs of {config.n_sessions} sessions, "
          f"{time.perf_counter() - t0:.0f} s")
    return rows
