"""The small protocol each environment family implements for the benchmark runner.

The runner (:func:`benchmarks.runner.run_cell`) calls a family's steps in a fixed order, so
that what an agent can reach is decided here and not by each family:

1. :meth:`Family.make_env` (once per cell: the same world serves logging, the deployment
   and the off-policy estimates) and :meth:`Family.behaviour_policy`, then
   :meth:`Family.log` twice (training and held-out data, independent seeds);
2. :meth:`Family.deployment` collects the deployed system's public parts; the agent is fit
   on the training log with it (:class:`recsim_envs.evaluation.AgentHandle`);
3. the online value comes from :func:`recsim_envs.evaluation.evaluate` on fresh users;
4. :meth:`Family.off_policy` estimates the same value from the held-out log with the
   public estimators of :mod:`recsim_envs.ope` (never for privileged skylines).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from recsim_envs.core.family import FamilyDescription
from recsim_envs.core.policies import BehaviourPolicy
from recsim_envs.data import LoggedDataset, collect
from recsim_envs.evaluation import AgentHandle, ContractError, Deployment
from recsim_envs.ope import OffPolicyEstimate


class CellError(RuntimeError):
    """A cell that cannot run: the message names the problem (the runner adds the cell)."""


class Family(ABC):
    """One environment family's steps; see the module docstring for the order."""

    description: ClassVar[FamilyDescription]
    """The family's description (name, scores, reference agents, what the logs count)."""

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def log_unit(self) -> str:
        """What ``data.n_train``/``n_heldout`` count: ``rounds`` or whole ``sessions``."""
        return self.description.log_unit

    # ------------------------------------------------------------------ environment
    def make_env(self, env_id: str, kwargs: dict[str, Any]) -> gym.Env:
        """``gymnasium.make(env_id, **kwargs)`` with errors that name the problem; ``env_id``
        may be ``module.path:ID`` (the module is imported first, see
        :func:`benchmarks.envs.resolve_env_id`)."""
        from benchmarks.envs import EnvIdError, resolve_env_id

        try:
            env_id = resolve_env_id(env_id)
        except EnvIdError as exc:
            raise CellError(str(exc)) from exc
        try:
            return gym.make(env_id, **kwargs)
        except ModuleNotFoundError as exc:
            raise CellError(
                f"environment {env_id!r} is registered but its module is not available "
                f"yet ({exc})"
            ) from exc
        except TypeError as exc:
            raise CellError(f"bad setting for environment {env_id!r}: {exc} (the runner "
                            "passes a per-seed world_seed unless the spec sets "
                            "vary_world = false)") from exc

    @abstractmethod
    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        """The logging policy named by ``settings["policy"]``, built for ``env``."""

    def log(
        self, env: gym.Env, policy: BehaviourPolicy, n: int, seed: int
    ) -> LoggedDataset:
        """``n`` logged rounds (or whole sessions, see :attr:`log_unit`)."""
        return collect(env, policy, n, seed)

    @abstractmethod
    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        """The deployed system's public parts that the logs came from."""

    # ------------------------------------------------------------------ estimates
    @abstractmethod
    def off_policy(
        self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
        deployment: Deployment, env: gym.Env, rng: np.random.Generator,
    ) -> dict[str, OffPolicyEstimate]:
        """Estimates of the agent's online value from ``heldout`` (reward models for
        DM/DR are fitted on ``train``). ``env`` is the cell's environment, used only for
        harness-side quantities (the sentence generator's samples)."""


# ---------------------------------------------------------------------- helpers


def check_behaviour_keys(settings: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    """Raise a :class:`CellError` naming behaviour settings a family does not know."""
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise CellError(f"unknown behaviour setting(s) {unknown}; allowed: {sorted(allowed)}")


def agent_actions(agent: Any, obs: np.ndarray, space: gym.Space, agent_name: str) -> np.ndarray:
    """:func:`recsim_envs.ope.targets.agent_actions` with its errors as :class:`CellError`."""
    from recsim_envs.ope.targets import agent_actions as checked

    try:
        return checked(agent, obs, space, agent_name)
    except ContractError as exc:
        raise CellError(str(exc)) from exc


class CheckedHandle(AgentHandle):
    """An :class:`AgentHandle` whose every batch of actions is checked against the action
    space (a clear error naming the agent instead of the environment's)."""

    def __init__(self, handle: AgentHandle, space: gym.Space) -> None:
        self.__dict__.update(handle.__dict__)
        self.space = space

    def act(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        if obs.ndim == 1:
            return agent_actions(self.agent, obs[None], self.space, self.name)[0]
        return agent_actions(self.agent, obs, self.space, self.name)
