"""A complete plug-in agent for the two-stage suite, in the user's own module.

Run it against the built-in agents with nothing in the repository edited:

    python -m benchmarks run two_stage --agent recsim_envs.examples.my_agent:PopularIPS
"""

from dataclasses import dataclass

import numpy as np

from agents.base import BaseAgent


@dataclass
class PopularIPSConfig:
    clip: float = 100.0  # upper bound of the importance weights 1 / pscore


class PopularIPS(BaseAgent):
    """Nominates the k items with the highest importance-weighted click counts."""

    name = "popular_ips"
    Config = PopularIPSConfig

    def fit(self, dataset):
        k = int(dataset.meta.info["n_candidates"])  # the deployed system's set size
        weights = np.minimum(1.0 / dataset.pscore, self.config.clip)
        score = np.bincount(dataset.action, weights * dataset.reward,
                            minlength=dataset.meta.n_actions)
        self.top_k = np.argsort(-score, kind="stable")[:k]
        self.fitted = True
        return self

    def act(self, obs):
        obs = np.asarray(obs)
        return self.top_k.copy() if obs.ndim == 1 else np.tile(self.top_k, (len(obs), 1))
