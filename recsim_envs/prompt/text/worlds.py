"""The built-in text worlds of the prompt family and their default settings.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025). Read by :class:`recsim_envs.prompt.text_envs.PromptSentenceTextEnv`
(``world=...``); docs/prompt.md measures each world.
"""

from __future__ import annotations

from typing import Any

from recsim_envs.prompt.text.paraphrase import PARAPHRASE_FEATURE_SIGNAL

WORLDS: dict[str, dict[str, Any]] = {
    "keywords": {"n_prompts": 500, "prompt_adherence": 0.7, "n_paraphrases": 1,
                 "reward_noise": 1.0, "prompt_feature_signal": 1.0},
    "paraphrase": {"n_prompts": 1000, "prompt_adherence": 0.9, "n_paraphrases": 50,
                   "reward_noise": 0.125, "prompt_feature_signal": PARAPHRASE_FEATURE_SIGNAL},
}
"""The built-in text worlds and their defaults (see the class docstring). The paraphrase
world's reward noise is 0.25 x its best-vs-uniform gap (0.5), the ratio of the authors' LLM
benchmark (noise 0.05, gap about 0.2); its prompt features reveal the intent of a prompt
little better than chance (docs/prompt.md)."""

PARAPHRASE_ISSUE12 = {"reward_noise": 1.0, "prompt_feature_signal": 1.0}
"""The paraphrase world as issue 12 built it (noise 2x the gap, the paraphrase text's own
embedding as prompt features): ``gymnasium.make(PARAPHRASE_ID, **PARAPHRASE_ISSUE12)``."""
