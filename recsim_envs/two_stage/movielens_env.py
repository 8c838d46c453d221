"""Two-stage recommendation with users simulated from MovieLens ratings (``TwoStageMovieLens-v0``).

The set-up of Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020) on
MovieLens: a neural reward model trained on real ratings (label: rating > 3) gives the click
probability of every real user for every movie; an episode draws a real user; the agent
(the candidate generator) nominates k movies and a fixed bilinear ranker shows one. The
environment logic (spaces, ranker step, vector env, logging) is that of
:mod:`recsim_envs.two_stage.envs`; only the world differs
(:mod:`recsim_envs.two_stage.movielens_world`: user and movie features, the simulator's
probability table, the ranker and the behaviour scorer, built once per (files, settings) and
cached on disk).
"""

from recsim_envs.two_stage.envs import TwoStageEnv, TwoStageVectorEnv
from recsim_envs.two_stage.movielens_world import MOVIELENS


class TwoStageMovieLensEnv(TwoStageEnv):
    """Two-stage recommendation with MovieLens users (``TwoStageMovieLens-v0``).

    ## Description
    Each episode a real MovieLens user arrives. The agent, acting as the candidate
    generator, nominates ``n_candidates`` movie ids; a fixed bilinear ranker shows the best
    ``slate_size`` of them; the user clicks each shown movie with the probability a neural
    simulator learned from the real ratings (Ma et al., WWW 2020).

    ## Action Space
    ``MultiDiscrete([n_items] * n_candidates)``: k movie ids (indices in the movies file's
    order). Repeated ids count once; bad shapes, non-integers or ids out of range raise
    ``ValueError``.

    ## Observation Space
    ``Box(-1, 1, (40,), float32)``: the user's demographics (gender; age-bucket,
    occupation and first-zip-digit one-hots), constant through a session.

    ## Rewards
    The number of clicks on the shown slate (0 or 1 for the default slate of one).

    ## Starting State
    A real user drawn uniformly from the users file.

    ## Episode End
    ``terminated`` after ``session_length`` steps (1 by default); never truncated.

    ## User Model
    p(click | u, j) = T[u, j], the simulator's probability of rating > 3 (an MLP over user
    and movie id embeddings, demographics, year, genres and popularity, trained with BCE on
    the ratings; see :mod:`recsim_envs.two_stage.simulator`); with ``binary_truth`` T is
    thresholded.
    ``info`` carries ``shown``, ``clicks``, ``click_prob`` and ``expected_reward``.

    ## Arguments
    See :class:`MovieLensConfig`. The files are read from ``data_dir`` or
    ``$RECSIM_ENVS_DATA`` (ML-100K ``u.data/u.user/u.item`` or ML-1M
    ``ratings.dat/users.dat/movies.dat``); without them ``FileNotFoundError`` says where to
    put them. Nothing is downloaded. ``env.unwrapped.world_info`` describes the world built.

    ## Version History
    - v0: initial version.
    """

    source = MOVIELENS


class TwoStageMovieLensVectorEnv(TwoStageVectorEnv):
    """``num_envs`` users of :class:`TwoStageMovieLensEnv` stepped in one batched call.

    Sub-environment i reset with seed s reproduces a single environment reset with seed
    s + i exactly (see :class:`recsim_envs.two_stage.envs.TwoStageVectorEnv`).
    """

    source = MOVIELENS
