"""The toy family's off-policy inputs: IPS over single actions with the public estimator."""

from __future__ import annotations

import numpy as np

from recsim_envs.ope.bandit import ips
from recsim_envs.ope.targets import target_distribution


def estimate(agent, heldout, deployment, rng, *, train=None, env=None):
    space = env.action_space
    probs = target_distribution(agent, heldout.context, heldout.meta.n_actions, space)
    target = probs[np.arange(len(heldout)), heldout.action]
    return {"ips": ips(target, heldout.pscore, heldout.reward, rng=rng, n_boot=200)}
