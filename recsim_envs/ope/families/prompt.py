"""Off-policy estimates for prompt-to-sentence personalisation (Kiyohara et al., 2025).

The agent picks one prompt per context [x, q]; the frozen generator writes a sentence;
the user's reward depends on x, q and the sentence. The online value is the exact expected
reward per context (``optimality``, the paper's score, next to it). The deployment holds
the generator (DSO samples fresh sentences with it) and the behaviour policy; the user's
reward model stays with the harness.

Off-policy estimates: IPS, SNIPS, DM, DR over prompts and kernel IS in sentence space
(the weighting of DSO), whose densities are Monte Carlo averages of a Gaussian kernel over
sentences the generator writes under each policy, with DSO's bandwidth rule (0.5 x the
median within-query distance, from the behaviour policy's sentences for the same queries).
DM/DR use the prompt reward regressor fit once on the training log: their intervals are
conditional on it (refitting it 200 times per cell would cost minutes), and say so.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset
from recsim_envs.data.views import PromptView
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope.bandit import bandit_estimates, kernel_is
from recsim_envs.ope.estimate import OffPolicyEstimate
from recsim_envs.ope.targets import target_distribution
from recsim_envs.prompt.text.kernel import kernel_distance, kernel_values

KERNEL_SAMPLES = 32
"""Sentences per held-out row and policy in the Monte Carlo kernel densities."""
KERNEL_BANDWIDTH = 0.5
"""Factor on the median within-query distance (DSO's default rule, see agents.prompt.dso)."""
DM_STEPS = 1000
"""Adam steps of the direct-method reward regressor (fit on the training rounds)."""

def estimate(
    agent: AgentHandle, heldout: LoggedDataset, deployment: Deployment,
    rng: np.random.Generator, *, train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Estimates of the agent's expected reward per context from ``heldout``."""
    from recsim_envs.prompt.text.regressor import PromptRewardRegressor, RegressorConfig

    view = PromptView.of(heldout)
    n_prompts = heldout.meta.n_actions
    if train is None or env is None:
        raise ValueError("the prompt DM/DR fit on a training log and kernel IS samples the "
                         "environment's generator: pass train= and env=")
    target = target_distribution(agent, heldout.context, n_prompts, env.action_space)
    reg = PromptRewardRegressor(PromptView.of(train).prompt_embeddings,
                                RegressorConfig(n_steps=DM_STEPS))
    reg.fit(train.context, train.action, train.reward, seed=int(rng.integers(2**31)))
    q = np.asarray(reg.predict_all(heldout.context), dtype=np.float64)
    rows = np.arange(len(heldout))
    out = bandit_estimates(
        target[rows, heldout.action], heldout.pscore, heldout.reward,
        dm_terms=(target * q).sum(axis=1), q_logged=q[rows, heldout.action], rng=rng,
    )
    if view.sentence_embedding is not None:
        out["kernel_is"] = _kernel_is(target, view, deployment, env, rng)
    return out


def _kernel_is(target: np.ndarray, view: PromptView, deployment: Deployment,
               env: gym.Env, rng: np.random.Generator) -> OffPolicyEstimate:
    base = env.unwrapped
    heldout = view.dataset
    _, query = base.split(heldout.context)
    behaviour = (view.pi_b.astype(np.float64) if view.pi_b is not None
                 else np.asarray(deployment.behaviour.probs(heldout.context)))
    logged = view.sentence_embedding.astype(np.float64)
    n, m = len(heldout), KERNEL_SAMPLES
    q_rep = np.repeat(query, m, axis=0)

    def sentences(probs: np.ndarray) -> np.ndarray:
        probs = probs / probs.sum(axis=1, keepdims=True)
        ids = sample_categorical(probs, m, rng).reshape(-1)
        return np.asarray(deployment.generator.generate(q_rep, ids, rng), dtype=np.float64)

    logged_rep = np.repeat(logged, m, axis=0)
    s_behaviour, s_target = sentences(behaviour), sentences(target)
    # bandwidth: DSO's within-query rule, from the behaviour draws of the same queries
    tau = KERNEL_BANDWIDTH * float(np.median(kernel_distance(logged_rep, s_behaviour)))
    tau = tau if tau > 0 else 1.0

    def density(s: np.ndarray) -> np.ndarray:
        return kernel_values(logged_rep, s, "gaussian", tau).reshape(n, m).mean(axis=1)

    return kernel_is(density(s_target), np.maximum(density(s_behaviour), 1e-12),
                     heldout.reward, rng=rng)
