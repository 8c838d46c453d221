"""The two-stage family's description (see :class:`recsim_envs.core.family.FamilyDescription`)."""

from __future__ import annotations

from recsim_envs.core.family import EnvEntry, FamilyDescription

FAMILY = FamilyDescription(
    name="two_stage",
    title="two-stage recommendation (candidate generator, then a fixed ranker)",
    paper='Ma et al., "Off-policy Learning in Two-stage Recommender Systems", WWW 2020',
    envs=(
        EnvEntry("TwoStageSynthetic-v0", "recsim_envs.two_stage.envs:TwoStageEnv",
                 "recsim_envs.two_stage.envs:TwoStageVectorEnv"),
        EnvEntry("TwoStageMovieLens-v0", "recsim_envs.two_stage.movielens_env:TwoStageMovieLensEnv",
                 "recsim_envs.two_stage.movielens_env:TwoStageMovieLensVectorEnv"),
        EnvEntry("TwoStagePaper-v0", "recsim_envs.two_stage.paper_env:TwoStagePaperEnv",
                 "recsim_envs.two_stage.paper_env:TwoStagePaperVectorEnv"),
        # a world fitted to the user's own logs (issue 11)
        EnvEntry("TwoStageFromWorld-v0", "recsim_envs.worlds.envs:TwoStageFromWorldEnv",
                 "recsim_envs.worlds.envs:TwoStageFromWorldVectorEnv"),
    ),
    measure="expected clicks per user",
    primary="reward",
    value_key="expected_reward",
    eval_unit="users",
    log_unit="rounds",
    random_agent="random",
    skyline_agent="oracle",
    baselines=("popular",),
    harness="recsim_envs.two_stage.harness:HARNESS",
    view="recsim_envs.two_stage.view:TwoStageView",
    off_policy="recsim_envs.ope.families.two_stage:estimate",
)
