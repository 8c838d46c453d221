"""The prompt family's description (see :class:`recsim_envs.core.family.FamilyDescription`)."""

from __future__ import annotations

from recsim_envs.core.family import EnvEntry, FamilyDescription

FAMILY = FamilyDescription(
    name="prompt",
    title="prompt-to-sentence personalisation (a frozen generator writes what the user reads)",
    paper='Kiyohara et al., "Prompt Optimization with Logged Bandit Data", RecSys 2025',
    envs=(
        EnvEntry("PromptSentence-v0", "recsim_envs.prompt.envs:PromptSentenceEnv",
                 "recsim_envs.prompt.envs:PromptSentenceVectorEnv"),
        EnvEntry("PromptSentenceText-v0", "recsim_envs.prompt.text_envs:PromptSentenceTextEnv",
                 "recsim_envs.prompt.text_envs:PromptSentenceTextVectorEnv"),
        # the paraphrase text world (issue 12): PromptSentenceText-v0 with world="paraphrase"
        EnvEntry("PromptSentenceParaphrase-v0",
                 "recsim_envs.prompt.text_envs:PromptSentenceParaphraseEnv",
                 "recsim_envs.prompt.text_envs:PromptSentenceParaphraseVectorEnv"),
    ),
    measure="expected reward per context",
    primary="optimality",
    value_key="expected_reward",
    eval_unit="users",
    log_unit="rounds",
    random_agent="uniform",
    skyline_agent=None,  # optimality is 0 for the uniform policy and 1 for the best one
    baselines=("regression_pg",),
    harness="recsim_envs.prompt.harness:HARNESS",
    view="recsim_envs.prompt.view:PromptView",
    off_policy="recsim_envs.ope.families.prompt:estimate",
)
