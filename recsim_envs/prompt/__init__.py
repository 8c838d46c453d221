"""The prompt-to-sentence family (Kiyohara et al., 2025): a policy picks a prompt, a frozen
generator writes the sentence the user reads, the user rewards the sentence.

:mod:`~recsim_envs.prompt.text` holds the parts (generator, encoder, the user's sentence
reward, the sentence kernel, the reward regressor, the paraphrase writer, diagnostics);
:mod:`~recsim_envs.prompt.base` the family's one-step loop and :mod:`~recsim_envs.prompt.vector`
its native vector environment; :mod:`~recsim_envs.prompt.world` the synthetic world's frozen
parameters and :mod:`~recsim_envs.prompt.envs` its environment (``PromptSentence-v0``);
:mod:`~recsim_envs.prompt.text_envs` the text worlds (``PromptSentenceText-v0``,
``PromptSentenceParaphrase-v0``); :mod:`~recsim_envs.prompt.behaviour` the benchmark's
logging policy; :mod:`~recsim_envs.prompt.family` the family description.
"""
