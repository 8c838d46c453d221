"""Prompt-to-sentence (Kiyohara et al., 2025) as a benchmark family.

The agent picks one prompt per context [x, q]; the frozen generator writes a sentence;
the user's reward depends on x, q and the sentence. Online value: the exact expected
reward sum_a pi(a|x) E[r|x, q, a] over ``n_eval`` fresh contexts (``optimality``, the
paper's metric, is reported too). Agents that learn with the generator (DSO) get its
handle, and agents that replay the behaviour policy get it: both belong to the deployed
system, not to the user. The user's reward model stays with the harness.

Off-policy estimates: IPS, SNIPS, DM, DR over prompts and kernel IS in sentence space
(:func:`benchmarks.ope.kernel_is_estimate`), whose densities are Monte Carlo averages of a
Gaussian kernel over sentences the generator writes under each policy.
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
    one_hot,
)
from benchmarks.ope import gaussian_kernel, kernel_is_estimate, off_policy_estimates
from recsim_envs.data import LoggedDataset
from recsim_envs.policies import BehaviourPolicy, UniformPolicy, sample_categorical
from recsim_envs.stats import Estimate, mean_ci

_BEHAVIOUR_KEYS = {"policy", "beta", "n_rounds", "regressor_steps"}
KERNEL_SAMPLES = 32
"""Sentences per held-out row and policy in the Monte Carlo kernel densities."""
KERNEL_BANDWIDTH = 1.0
DM_STEPS = 1000
"""Adam steps of the direct-method reward regressor (fit on the training rounds)."""


class PromptFamily(Family):
    name = "prompt"
    value_name = "expected reward per context"

    def __init__(self) -> None:
        self._behaviour: BehaviourPolicy | None = None
        self._generator: Any = None

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        kind = settings.get("policy", "reference")
        if kind == "uniform":
            policy: BehaviourPolicy = UniformPolicy(base.n_prompts)
        elif kind == "reference":
            from recsim_envs.envs.prompt_sentence import reference_behaviour_policy

            policy = reference_behaviour_policy(
                base, seed=seed, n_rounds=int(settings.get("n_rounds", 10_000)),
                beta=float(settings.get("beta", 1.0)),
                regressor_steps=int(settings.get("regressor_steps", 3000)),
            )
        else:
            raise CellError(f"unknown behaviour policy {kind!r} for the prompt family; use "
                            "'reference' (softmax over a reward regressor) or 'uniform'")
        self._behaviour = policy
        self._generator = base.generator
        return policy

    def fit(
        self, agent: Any, train: LoggedDataset, online_steps: int, curve_points: int,
        env_factory: Any, seed: int,
    ) -> list[dict[str, float]]:
        params = inspect.signature(agent.fit).parameters
        kwargs: dict[str, Any] = {}
        if "generator" in params:
            kwargs["generator"] = self._generator
        if "behaviour" in params:
            kwargs["behaviour"] = self._behaviour
        agent.fit(train, **kwargs)
        if online_steps and hasattr(agent, "observe"):
            self._online(agent, env_factory, online_steps, seed)
        return []

    def _online(self, agent: Any, env_factory: Any, n_steps: int, seed: int) -> None:
        """The online skyline's budget: ``n_steps`` batched steps of the vector env (the
        agent sees observations, actions and rewards only)."""
        probe = env_factory()
        env_id, kwargs = probe.spec.id, dict(probe.spec.kwargs)
        probe.close()
        batch = int(getattr(getattr(agent, "config", None), "batch_size", 32))
        venv = gym.make_vec(env_id, num_envs=batch, vectorization_mode="vector_entry_point",
                            **kwargs)
        obs, _ = venv.reset(seed=int(seed))
        for _ in range(n_steps):
            action = agent_actions(agent, obs, venv.single_action_space, _label(agent))
            nxt, reward, term, trunc, _ = venv.step(action)
            agent.observe(obs, action, reward, nxt, term, trunc)
            obs = nxt
        venv.close()

    def _target(self, agent: Any, obs: np.ndarray, space: gym.Space) -> np.ndarray:
        n_prompts = int(space.n)
        probs = agent_probs(agent, obs, n_prompts, _label(agent))
        if probs is None:
            probs = one_hot(agent_actions(agent, obs, space, _label(agent)), n_prompts)
        return probs

    def evaluate(
        self, agent: Any, env_id: str, kwargs: dict[str, Any], n_eval: int, seed: int
    ) -> OnlineResult:
        env = self.make_env(env_id, kwargs)
        base = env.unwrapped
        contexts = base.sample_contexts(n_eval, np.random.default_rng(seed))
        truth = base.expected_reward_matrix(contexts)
        probs = self._target(agent, contexts.astype(np.float32), env.action_space)
        values = (probs * truth).sum(axis=1)
        uniform, best = float(truth.mean()), float(truth.max(axis=1).mean())
        value = mean_ci(values)
        metrics = {"optimality": (value.mean - uniform) / (best - uniform),
                   "uniform_value": uniform, "best_value": best}
        env.close()
        return OnlineResult(value=value, metrics=metrics)

    def off_policy(
        self, agent: Any, train: LoggedDataset, heldout: LoggedDataset, env: gym.Env, seed: int
    ) -> dict[str, Estimate]:
        from recsim_envs.text.regressor import PromptRewardRegressor, RegressorConfig

        if getattr(agent, "offline", True) is False and not hasattr(agent, "action_probs"):
            return {}
        target = self._target(agent, heldout.context, env.action_space)
        reg = PromptRewardRegressor(train.system["prompt_embeddings"],
                                    RegressorConfig(n_steps=DM_STEPS))
        reg.fit(train.context, train.action, train.reward, seed=seed)
        q_hat = np.asarray(reg.predict_all(heldout.context), dtype=np.float64)
        out = off_policy_estimates(target, heldout.action, heldout.pscore, heldout.reward,
                                   q_hat)
        if "sentence_embedding" in heldout.extras:
            out["kernel_is"] = self._kernel_is(target, heldout, env, seed)
        return out

    def _kernel_is(
        self, target: np.ndarray, heldout: LoggedDataset, env: gym.Env, seed: int
    ) -> Estimate:
        base = env.unwrapped
        rng = np.random.default_rng(seed)
        _, query = base.split(heldout.context)
        behaviour = (heldout.extras["pi_b"].astype(np.float64) if "pi_b" in heldout.extras
                     else np.asarray(self._behaviour.probs(heldout.context)))
        logged = heldout.extras["sentence_embedding"].astype(np.float64)
        n, m = len(heldout), KERNEL_SAMPLES
        q_rep = np.repeat(query, m, axis=0)

        def density(probs: np.ndarray) -> np.ndarray:
            probs = probs / probs.sum(axis=1, keepdims=True)
            ids = sample_categorical(probs, m, rng).reshape(-1)
            sentences = np.asarray(base.generator.generate(q_rep, ids, rng), dtype=np.float64)
            return gaussian_kernel(logged, sentences.reshape(n, m, -1),
                                   KERNEL_BANDWIDTH).mean(axis=1)

        return kernel_is_estimate(density(target), np.maximum(density(behaviour), 1e-12),
                                  heldout.reward)


def _label(agent: Any) -> str:
    return getattr(agent, "name", type(agent).__name__)
