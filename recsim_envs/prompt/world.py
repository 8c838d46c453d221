"""The synthetic prompt world: the frozen parameters of ``PromptSentence-v0``.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5, and the authors' OfflinePrompts code.

Everything random about the world (the context covariance, the prompt embeddings, the
generator's and the user's weights) is drawn once from ``world_seed`` by
:meth:`PromptSentenceWorld.from_seed`; environments only read it, so logging and evaluation
built with the same seed see the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsim_envs.prompt.text.components import BilinearSentenceReward, GaussianSentenceGenerator

REWARD_SCALE = 1.0 / 250.0
"""The user's reward scale in the paper: E[r | x, q, o] = ((x Q + q R) . o) / 250."""


@dataclass(frozen=True)
class PromptSentenceWorld:
    """The frozen parameters of the synthetic benchmark (Kiyohara et al., 2025, Section 5).

    Attributes:
        chol: L, (d_x + d_q, d_x + d_q): contexts [x, q] ~ N(0, L L^T).
        generator: the frozen generator o = c (q M + 5 sin(e_a N)) + noise, holding M, N
            and the prompt embeddings e (n_prompts, d_p).
        reward_model: the user, E[r | x, q, o] = ((x Q + q R) . o) / 250.
    """

    chol: np.ndarray
    generator: GaussianSentenceGenerator
    reward_model: BilinearSentenceReward

    @classmethod
    def from_seed(
        cls,
        world_seed: int,
        n_prompts: int,
        dim_user: int,
        dim_query: int,
        dim_prompt: int,
        dim_sentence: int,
        generator_noise: float,
        published_code_quirk: bool,
    ) -> PromptSentenceWorld:
        """Draw the world from ``world_seed``, in the order L, e, Q, R, then M, N.

        ``published_code_quirk`` reproduces the authors' code: M = Q, N = R and the mean
        sentence added twice (c = 2); otherwise M and N are drawn after R and c = 1.
        """
        rng = np.random.default_rng(world_seed)
        d = int(dim_user) + int(dim_query)
        chol = rng.uniform(-1.0, 1.0, size=(d, d))  # L: (x, q) ~ N(0, L L^T)
        prompts = rng.standard_normal((int(n_prompts), int(dim_prompt)))
        user_w = rng.standard_normal((int(dim_user), int(dim_sentence)))  # Q
        query_w = rng.standard_normal((int(dim_query), int(dim_sentence)))  # R
        if published_code_quirk:
            gen_query_w, gen_prompt_w, repeat = user_w, query_w, 2.0
        else:
            gen_query_w = rng.standard_normal((int(dim_query), int(dim_sentence)))  # M
            gen_prompt_w = rng.standard_normal((int(dim_prompt), int(dim_sentence)))  # N
            repeat = 1.0
        generator = GaussianSentenceGenerator(
            gen_query_w, gen_prompt_w, prompts, noise_std=float(generator_noise), repeat=repeat
        )
        return cls(chol, generator, BilinearSentenceReward(user_w, query_w, scale=REWARD_SCALE))
