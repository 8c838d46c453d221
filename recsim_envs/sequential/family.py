"""The sequential family's description (see :class:`recsim_envs.core.family.FamilyDescription`)."""

from __future__ import annotations

from recsim_envs.core.family import EnvEntry, FamilyDescription

FAMILY = FamilyDescription(
    name="sequential",
    title="sequential sessions with users who leave",
    paper='Wang et al., "Large Language Model driven Policy Exploration for Recommender '
          'Systems", WSDM 2025 (iALP)',
    envs=(
        # the 30-turn limit is handled inside the env (truncated), vector env included
        EnvEntry("SequentialRec-v0", "recsim_envs.sequential.envs:SequentialRecEnv",
                 "recsim_envs.sequential.vector_env:SequentialVectorEnv"),
        # a world fitted to the user's own logs (issue 11); max_turns handled inside the env
        EnvEntry("SequentialFromWorld-v0", "recsim_envs.worlds.envs:SequentialFromWorldEnv",
                 "recsim_envs.worlds.envs:SequentialFromWorldVectorEnv"),
    ),
    measure="return per session",
    primary="return",
    value_key="return",
    eval_unit="sessions",
    log_unit="sessions",
    random_agent="seq_random",
    skyline_agent="seq_oracle",
    baselines=("no_repeat_popular", "bc"),
    harness="recsim_envs.sequential.harness:HARNESS",
    view="recsim_envs.sequential.view:SessionView",
    off_policy="recsim_envs.ope.families.sequential:estimate",
)
