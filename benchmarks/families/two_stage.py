"""Two-stage recommendation (Ma et al., WWW 2020) as a benchmark family.

The agent is the candidate generator: ``act`` returns k item ids per user, the
environment's fixed ranker shows one. Online value: the expected clicks of the shown item
per user. Off-policy estimates are of the same value: the logged action is the item shown
first, so the target's probability of it goes through the ranker - exactly, as the agent
draws its candidates (:func:`recsim_envs.ope.policy.shown_item_distribution`), or a one-hot
of the ranker's choice for deterministic generators.

DM and DR use a bilinear ridge model of clicks on (user features, item features) fitted on
the training log; their intervals refit it on a bootstrap resample of the training log in
every replicate, so they include the reward model's error.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.families.base import CellError, Family, check_behaviour_keys
from recsim_envs.core.policies import (
    BehaviourPolicy,
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
)
from recsim_envs.data import LoggedDataset
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope import OffPolicyEstimate
from recsim_envs.two_stage.family import FAMILY

_BEHAVIOUR_KEYS = {"policy", "temperature", "epsilon", "precision"}
REWARD_MODEL_RIDGE = 1.0
MODEL_REPLICATES = 100
"""Bootstrap replicates of DM and DR, each with the reward model refit (about 40 ms each)."""


class TwoStageFamily(Family):
    description = FAMILY

    def behaviour_policy(
        self, env: gym.Env, settings: dict[str, Any], seed: int
    ) -> BehaviourPolicy:
        check_behaviour_keys(settings, _BEHAVIOUR_KEYS)
        base = env.unwrapped
        if int(base.config.session_length) != 1:
            raise CellError("the two-stage benchmark evaluates one-step sessions; set "
                            "session_length = 1")
        kind = settings.get("policy", "softmax")
        if kind == "uniform":
            return UniformPolicy(base.n_items)
        if kind == "softmax":
            return SoftmaxPolicy(base.behaviour_scorer(), base.n_items,
                                 float(settings.get("temperature", 1.0)),
                                 scorer_name="two_stage_click_scorer",
                                 precision=str(settings.get("precision", "float64")))
        if kind == "epsilon_greedy":
            return EpsilonGreedyPolicy(base.behaviour_scorer(), base.n_items,
                                       float(settings.get("epsilon", 0.1)),
                                       scorer_name="two_stage_click_scorer")
        raise CellError(f"unknown behaviour policy {kind!r} for the two-stage family; use "
                        "'softmax', 'epsilon_greedy' or 'uniform'")

    def deployment(self, env: gym.Env, policy: BehaviourPolicy,
                   settings: dict[str, Any]) -> Deployment:
        base = env.unwrapped
        return Deployment(family=self.name, behaviour=policy, ranker=base.world.ranker,
                          n_candidates=int(base.n_candidates))

    def off_policy(
        self, agent: AgentHandle, train: LoggedDataset, heldout: LoggedDataset,
        deployment: Deployment, env: gym.Env, rng: np.random.Generator,
    ) -> dict[str, OffPolicyEstimate]:
        from recsim_envs.ope import estimate_policy

        return estimate_policy(heldout, agent, deployment, rng=rng, train=train, env=env)
