"""The logging system of the sequential family: a noisy popularity-and-profile scorer and the
softmax behaviour policy built on it (public information only).

Paper context: the logged rollouts that iALP (Wang et al., WSDM 2025) and the off-policy
estimators learn from; the scorer is ours (``docs/sequential.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.world import CATEGORIES


@dataclass
class SequentialBehaviourScorer:
    """A noisy popularity-and-profile scorer over flat observations (the logging system).

    score[n, j] = w_pop * popularity[j] + w_like * likes[n, category[j]]
                  - w_seen * [j in recent items] - w_cat * count[n, category[j]]
                  + noise[j]
    where ``likes`` are the user's stated favourite categories and ``count`` how often each
    category occurs among the recent items. Uses only public information. The fixed
    per-item ``noise`` (from ``seed``) stands for the logging system's own model error.
    Input (n, dim) flat observations (:class:`ObsLayout`); output (n, n_items).
    """

    layout: ObsLayout
    item_category: np.ndarray
    item_popularity: np.ndarray
    w_pop: float = 2.0
    w_like: float = 1.0
    w_seen: float = 3.0
    w_cat: float = 0.7
    noise: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self._base = (self.w_pop * self.item_popularity
                      + self.noise * rng.normal(size=len(self.item_category)))
        n_cat = len(CATEGORIES)
        self._cat_onehot = np.vstack([np.eye(n_cat)[self.item_category], np.zeros((1, n_cat))])

    def __call__(self, context: np.ndarray) -> np.ndarray:
        _, feats, items, _ = self.layout.split(np.asarray(context))
        n, n_items = len(items), self.layout.n_items
        likes = feats[:, -len(CATEGORIES):]
        cat_count = self._cat_onehot[items].sum(axis=1)  # (n, n_cat)
        seen = np.zeros((n, n_items + 1))
        np.put_along_axis(seen, items, 1.0, axis=1)
        return (self._base[None, :] + self.w_like * likes[:, self.item_category]
                - self.w_seen * seen[:, :n_items] - self.w_cat * cat_count[:, self.item_category])


def sequential_behaviour_policy(env: gym.Env, temperature: float = 0.5,
                                seed: int = 0) -> SoftmaxPolicy:
    """softmax(:class:`SequentialBehaviourScorer` / temperature) for ``env``'s world."""
    base = env.unwrapped
    scorer = SequentialBehaviourScorer(base.layout, base.world.item_category,
                                       base.world.item_popularity, seed=seed)
    return SoftmaxPolicy(scorer, base.world.n_items, temperature,
                         scorer_name="sequential_popularity_profile", name="softmax")
