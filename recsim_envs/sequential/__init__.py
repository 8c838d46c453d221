"""The sequential family (Wang et al., 2025): sessions of recommendations to users who may
leave.

:mod:`~recsim_envs.sequential.world` holds the world (catalogue, users, true ratings),
:mod:`~recsim_envs.sequential.dynamics` where the user responds (ratings, rewards, quitting),
:mod:`~recsim_envs.sequential.observation` the observation layout agents read,
:mod:`~recsim_envs.sequential.envs` the environment (``SequentialRec-v0``),
:mod:`~recsim_envs.sequential.vector_env` its native vector environment,
:mod:`~recsim_envs.sequential.rollouts` the logging rollouts,
:mod:`~recsim_envs.sequential.behaviour` the logging policy,
:mod:`~recsim_envs.sequential.text_env` the text view of a session and
:mod:`~recsim_envs.sequential.llm` the language-model-style user that speaks text.
"""
