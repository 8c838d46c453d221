"""The two-stage family (Ma et al., WWW 2020): a candidate generator proposes k items, a
fixed ranker orders them, the user clicks.

In RecSim's order: :mod:`~recsim_envs.two_stage.users` (user samplers),
:mod:`~recsim_envs.two_stage.items` (the catalogue), :mod:`~recsim_envs.two_stage.response`
(the user's click model: where the user responds), then the deployed system
(:mod:`~recsim_envs.two_stage.ranker`); the world built from them once per ``world_seed``
(:mod:`~recsim_envs.two_stage.world`), the environments over a world
(:mod:`~recsim_envs.two_stage.envs`: ``TwoStageSynthetic-v0``) and the logged data
(:mod:`~recsim_envs.two_stage.log`). MovieLens: the files
(:mod:`~recsim_envs.two_stage.movielens_files`, :mod:`~recsim_envs.two_stage.movielens_data`),
the learned simulator (:mod:`~recsim_envs.two_stage.simulator`), the world
(:mod:`~recsim_envs.two_stage.movielens_world`) and the environments
(:mod:`~recsim_envs.two_stage.movielens_env`: ``TwoStageMovieLens-v0``); the paper's protocol
(:mod:`~recsim_envs.two_stage.paper_world`, :mod:`~recsim_envs.two_stage.paper_env`:
``TwoStagePaper-v0``) and the ranking metrics (:mod:`~recsim_envs.two_stage.ranking_metrics`).
"""
