"""The prompt family's native vector environment: ``num_envs`` independent users per step.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025). :class:`PromptVectorEnvBase` wraps one single environment of a
prompt world (:class:`~recsim_envs.prompt.base.PromptEnvBase`) and runs its arithmetic once
for the batch while every sub-environment draws from its own generator, so sub-environment
``i`` reset with ``seed + i`` sees exactly what the single environment would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.vector import sub_env_generators
from recsim_envs.prompt.base import PromptEnvBase
from recsim_envs.prompt.family import FAMILY
from recsim_envs.prompt.text.components import check_prompt_ids


class PromptVectorEnvBase(VectorEnv):
    """Native vector version of a :class:`PromptEnvBase`: ``num_envs`` independent users.

    Every sub-env draws from its own generator (seeded ``seed + i``) in the order the
    single environment does; the arithmetic runs once for the batch. Episodes last one
    step, so each step ends every sub-env and resets it in the same step
    (``AutoresetMode.SAME_STEP``); the observation that ended goes to ``info["final_obs"]``
    and the step's info to ``info["final_info"]`` and, as resets add no info, also to the
    top level of ``info``.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
    family = FAMILY.name
    single_env_cls: type[PromptEnvBase] = PromptEnvBase

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        kwargs.pop("render_mode", None)
        kwargs.pop("max_episode_steps", None)
        self.env = self.single_env_cls(**kwargs)
        self.num_envs = int(num_envs)
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = sub_env_generators(None, self.num_envs)
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # None keeps each sub-environment's generator running
            self._rngs = sub_env_generators(seed, self.num_envs)
        self._obs = self._draw_contexts()
        return self._obs.copy(), {}

    def _draw_contexts(self) -> np.ndarray:
        # Each sub-env's draws from its own generator, then one batched transform.
        parts = [self.env.context_noise(1, r) for r in self._rngs]
        noise = tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        return self.env.contexts_from_noise(noise)

    def step(self, actions):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        env = self.env
        ids = check_prompt_ids(np.asarray(actions).reshape(-1), env.n_prompts, self.num_envs)
        ctx = self._obs.astype(np.float64)
        user, query = env.split(ctx)
        emb, text = self._generate_batch(query, ids)
        noise = np.array([r.standard_normal(1)[0] for r in self._rngs])
        mean_s = env.reward_model.expected(user, query, emb)
        rewards = mean_s + env.reward_noise * noise
        step_info: dict[str, Any] = {
            "prompt": ids,
            "sentence_embedding": emb.astype(np.float32),
            "expected_reward": env.expected_reward(ctx, ids),
            "sentence_expected_reward": mean_s,
        }
        if text is not None:
            step_info["sentence"] = np.array(text, dtype=object)
        mask = np.ones(self.num_envs, dtype=bool)
        final_obs = np.empty(self.num_envs, dtype=object)
        for i in range(self.num_envs):  # object array of per-env observations, as gymnasium's
            final_obs[i] = self._obs[i].copy()
        masks = {f"_{k}": mask.copy() for k in step_info}
        # The step's info at the top level too (the reset adds none), so per-step keys such
        # as expected_reward read the same as in an env without autoreset.
        info = {
            **step_info,
            **masks,
            "final_obs": final_obs,
            "_final_obs": mask.copy(),
            "final_info": {**step_info, **masks},
            "_final_info": mask.copy(),
        }
        self._obs = self._draw_contexts()
        terminated = np.ones(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs.copy(), rewards, terminated, truncated, info

    def _generate_batch(self, query: np.ndarray, ids: np.ndarray):
        generator = self.env.generator
        if hasattr(generator, "draw_noise") and hasattr(generator, "from_noise"):
            # Each sub-env's sampling noise from its own generator, then one batched transform.
            noise = np.concatenate([generator.draw_noise(1, r) for r in self._rngs])
            return self.env._from_noise(query, ids, noise, with_text=True)
        parts = [
            self.env._generate(query[i : i + 1], ids[i : i + 1], r, with_text=True)
            for i, r in enumerate(self._rngs)
        ]  # plug-in generators without a noise/transform split: one call per sub-env
        emb = np.concatenate([p[0] for p in parts])
        text = None if parts[0][1] is None else [p[1][0] for p in parts]
        return emb, text
