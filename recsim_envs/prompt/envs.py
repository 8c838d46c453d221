"""``recsim_envs/PromptSentence-v0``: the synthetic prompt-to-sentence benchmark.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025; RecSys 2025), Section 5, and the authors' OfflinePrompts code.

:class:`PromptSentenceEnv` reads its frozen world (:mod:`recsim_envs.prompt.world`) and
runs the family's loop (:mod:`recsim_envs.prompt.base`); :class:`PromptSentenceVectorEnv`
is its native vector version (:mod:`recsim_envs.prompt.vector`). The benchmark's logging
policy is :func:`recsim_envs.prompt.behaviour.reference_behaviour_policy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsim_envs.prompt.base import PromptEnvBase
from recsim_envs.prompt.text.components import check_prompt_ids, row_dot, small_matmul
from recsim_envs.prompt.vector import PromptVectorEnvBase
from recsim_envs.prompt.world import PromptSentenceWorld


class PromptSentenceEnv(PromptEnvBase):
    """## Description

    The synthetic benchmark of DSO (Kiyohara et al., 2025, Section 5): a user with context x
    asks about a query q; the agent picks one of ``n_prompts`` prompts; a frozen generator
    writes a sentence whose embedding is o = q M + 5 sin(e_a N) + noise (the noise stands for
    sampling from a language model); the user's reward depends on (x, q, o) only:
    E[r | x, q, o] = ((x Q + q R) . o) / 250, r = E[r] + N(0, reward_noise^2).

    ## User Model

    The reward is bilinear in (x, q) and the sentence embedding o. The user never sees the
    prompt, only the sentence; many prompts write similar sentences, which is what DSO's
    sentence-space weighting exploits.

    ## Action Space

    ``Discrete(n_prompts)``: the prompt index (1,000 by default; 10 to 10,000 allowed).

    ## Observation Space

    ``Box(-100, 100, (dim_user + dim_query,), float32)``: [x, q], jointly Gaussian with
    covariance L L^T, L uniform in [-1, 1]. The bounds lie beyond 20 standard deviations;
    values are clipped to them (it never happens in practice).

    ## Rewards

    Real-valued; see the description. ``info`` holds ``sentence_embedding`` (d_s,),
    ``expected_reward`` = E[r | x, q, a] (closed form, the generator noise has zero mean),
    ``sentence_expected_reward`` = E[r | x, q, o] and ``prompt``.

    ## Starting State

    A fresh (x, q) from ``self.np_random`` on every reset.

    ## Episode End

    One step: ``terminated=True`` after the prompt is used.

    ## Arguments

    * ``n_prompts`` (1000): number of candidate prompts, 10 to 10,000.
    * ``reward_noise`` (1.0): standard deviation of the reward noise.
    * ``generator_noise`` (1.0): standard deviation of the sentence noise.
    * ``dim_user``, ``dim_query``, ``dim_prompt``, ``dim_sentence`` (5 each).
    * ``world_seed`` (0): seeds L, M, N, Q, R and the prompt embeddings; logging and
      evaluation built with the same seed see the same world.
    * ``published_code_quirk`` (False): reproduce the authors' code, which adds the mean
      sentence twice (o = 2 f + noise) and, through its seeding, uses M = Q and N = R. The
      default follows the model the paper states, where the generator does not share the
      user's reward directions; the quirk is there to compare with the published figures.
    * ``n_eval`` (10,000), ``eval_seed`` (12345): the fixed evaluation sample of contexts.
    * ``log_pi_b`` (True): log the behaviour policy's full distribution as ``pi_b``.
    * ``render_mode``: ``"ansi"`` or None.
    * ``built_world``: the world of these settings, built once with
      ``PromptSentenceEnv.build_world(**settings)`` (nothing is built again).

    ## Version History

    * v0: initial version.
    """

    default_id = "recsim_envs/PromptSentence-v0"

    def __init__(
        self,
        n_prompts: int = 1000,
        reward_noise: float = 1.0,
        generator_noise: float = 1.0,
        dim_user: int = 5,
        dim_query: int = 5,
        dim_prompt: int = 5,
        dim_sentence: int = 5,
        world_seed: int = 0,
        published_code_quirk: bool = False,
        n_eval: int = 10_000,
        eval_seed: int = 12345,
        log_pi_b: bool = True,
        render_mode: str | None = None,
        built_world: Any = None,
    ) -> None:
        # the settings as given (read first: locals() holds only the arguments here)
        settings = {k: v for k, v in locals().items()
                    if k not in ("self", "render_mode", "built_world", "__class__")}
        if built_world is not None:
            self._adopt_world(built_world, settings, render_mode)
            return
        self._world_settings = settings
        if not 10 <= int(n_prompts) <= 10_000:
            raise ValueError(f"n_prompts must be between 10 and 10,000, got {n_prompts}")
        for name, value in (("reward_noise", reward_noise), ("generator_noise", generator_noise)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        for name, value in (
            ("dim_user", dim_user),
            ("dim_query", dim_query),
            ("dim_prompt", dim_prompt),
            ("dim_sentence", dim_sentence),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if published_code_quirk and not (dim_user == dim_query and dim_prompt == dim_query):
            raise ValueError(
                "published_code_quirk=True shares M with Q and N with R, which needs "
                "dim_user == dim_query == dim_prompt"
            )
        if int(n_eval) < 1:
            raise ValueError(f"n_eval must be >= 1, got {n_eval}")
        self.dim_user, self.dim_query = int(dim_user), int(dim_query)
        self.reward_noise = float(reward_noise)
        self.n_eval, self.eval_seed = int(n_eval), int(eval_seed)
        self.log_pi_b = bool(log_pi_b)
        self.published_code_quirk = bool(published_code_quirk)

        world = PromptSentenceWorld.from_seed(
            world_seed, n_prompts, self.dim_user, self.dim_query, dim_prompt, dim_sentence,
            generator_noise, self.published_code_quirk,
        )
        self.chol, self.generator, self.reward_model = (
            world.chol, world.generator, world.reward_model
        )
        d = self.dim_user + self.dim_query
        self.obs_low = np.full(d, -100.0)
        self.obs_high = np.full(d, 100.0)
        self._finish_init(
            render_mode,
            {
                "n_prompts": int(n_prompts),
                "reward_noise": float(reward_noise),
                "generator_noise": float(generator_noise),
                "dim_user": int(dim_user),
                "dim_query": int(dim_query),
                "dim_prompt": int(dim_prompt),
                "dim_sentence": int(dim_sentence),
                "world_seed": int(world_seed),
                "published_code_quirk": bool(published_code_quirk),
                "n_eval": int(n_eval),
                "eval_seed": int(eval_seed),
                "log_pi_b": bool(log_pi_b),
            },
        )

    def context_noise(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return (rng.standard_normal((n, self.chol.shape[0])),)

    def contexts_from_noise(self, noise: tuple[np.ndarray, ...]) -> np.ndarray:
        ctx = small_matmul(noise[0], self.chol.T)
        return np.clip(ctx, self.obs_low, self.obs_high).astype(np.float32)

    def system_prompt_embeddings(self) -> np.ndarray:
        return self.generator.prompt_embeddings.astype(np.float32)

    def expected_reward_matrix(self, contexts: np.ndarray) -> np.ndarray:
        # E[r|x,q,a] = u . E[o|q,a] with u = (xQ + qR)/250 and E[o|q,a] = c qM + c 5 sin(e_a N).
        user, query = self.split(contexts)
        u = self.reward_model.direction(user, query)
        base = (u * self.generator.query_part(query)).sum(axis=1, keepdims=True)
        return base + u @ self.generator.prompt_part().T

    def expected_reward(self, contexts: np.ndarray, prompt_ids: np.ndarray) -> np.ndarray:
        user, query = self.split(contexts)
        ids = check_prompt_ids(prompt_ids, self.n_prompts, len(user))
        return row_dot(self.reward_model.direction(user, query), self.generator.mean(query, ids))


class PromptSentenceVectorEnv(PromptVectorEnvBase):
    """Native vector env of :class:`PromptSentenceEnv` (see :class:`PromptVectorEnvBase`)."""

    single_env_cls = PromptSentenceEnv

