"""The prompt family's reference policies: uniform prompts and the replayed behaviour policy.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5: the uniform policy is the zero of the optimality metric
and the logging policy pi_0 the reference row of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import AgentError, as_batch
from agents.prompt.base import PromptAgent
from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset


@dataclass
class ReferenceConfig:
    """Settings of the reference policies: only the seed of :meth:`act`'s draws."""

    seed: int = 0


class UniformPrompt(PromptAgent):
    """Every prompt with probability 1 / n_prompts (the zero of the optimality metric)."""

    name = "uniform"
    Config = ReferenceConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None,
            **kwargs: Any) -> UniformPrompt:
        self._read_sizes(dataset)
        self.fitted = True
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        arr, _ = as_batch(obs, self.obs_dim)
        return np.full((len(arr), self.n_prompts), 1.0 / self.n_prompts)

    def act(self, obs: np.ndarray):
        self._require_fitted()
        arr, single = as_batch(obs, self.obs_dim)
        actions = self._act_rng.integers(0, self.n_prompts, size=len(arr))
        return int(actions[0]) if single else actions

    def state_dict(self) -> dict[str, Any]:
        return {"obs_dim": self.obs_dim, "n_prompts": self.n_prompts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.obs_dim = int(state.get("obs_dim", 0))
        self.n_prompts = int(state.get("n_prompts", 0))


class PromptLogging(UniformPrompt):
    """The behaviour policy pi_0 that logged the data, replayed (reference row of the tables).

    The behaviour policy belongs to the deployed system, so the harness hands it over:
    ``fit(dataset, behaviour=policy)`` with a :class:`recsim_envs.core.policies.BehaviourPolicy`.
    It is not saved with :meth:`save` (only its name is known from the dataset).
    """

    name = "prompt_logging"

    def fit(self, dataset: LoggedDataset, deployment: Any = None, behaviour: Any = None,
            **kwargs: Any) -> PromptLogging:
        super().fit(dataset)
        behaviour = behaviour if behaviour is not None else getattr(deployment, "behaviour",
                                                                    None)
        if behaviour is None:
            raise AgentError(
                "prompt_logging replays the behaviour policy: pass fit(dataset, "
                f"behaviour=policy) with the policy that logged the data "
                f"({dataset.meta.policy_name!r})"
            )
        if behaviour.n_actions != self.n_prompts:
            raise AgentError(
                f"the behaviour policy has {behaviour.n_actions} actions; the data has "
                f"{self.n_prompts} prompts"
            )
        self.behaviour = behaviour
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        if getattr(self, "behaviour", None) is None:
            raise AgentError(
                "prompt_logging has no behaviour policy (a loaded checkpoint does not carry "
                "it): call fit(dataset, behaviour=policy)"
            )
        arr, _ = as_batch(obs, self.obs_dim)
        # The behaviour policy scores every prompt with an MLP: evaluate each distinct
        # observation once (the harness's sampling check repeats a few rows 50,000 times).
        uniq, inverse = np.unique(arr, axis=0, return_inverse=True)
        if len(uniq) == len(arr):
            return np.asarray(self.behaviour.probs(arr), dtype=np.float64)
        return np.asarray(self.behaviour.probs(uniq), dtype=np.float64)[inverse.reshape(-1)]

    def act(self, obs: np.ndarray):
        self._require_fitted()
        arr, single = as_batch(obs, self.obs_dim)
        actions = sample_categorical(self.action_probs(arr), 1, self._act_rng)[:, 0]
        return int(actions[0]) if single else actions


__all__ = ["PromptLogging", "ReferenceConfig", "UniformPrompt"]
