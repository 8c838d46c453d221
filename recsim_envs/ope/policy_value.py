"""Estimate a fitted agent's online value from a logged dataset of any family.

:func:`estimate_policy` is the one entry point: the benchmark runner calls it for every
cell, and a user calls it on their own logs without the benchmark tool. The family is read
from the dataset (``meta.info["family"]``); the family's description names the module that
turns the agent and the log into estimator inputs (:mod:`recsim_envs.ope.families`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.evaluation.contract import AgentHandle, Deployment
from recsim_envs.ope.estimate import OffPolicyEstimate


def estimate_policy(
    dataset: LoggedDataset, agent: Any, deployment: Deployment | None = None,
    estimators: Sequence[str] | None = None, *, rng: np.random.Generator | int = 0,
    train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Off-policy estimates of ``agent``'s value from the logged ``dataset``.

    Args:
        dataset: held-out logs of one family (as written by :func:`recsim_envs.data.collect`
            or loaded from disk); its ``meta.info["family"]`` picks the family's inputs.
        agent: a fitted agent (or an :class:`~recsim_envs.evaluation.AgentHandle`); it is
            estimated as the policy it deploys (its declared distribution, or ``act``).
        deployment: the deployed system's public parts the logs came from (ranker,
            generator, behaviour policy), where the family needs them.
        estimators: names to keep (e.g. ``["ips", "dr"]``); None keeps every estimator.
        rng: the generator (or seed) of every resample and Monte Carlo draw.
        train: a second log, where a family fits a model on it.
        env: the environment, where a family samples from it.

    Returns:
        ``{estimator name: OffPolicyEstimate}`` (value, interval, ESS, support).
    """
    from recsim_envs.families import FAMILIES

    family = dataset.meta.info.get("family")
    desc = FAMILIES.get(family)
    if desc is None or not desc.off_policy:
        known = sorted(name for name, d in FAMILIES.items() if d.off_policy)
        raise ValueError(f"no off-policy estimates for logs of family {family!r} "
                         f"(meta.info['family']); families with estimates: {known}")
    handle = agent if isinstance(agent, AgentHandle) else AgentHandle(agent)
    if handle.privileged:
        raise ValueError(f"agent {handle.name!r} reads the live environment (offline = "
                         "False): it has no policy to estimate from logs")
    if deployment is None:
        deployment = Deployment(family=family)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    module_name, _, func_name = desc.off_policy.partition(":")
    compute = getattr(importlib.import_module(module_name), func_name)
    out = compute(handle, dataset, deployment, rng, train=train, env=env)
    if estimators is None:
        return out
    unknown = sorted(set(estimators) - set(out))
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown} for {family!r} logs; this log "
                         f"gives {sorted(out)}")
    return {name: out[name] for name in estimators}
