"""The sequential family's harness (Wang et al., "Large Language Model driven Policy
Exploration for Recommender Systems", WSDM 2025, iALP): what the evaluation and the
benchmark runner do in this family.

Logged data are whole sessions (``n`` of :meth:`SequentialHarness.log` counts sessions):
session estimators need every session complete. The online value is the return of one
session per evaluation user, drawn from the world's held-out users. Agents that learn
online get their budget first (:func:`recsim_envs.evaluation.learning.run_sessions`), with
a learning curve on the evaluation users. The deployment holds the behaviour policy and the
simulated text user (iALP's language-model stub sees the public catalogue only).
Off-policy estimates: :mod:`recsim_envs.ope.families.sequential`.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import BehaviourPolicy, UniformPolicy
from recsim_envs.data import LoggedDataset, collect_sessions
from recsim_envs.evaluation.contract import AgentHandle, Deployment
from recsim_envs.evaluation.harness import FamilyHarness, HarnessError, with_world
from recsim_envs.sequential.family import FAMILY
from recsim_envs.sequential.observation import SequentialFlatObservation, flatten_obs
from recsim_envs.sequential.view import SessionView


class SequentialHarness(FamilyHarness):
    description = FAMILY
    behaviour_keys = frozenset({"policy", "temperature", "llm_alignment"})
    view_class = SessionView

    def behaviour_policy(self, env: gym.Env, settings: dict[str, Any],
                         seed: int) -> BehaviourPolicy:
        self.check_behaviour_keys(settings)
        base = env.unwrapped
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.world.n_items)
        if kind == "softmax":
            from recsim_envs.sequential.behaviour import sequential_behaviour_policy

            return sequential_behaviour_policy(env, float(settings.get("temperature", 0.5)),
                                               seed=seed % (2**31))
        raise HarnessError(f"unknown behaviour policy {kind!r} for the sequential family; "
                           "use 'softmax' or 'uniform'")

    def agent_env(self, env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
        """Flat ``Box`` observations (:class:`SequentialFlatObservation`), no text."""
        return SequentialFlatObservation(gym.make(env_id, **{**env_kwargs, "with_text": False}))

    def log(self, env: gym.Env, policy: BehaviourPolicy, n: int, seed: int) -> LoggedDataset:
        return collect_sessions(env, policy, n, seed)

    def interactions(self, dataset: LoggedDataset
                     ) -> tuple[np.ndarray, np.ndarray | None, str, np.ndarray]:
        """Sessions' rows as interactions: the user id is the first context column; a
        rating of 4 or more (or a click, for 0/1 rewards) is a positive."""
        _, user = np.unique(dataset.context[:, 0].astype(np.int64), return_inverse=True)
        reward = np.asarray(dataset.reward)
        if reward.max() > 1:
            return user, None, "reward >= 4", reward >= 4
        return user, None, "reward > 0", reward > 0

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        alignment = float(settings.get("llm_alignment", 0.5))
        return Deployment(family=self.name, behaviour=policy,
                          text_user=functools.partial(env.unwrapped.make_llm_user,
                                                      alignment=alignment))

    def measure(self, handle: AgentHandle, venv: gym.vector.VectorEnv, n_users: int,
                seed: int, **options: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """One session per evaluation user, all side by side in the native vector env
        (one sub-environment each): per-session ``return`` and ``length``."""
        if options:
            raise HarnessError("the sequential measurement takes no options, got "
                               f"{sorted(options)}")
        base = venv.unwrapped
        held_out = base.world.test_users
        rng = np.random.default_rng(seed)
        users = rng.choice(held_out, size=n_users, replace=n_users > len(held_out))
        obs, _ = venv.reset(seed=seed, options={"user_ids": users})
        returns = np.zeros(n_users)
        lengths = np.zeros(n_users)
        active = np.ones(n_users, dtype=bool)
        while active.any():
            flat = flatten_obs(obs)
            actions = np.zeros(n_users, dtype=np.int64)
            idx = np.flatnonzero(active)
            actions[idx] = np.asarray(handle.act(flat[idx])).reshape(-1)
            obs, reward, term, trunc, _ = venv.step(actions)
            returns[idx] += reward[idx]
            lengths[idx] += 1
            active &= ~(term | trunc)
        return {"return": returns, "length": lengths}, {}

    def learn_online(self, handle: AgentHandle, env_id: str, env_kwargs: dict[str, Any],
                     world: Any, *, steps: int, curve_points: int, n_eval: int, seed: int,
                     eval_seed: int) -> list[dict[str, float]]:
        """``steps`` training sessions in ``min(curve_points, steps)`` epochs, the held-out
        value after each (on the evaluation users of ``eval_seed``)."""
        from recsim_envs.evaluation.learning import run_sessions

        n_epochs = min(curve_points, steps)
        curve = run_sessions(handle, env_id, with_world(env_kwargs, world), n_epochs=n_epochs,
                             episodes_per_epoch=max(1, steps // n_epochs), seed=seed,
                             n_eval=n_eval, eval_seed=eval_seed)
        return curve.points()


HARNESS = SequentialHarness()
"""The sequential family's harness (named by its description's ``harness``)."""
