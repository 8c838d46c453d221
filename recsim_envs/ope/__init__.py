"""Off-policy evaluation on logged data: one-step and session estimators, and FQE.

Usable on any logs (numpy arrays); nothing here depends on the benchmark runner. Every
estimator returns an :class:`OffPolicyEstimate` with a bootstrap interval (labelled
``calibrated`` where it is a 95% interval over logs) and a support status of
:mod:`recsim_envs.ope.estimate`; :func:`estimate_policy` estimates a fitted agent on a logged
dataset of any family. ``recsim_envs.ope.fqe`` (torch) is imported
on first use, so importing this package stays light.
"""

from __future__ import annotations

from typing import Any

from recsim_envs.ope.bandit import (
    bandit_estimates,
    dm,
    dr,
    effective_sample_size,
    importance_weights,
    ips,
    kernel_is,
    snips,
)
from recsim_envs.ope.crossfit import cross_fit
from recsim_envs.ope.estimate import (
    MIN_ESS,
    OffPolicyEstimate,
    expected_ess,
    support_masses,
    support_status,
)
from recsim_envs.ope.sessions import (
    SessionLog,
    epsilon_soften,
    pdis,
    sequential_dm,
    sequential_dr,
    wpdis,
)

_FQE_NAMES = ("FQEConfig", "FittedQEvaluation", "LinearQ", "MLPQ")
_LAZY = {"estimate_policy": "recsim_envs.ope.policy_value"}

__all__ = [
    "MIN_ESS",
    "OffPolicyEstimate",
    "SessionLog",
    "bandit_estimates",
    "cross_fit",
    "dm",
    "dr",
    "effective_sample_size",
    "epsilon_soften",
    "estimate_policy",
    "expected_ess",
    "importance_weights",
    "ips",
    "kernel_is",
    "pdis",
    "sequential_dm",
    "sequential_dr",
    "snips",
    "support_masses",
    "support_status",
    "wpdis",
    *_FQE_NAMES,
]


def __getattr__(name: str) -> Any:
    # torch is heavy: load the FQE module only when one of its names is asked for.
    if name in _FQE_NAMES:
        from recsim_envs.ope import fqe

        return getattr(fqe, name)
    if name in _LAZY:  # imports the agent contract (recsim_envs.evaluation), which imports us
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recsim_envs.ope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
