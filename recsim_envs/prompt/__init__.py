"""The prompt-to-sentence family (Kiyohara et al., 2025): a policy picks a prompt, a frozen
generator writes the sentence the user reads, the user rewards the sentence.

:mod:`~recsim_envs.prompt.text` holds the parts (generator, encoder, the user's sentence
reward, the paraphrase writer, diagnostics); :mod:`~recsim_envs.prompt.envs` the embedding
world (``PromptSentence-v0``) and :mod:`~recsim_envs.prompt.text_envs` the text worlds
(``PromptSentenceText-v0``, ``PromptSentenceParaphrase-v0``).
"""
