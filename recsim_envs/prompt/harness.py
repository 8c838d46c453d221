"""The prompt family's harness (Kiyohara et al., "Prompt Optimization with Logged Bandit
Data", RecSys 2025): what the evaluation and the benchmark runner do in this family.

The agent picks one prompt per context [x, q]; the frozen generator writes a sentence; the
user's reward depends on x, q and the sentence. The online value is the exact expected
reward E[r | x, q, a] of the chosen prompt per context (for stochastic agents
sum_a pi(a|x) E[r | x, q, a]); ``optimality`` = (V - V_uniform) / (V_best - V_uniform) on
the same contexts is the paper's score. The deployment holds the generator (DSO samples
fresh sentences with it) and the behaviour policy; the user's reward model stays with the
harness. Off-policy estimates: :mod:`recsim_envs.ope.families.prompt`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.core.stats import Estimate
from recsim_envs.evaluation.contract import AgentHandle, Deployment
from recsim_envs.evaluation.harness import FamilyHarness, HarnessError
from recsim_envs.prompt.family import FAMILY
from recsim_envs.prompt.view import PromptView


class PromptHarness(FamilyHarness):
    description = FAMILY
    behaviour_keys = frozenset({"policy", "beta", "n_rounds", "regressor_steps"})
    view_class = PromptView

    def behaviour_policy(self, env: gym.Env, settings: dict[str, Any],
                         seed: int) -> BehaviourPolicy:
        """``uniform``, or ``reference``: softmax over a reward regressor fit on uniform
        rounds (built once per cell: the runner asks once and logs both data sets)."""
        self.check_behaviour_keys(settings)
        base = env.unwrapped
        kind = settings.get("policy", "reference")
        if kind == "uniform":
            return UniformPolicy(base.n_prompts)
        if kind == "reference":
            from recsim_envs.prompt.behaviour import reference_behaviour_policy

            return reference_behaviour_policy(
                base, seed=seed, n_rounds=int(settings.get("n_rounds", 10_000)),
                beta=float(settings.get("beta", 1.0)),
                regressor_steps=int(settings.get("regressor_steps", 3000)),
            )
        raise HarnessError(f"unknown behaviour policy {kind!r} for the prompt family; use "
                           "'reference' (softmax over a reward regressor) or 'uniform'")

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        return Deployment(family=self.name, behaviour=policy, generator=env.unwrapped.generator)

    def measure(self, handle: AgentHandle, venv: gym.vector.VectorEnv, n_users: int,
                seed: int, **options: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Per-context ``expected_reward`` (exact), ``reward`` (sampled), and the uniform
        and best policies' values on the same contexts (for the optimality)."""
        if options:
            raise HarnessError(f"the prompt measurement takes no options, got {sorted(options)}")
        base = venv.unwrapped
        num_envs = venv.num_envs
        obs, _ = venv.reset(seed=seed)
        per: dict[str, list[np.ndarray]] = {}
        done = 0
        while done < n_users:
            take = min(num_envs, n_users - done)

            def add(name: str, values: np.ndarray, take: int = take) -> None:
                per.setdefault(name, []).append(np.asarray(values, dtype=np.float64)[:take])

            truth = np.asarray(base.env.expected_reward_matrix(obs))  # (n, n_prompts)
            add("uniform_value", truth.mean(axis=1))
            add("best_value", truth.max(axis=1))
            probs = handle.distribution(obs, truth.shape[1])
            exact = None if probs is None else (probs * truth).sum(axis=1)
            actions = handle.act(obs)
            obs, reward, _, _, info = venv.step(actions)
            add("expected_reward", info["expected_reward"] if exact is None else exact)
            add("reward", reward)
            done += take
        return {k: np.concatenate(v) for k, v in per.items()}, {}

    def scores(self, metrics: dict[str, Estimate]) -> dict[str, float]:
        """``reward`` (the exact expected reward) and ``optimality`` (Kiyohara et al.)."""
        value = metrics["expected_reward"].mean
        uniform, best = metrics["uniform_value"].mean, metrics["best_value"].mean
        return {"reward": value, "optimality": (value - uniform) / (best - uniform)}


HARNESS = PromptHarness()
"""The prompt family's harness (named by its description's ``harness``)."""
