"""Registration of every environment id with Gymnasium (run on ``import recsim_envs``).

Entry points are strings, so registering imports no environment module: an environment is
built only when ``gymnasium.make`` asks for it. Each family keeps its block below.
"""

from __future__ import annotations

import gymnasium as gym

NAMESPACE = "recsim_envs"

# (id, entry_point, vector_entry_point or None, max_episode_steps or None)
ENV_SPECS: list[tuple[str, str, str | None, int | None]] = [
    # --- two-stage family (issue 2) ---
    (
        "TwoStageSynthetic-v0",
        "recsim_envs.two_stage.envs:TwoStageEnv",
        "recsim_envs.two_stage.envs:TwoStageVectorEnv",
        None,
    ),
    (
        "TwoStageMovieLens-v0",
        "recsim_envs.two_stage.movielens_env:TwoStageMovieLensEnv",
        "recsim_envs.two_stage.movielens_env:TwoStageMovieLensVectorEnv",
        None,
    ),
    (
        "TwoStagePaper-v0",
        "recsim_envs.two_stage.paper_env:TwoStagePaperEnv",
        "recsim_envs.two_stage.paper_env:TwoStagePaperVectorEnv",
        None,
    ),
    # --- prompt-to-sentence family (issue 4) ---
    (
        "PromptSentence-v0",
        "recsim_envs.prompt.envs:PromptSentenceEnv",
        "recsim_envs.prompt.envs:PromptSentenceVectorEnv",
        None,
    ),
    (
        "PromptSentenceText-v0",
        "recsim_envs.prompt.text_envs:PromptSentenceTextEnv",
        "recsim_envs.prompt.text_envs:PromptSentenceTextVectorEnv",
        None,
    ),
    (  # the paraphrase text world (issue 12): PromptSentenceText-v0 with world="paraphrase"
        "PromptSentenceParaphrase-v0",
        "recsim_envs.prompt.text_envs:PromptSentenceParaphraseEnv",
        "recsim_envs.prompt.text_envs:PromptSentenceParaphraseVectorEnv",
        None,
    ),
    # --- sequential family (issue 5) ---
    (
        "SequentialRec-v0",
        "recsim_envs.sequential.envs:SequentialRecEnv",
        "recsim_envs.sequential.envs:SequentialVectorEnv",
        None,  # the 30-turn limit is handled inside the env (truncated), vector env included
    ),
    # --- worlds fitted to a user's own logs (issue 11) ---
    (
        "TwoStageFromWorld-v0",
        "recsim_envs.worlds.envs:TwoStageFromWorldEnv",
        "recsim_envs.worlds.envs:TwoStageFromWorldVectorEnv",
        None,
    ),
    (
        "SequentialFromWorld-v0",
        "recsim_envs.worlds.envs:SequentialFromWorldEnv",
        "recsim_envs.worlds.envs:SequentialFromWorldVectorEnv",
        None,  # max_turns is handled inside the env, as for SequentialRec-v0
    ),
]


def register_all() -> None:
    """Register every id in :data:`ENV_SPECS` under the ``recsim_envs/`` namespace (idempotent)."""
    for name, entry, vector_entry, max_steps in ENV_SPECS:
        env_id = f"{NAMESPACE}/{name}"
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=entry,
            vector_entry_point=vector_entry,
            max_episode_steps=max_steps,
        )


def registered_ids() -> list[str]:
    """All ``recsim_envs/...`` ids known to Gymnasium."""
    return sorted(k for k in gym.registry if k.startswith(f"{NAMESPACE}/"))
