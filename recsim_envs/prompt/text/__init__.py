"""Pluggable parts of a prompt-to-sentence system (Kiyohara et al., 2025).

A prompt environment is a frozen *generator* (a language model writing a sentence from a
query and a prompt), a *sentence encoder* (text -> embedding) and a simulated *user* whose
reward depends on the user context, the query and the sentence only. Each part is a small
protocol so a real language model or a pretrained encoder can stand behind the same loop:

* :class:`~recsim_envs.prompt.text.components.EmbeddingGenerator` - (query, prompt) -> sentence
  embedding; this handle is what the DSO agent receives for training (it never exposes
  the reward).
* :class:`~recsim_envs.prompt.text.components.SentenceReward` - the user's expected reward.
* :class:`~recsim_envs.prompt.text.writer.SentenceWriter` and
  :class:`~recsim_envs.prompt.text.encoders.SentenceEncoder` - the text pipeline.

* :mod:`recsim_envs.prompt.text.paraphrase` - the paraphrase world's writer (many prompt texts,
  one effect); :mod:`recsim_envs.prompt.text.diagnostics` - is a prompt world a fair test of DSO?
* :mod:`recsim_envs.prompt.text.kernel` - the sentence kernel DSO weighs with;
  :mod:`recsim_envs.prompt.text.regressor` - the reward regressor q_hat(x, q, e_a).

Modules import no heavy optional packages at import time.
"""

from recsim_envs.prompt.text.components import (
    BilinearSentenceReward,
    EmbeddingGenerator,
    GaussianSentenceGenerator,
    SentenceReward,
    check_prompt_ids,
    small_matmul,
)

__all__ = [
    "BilinearSentenceReward",
    "EmbeddingGenerator",
    "GaussianSentenceGenerator",
    "SentenceReward",
    "check_prompt_ids",
    "small_matmul",
]
