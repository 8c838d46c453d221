"""The two-stage family (Ma et al., WWW 2020): a candidate generator proposes k items, a
fixed ranker orders them, the user clicks.

In RecSim's order: :mod:`~recsim_envs.two_stage.users` (user features),
:mod:`~recsim_envs.two_stage.items` (the catalogue), :mod:`~recsim_envs.two_stage.response`
(the user's click model), then the deployed system
(:mod:`~recsim_envs.two_stage.ranker`), the environments
(:mod:`~recsim_envs.two_stage.envs`: ``TwoStageSynthetic-v0``), the MovieLens worlds
(:mod:`~recsim_envs.two_stage.movielens_data`, :mod:`~recsim_envs.two_stage.simulator`,
:mod:`~recsim_envs.two_stage.movielens_env`: ``TwoStageMovieLens-v0``), the paper's protocol
(:mod:`~recsim_envs.two_stage.paper_world`, :mod:`~recsim_envs.two_stage.paper_env`:
``TwoStagePaper-v0``) and the ranking metrics (:mod:`~recsim_envs.two_stage.ranking_metrics`).
"""
