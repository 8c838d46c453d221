"""The prompt benchmark's behaviour (logging) policy.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5: the logged data come from a softmax over a reward
regressor fit on uniform rounds, nearly uniform at the paper's inverse temperature 1.
"""

from __future__ import annotations

import numpy as np

from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.prompt.base import PromptEnvBase
from recsim_envs.prompt.text.regressor import PromptRewardRegressor, RegressorConfig


def reference_behaviour_policy(
    env: PromptEnvBase,
    seed: int = 0,
    n_rounds: int = 10_000,
    beta: float = 1.0,
    regressor_steps: int = 3000,
) -> SoftmaxPolicy:
    """The benchmark's logging policy: softmax(beta * q_hat) (Kiyohara et al., 2025, Sec. 5).

    q_hat is an MLP on [x, q, e_a] (100 hidden units) fit on ``n_rounds`` rounds logged by
    the uniform policy. With beta = 1 the policy is nearly uniform, as in the paper.

    Args:
        env: a prompt environment (``env.unwrapped`` of a made one).
        seed: seeds the uniform rounds and the regressor's training.
        n_rounds: uniform rounds to fit q_hat on.
        beta: inverse temperature.
        regressor_steps: Adam steps of the regressor fit.

    Returns:
        A :class:`SoftmaxPolicy` over ``env.n_prompts`` prompts (picklable).
    """
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    rng = np.random.default_rng(seed)
    data = env.log_rounds(UniformPolicy(env.n_prompts), n_rounds, rng=rng, seed=seed)
    reg = PromptRewardRegressor(
        data.system["prompt_embeddings"], RegressorConfig(n_steps=regressor_steps)
    ).fit(data.context, data.action, data.reward, seed=seed)
    return SoftmaxPolicy(
        reg,
        env.n_prompts,
        temperature=1.0 / beta,
        scorer_name=f"mlp_reward_regressor(uniform {n_rounds} rounds, seed {seed})",
        name="softmax_regressor",
    )
