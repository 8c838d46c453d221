"""The one object per family that the evaluation and the benchmark runner call.

Each family package exports a :class:`FamilyHarness` in its ``harness`` module, named by
its description's ``harness`` field (``"module:NAME"``); :func:`get_harness` loads it. It
holds everything family-specific about running an agent against the family's
environments, so that :func:`recsim_envs.evaluation.evaluate` and the runner hold no family
name:

- the world: :meth:`~FamilyHarness.build_world` builds it once from the settings (its
  ``world_seed`` included), :meth:`~FamilyHarness.make_env` and
  :meth:`~FamilyHarness.make_vec` make environments over it (``built_world=``, see
  :mod:`recsim_envs.core.built_world`);
- the logs: the behaviour policy named by the settings, logging (rounds or whole
  sessions), the deployed system's public parts (:class:`Deployment`);
- the online measurement: per-user values and metrics of an agent
  (:meth:`~FamilyHarness.measure`) and the papers' scores from them
  (:meth:`~FamilyHarness.scores`);
- the online learning phase (:meth:`~FamilyHarness.learn_online`);
- the off-policy estimates, through :func:`recsim_envs.ope.estimate_policy` (which reads
  the description's ``off_policy`` inputs).

A new family implements one subclass and names it in its description; nothing shared is
edited (``tests/toy_family`` registers one from a test folder).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from recsim_envs.core.family import FamilyDescription
from recsim_envs.core.policies import BehaviourPolicy
from recsim_envs.core.stats import Estimate
from recsim_envs.data import LoggedDataset, collect
from recsim_envs.evaluation.contract import AgentHandle, Deployment


class HarnessError(ValueError):
    """Settings a harness step cannot use (the message names the problem and the fix)."""


class FamilyHarness(ABC):
    """One family's world, logs, online measurement, online learning and estimates."""

    description: ClassVar[FamilyDescription]
    behaviour_keys: ClassVar[frozenset[str]] = frozenset({"policy"})
    """The behaviour settings the family knows (others are refused by name)."""
    view_class: ClassVar[Any] = None
    """The family's typed view of its logs (a :class:`~recsim_envs.data.views.FamilyView`
    subclass, its ``view`` module), or None."""

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def log_unit(self) -> str:
        """What ``n`` of :meth:`log` counts: ``rounds`` or whole ``sessions``."""
        return self.description.log_unit

    # ------------------------------------------------------------------ world
    def build_world(self, env_id: str, env_kwargs: dict[str, Any]) -> Any:
        """The world of ``env_id`` with ``env_kwargs``, built once (``build_world`` of the
        environment class); None for an environment class that cannot share its world
        (each environment then builds its own)."""
        builder = getattr(env_class(env_id), "build_world", None)
        if builder is None:
            return None
        # the id's registered defaults first, as gymnasium.make merges them
        return builder(**{**(gym.spec(env_id).kwargs or {}), **env_kwargs})

    def make_env(self, env_id: str, env_kwargs: dict[str, Any], world: Any = None) -> gym.Env:
        """``gymnasium.make(env_id, **env_kwargs)`` over ``world`` (None: build one)."""
        return gym.make(env_id, **with_world(env_kwargs, world))

    def make_vec(self, env_id: str, num_envs: int, env_kwargs: dict[str, Any],
                 world: Any = None) -> gym.vector.VectorEnv:
        """The native vector environment of ``env_id`` over ``world``."""
        return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                            **with_world(env_kwargs, world))

    def data_provenance(self, env: gym.Env) -> dict[str, Any] | None:
        """Where a data-backed world's files came from (None for drawn worlds)."""
        return None

    def agent_env(self, env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
        """One environment as an agent that learns online sees it (what the harness's
        environment factory hands to episode learners); ``env_kwargs`` may hold
        ``built_world``."""
        return gym.make(env_id, **env_kwargs)

    # ------------------------------------------------------------------ logs
    def check_behaviour_keys(self, settings: dict[str, Any]) -> None:
        unknown = sorted(set(settings) - set(self.behaviour_keys))
        if unknown:
            raise HarnessError(f"unknown behaviour setting(s) {unknown}; allowed: "
                               f"{sorted(self.behaviour_keys)}")

    @abstractmethod
    def behaviour_policy(self, env: gym.Env, settings: dict[str, Any],
                         seed: int) -> BehaviourPolicy:
        """The logging policy named by ``settings["policy"]``, built for ``env``."""

    def log(self, env: gym.Env, policy: BehaviourPolicy, n: int, seed: int) -> LoggedDataset:
        """``n`` logged rounds (or whole sessions, see :attr:`log_unit`)."""
        return collect(env, policy, n, seed)

    def view(self, dataset: LoggedDataset) -> Any:
        """The family's typed view of ``dataset`` (validated: named columns in place of raw
        ``extras``/``system`` keys)."""
        if self.view_class is None:
            raise HarnessError(f"the {self.name!r} family declares no typed view of its logs")
        return self.view_class.of(dataset)

    def interactions(self, dataset: LoggedDataset
                     ) -> tuple[np.ndarray, np.ndarray | None, str, np.ndarray]:
        """The logs as user-item interactions (:func:`recsim_envs.worlds.from_logged_dataset`).

        Returns ``user`` (n,) int64 indices, the users' features (n_users, d) or None,
        the label rule and the labels (n,) bool. One-step logs identify a user by their
        context row (identical contexts are one user, whose features it is); a click is a
        reward > 0.
        """
        ids, user = np.unique(dataset.context, axis=0, return_inverse=True)
        return (user.ravel(), np.clip(ids, -5, 5).astype(np.float32), "reward > 0",
                np.asarray(dataset.reward) > 0)

    @abstractmethod
    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        """The deployed system's public parts that the logs came from."""

    # ------------------------------------------------------------------ online value
    def eval_envs(self, n_users: int, batch_size: int) -> int:
        """Sub-environments of the evaluation's vector environment: all users at once for
        sessions, batches of ``batch_size`` for one-step users."""
        return n_users if self.description.eval_unit == "sessions" else min(batch_size,
                                                                            n_users)

    @abstractmethod
    def measure(self, handle: AgentHandle, venv: gym.vector.VectorEnv, n_users: int,
                seed: int, **options: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Run ``handle`` for ``n_users`` users (sessions) reset with ``seed``.

        Returns per-user arrays ``{metric: (n_users,)}`` (the description's ``value_key``
        among them; NaN where a metric does not apply to a user) and what the measurement
        chose (e.g. a threshold), for :class:`~recsim_envs.evaluation.EvalResult`.
        """

    def scores(self, metrics: dict[str, Estimate]) -> dict[str, float]:
        """The papers' scores (plain numbers) from the metrics' means."""
        return {("reward" if k == "expected_reward" else k): v.mean for k, v in metrics.items()
                if k != "reward"}

    # ------------------------------------------------------------------ online learning
    def learn_online(self, handle: AgentHandle, env_id: str, env_kwargs: dict[str, Any],
                     world: Any, *, steps: int, curve_points: int, n_eval: int, seed: int,
                     eval_seed: int) -> list[dict[str, float]]:
        """The agent's online budget of ``steps`` batched steps of the native vector env
        (one-step families; no learning curve). Sequential families override this."""
        from recsim_envs.evaluation.learning import run_bandit

        batch = int(getattr(getattr(handle.agent, "config", None), "batch_size", 32))
        run_bandit(handle, env_id, with_world(env_kwargs, world), n_steps=steps,
                   batch_size=batch, seed=seed)
        return []

    # ------------------------------------------------------------------ off-policy
    def off_policy(self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
                   deployment: Deployment, env: gym.Env,
                   rng: np.random.Generator) -> dict[str, Any]:
        """Estimates of the agent's online value from ``heldout`` (reward models fit on
        ``train``): :func:`recsim_envs.ope.estimate_policy`."""
        from recsim_envs.ope import estimate_policy

        return estimate_policy(heldout, agent, deployment, rng=rng, train=train, env=env)


def with_world(env_kwargs: dict[str, Any], world: Any) -> dict[str, Any]:
    """``env_kwargs`` with ``built_world=world`` (unchanged where ``world`` is None)."""
    kwargs = dict(env_kwargs)
    if world is not None:
        kwargs["built_world"] = world
    return kwargs


def env_class(env_id: str) -> type:
    """The class of ``env_id``'s single environment (its registered entry point)."""
    entry = gym.spec(env_id).entry_point
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = getattr(importlib.import_module(module), name)
    return entry


def get_harness(family: str) -> FamilyHarness:
    """The harness of family ``family`` (its description's ``harness``, ``module:NAME``)."""
    from recsim_envs.families import get_family_description

    target = get_family_description(family).harness
    if not target:
        raise HarnessError(f"family {family!r} names no harness in its description")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def harness_of_env(env_id: str) -> FamilyHarness:
    """The harness of the family ``env_id``'s class declares (``family``; a user's own
    environment declares it too, see docs/benchmarks.md)."""
    family = getattr(env_class(env_id), "family", None)
    if not family:
        raise HarnessError(f"environment {env_id!r} declares no family: set the class "
                           "attribute family = 'two_stage', 'prompt' or 'sequential'")
    return get_harness(str(family))
