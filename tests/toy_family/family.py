"""The toy family's description."""

from __future__ import annotations

from recsim_envs.core.family import EnvEntry, FamilyDescription

FAMILY = FamilyDescription(
    name="toy",
    title="a K-armed logistic contextual bandit (test family)",
    paper="none: a test of the harness contract",
    envs=(EnvEntry("ToyBandit-v0", "tests.toy_family.env:ToyBanditEnv",
                   "tests.toy_family.env:ToyBanditVectorEnv"),),
    measure="expected reward per user",
    primary="reward",
    value_key="expected_reward",
    eval_unit="users",
    log_unit="rounds",
    random_agent="tests.toy_family.agents:ToyUniform",
    skyline_agent=None,
    baselines=(),
    harness="tests.toy_family.harness:HARNESS",
    off_policy="tests.toy_family.ope:estimate",
)
