"""The sequential family (Wang et al., 2025): sessions of recommendations to users who may
leave.

:mod:`~recsim_envs.sequential.world` holds the user dynamics (interest, boredom, quitting),
:mod:`~recsim_envs.sequential.envs` the environments (``SequentialRec-v0``),
:mod:`~recsim_envs.sequential.text_env` the text view of a session and
:mod:`~recsim_envs.sequential.llm` the language-model-style user that speaks text.
"""
