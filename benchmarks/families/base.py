"""What the benchmark tool adds around a family's harness: cell errors and checked actions.

The runner (:func:`benchmarks.runner.run_cell`) calls the family's
:class:`~recsim_envs.evaluation.harness.FamilyHarness` in a fixed order: build the world
once, make the cell's environment over it, the behaviour policy, two logs (training and
held-out, independent seeds), the deployment; fit the agent on the training log; its online
phase; :func:`recsim_envs.evaluation.evaluate`; the off-policy estimates from the held-out
log (never for privileged skylines).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.evaluation import AgentHandle, ContractError


class CellError(RuntimeError):
    """A cell that cannot run: the message names the problem (the runner adds the cell)."""


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
