"""Two-stage recommendation: a candidate generator nominates k items, a fixed ranker shows one.

The setting of Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020).
The agent is the candidate generator; the ranker and the user are part of the environment.
:class:`TwoStageEnv` steps one user, :class:`TwoStageVectorEnv` steps many in one numpy call;
both run on a :class:`~recsim_envs.two_stage.world.TwoStageWorld` (catalogue, users,
response model, ranker) that is fixed by ``world_seed`` so that logging and evaluation see
the same system. Which world is built is the class's ``source``
(:class:`~recsim_envs.two_stage.world.WorldSource`): the MovieLens, paper and fitted-world
environments are these classes with another source.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.vector import sub_env_generators
from recsim_envs.two_stage.core import TwoStageCore
from recsim_envs.two_stage.users import UserBatch

BUFFER_CELLS = 1 << 21
"""Uniforms (float64) a native vector environment keeps drawn ahead by default: 16 MB."""


class TwoStageEnv(TwoStageCore, gym.Env):
    """Two-stage recommendation with synthetic low-rank users (``TwoStageSynthetic-v0``).

    ## Description
    Each episode a user arrives. The agent, acting as the candidate generator, nominates
    ``n_candidates`` item ids out of ``n_items``; a fixed ranker shows the best
    ``slate_size`` of them by its own score; the user clicks each shown item with a known
    probability. Ma et al., WWW 2020.

    ## Action Space
    ``MultiDiscrete([n_items] * n_candidates)``: k item ids. Repeated ids count once (the
    candidate set is the set of distinct ids), so repeating an item nominates fewer
    candidates. Ids outside [0, n_items), a wrong shape or non-integer values raise
    ``ValueError``.

    ## Observation Space
    ``Box(-feature_bound, feature_bound, (user_dim,), float32)``: the user's observable
    features, constant through a session.

    ## Rewards
    The number of clicks on the shown slate (0 or 1 for the default slate of one).
    ``info["expected_reward"]`` is the exact expected number of clicks.

    ## Starting State
    A user drawn from the low-rank model: latent z ~ N(0, I), features clip(z P + noise).

    ## Episode End
    ``terminated`` after ``session_length`` steps (1 by default); never truncated.

    ## User Model
    p(click | u, j) = sigmoid(response_scale * <z_u, w_j> + b_j + response_offset), with
    hidden item factors w_j and popularity b_j; observable item features are w_j B + noise.

    ## Ranker
    Greedy bilinear ranker [x, 1] W [f_j, 1]^T (ties to the lower id), W the ridge fit of the
    true logits from features plus ``ranker_noise`` relative noise: a good, imperfect model
    of the user. Its weights are part of the logged data's ``system`` arrays.

    ## Reward
    Clicks; ``info`` carries ``shown`` (slate, -1 where a set had too few distinct items),
    ``clicks``, ``expected_reward`` and ``click_prob``.

    ## Arguments
    See :class:`TwoStageConfig`; pass them to ``gymnasium.make``.

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **settings: Any) -> None:
        self._setup(settings)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.observation_space = self.single_obs_space
        self.action_space = self.single_act_space
        self._users: UserBatch | None = None
        self._episode_uniforms: np.ndarray | None = None
        self._t = 0
        self._last: dict[str, Any] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._episode_uniforms = self.draw_episode(self.np_random)[None, :]
        self._users = self.users_from(self._episode_uniforms)
        self._t = 0
        self._last = {}
        return self._users.features[0].copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._users is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self.config.session_length:
            raise RuntimeError("the episode has ended (terminated); call reset() before step()")
        candidates = self.check_actions(action, 1)
        u = self.click_uniforms(self._episode_uniforms, np.array([self._t]))
        shown, probs, clicks = self.respond(self._users, candidates, u)
        self._t += 1
        terminated = self._t >= self.config.session_length
        info = {
            "shown": shown[0],
            "clicks": clicks[0].astype(np.int8),
            "click_prob": probs[0],
            "expected_reward": float(probs[0].sum()),
        }
        self._last = {"candidates": candidates[0], **info}
        return self._users.features[0].copy(), float(clicks[0].sum()), terminated, False, info

    # ---------------------------------------------------------- evaluation-only access
    def expected_reward_all(self) -> np.ndarray:
        """(n_items,) the current user's click probability for every item (privileged)."""
        if self._users is None:
            raise RuntimeError("call reset() first")
        return self.world.response.click_prob_all(self._users.hidden)[0]

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if not self._last:
            return "no step yet\n"
        shown = ", ".join(
            f"item {i} ({'clicked' if c else 'skipped'}, p={p:.3f})"
            for i, c, p in zip(self._last["shown"], self._last["clicks"], self._last["click_prob"])
            if i >= 0
        )
        n_distinct = len(np.unique(self._last["candidates"]))
        text = f"step {self._t}: {n_distinct} distinct candidates; shown: {shown}\n"
        titles = self.world_info.get("titles")  # MovieLens worlds name their movies
        if titles is not None:
            names = "; ".join(str(titles[i]) for i in self._last["shown"] if i >= 0)
            text += f"  titles: {names}\n"
        return text


class TwoStageVectorEnv(TwoStageCore, VectorEnv):
    """``num_envs`` users of :class:`TwoStageEnv` stepped in one batched call.

    Sub-environment i, reset with seed s, reproduces a single :class:`TwoStageEnv` reset with
    seed s + i exactly: each keeps its own generator, and its episodes are consecutive runs of
    ``n_episode_uniforms`` uniforms from it, in the order the single environment draws them.
    A finished sub-environment resets within the same step (``AutoresetMode.SAME_STEP``); its
    last observation is in ``info["final_obs"]`` (masked by ``info["_final_obs"]``).

    Why a buffer of episodes: one generator call per user and episode (a Python loop over
    sub-environments) measured 40% of a step at 1,000 users, and ``np.stack`` of the results
    another 13% (issue 23). A generator's stream does not depend on how it is cut into calls
    (``rng.random(b * m)`` equals b calls of ``rng.random(m)`` for numpy's bit generators),
    so each sub-environment draws ``block`` episodes in one call into a (num_envs, block,
    n_episode_uniforms) buffer; a step only indexes it, and the loop runs once per ``block``
    episodes of a sub-environment. ``block`` (``episode_block`` in ``__init__``; default: as
    many as fit in :data:`BUFFER_CELLS` uniforms, at most 64) changes no draw.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None,
                 episode_block: int | None = None, **settings: Any) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if episode_block is not None and (isinstance(episode_block, bool) or not isinstance(
                episode_block, int | np.integer) or episode_block < 1):
            raise ValueError(f"episode_block must be a positive int (episodes drawn per "
                             f"generator call) or None for the default, got {episode_block!r}")
        self._setup(settings)
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space = self.single_obs_space
        self.single_action_space = self.single_act_space
        self.observation_space = batch_space(self.single_obs_space, num_envs)
        self.action_space = batch_space(self.single_act_space, num_envs)
        self._rngs: list[np.random.Generator] = []
        self._episode_uniforms = np.zeros((num_envs, self._n_episode_uniforms))
        self._users: UserBatch | None = None
        self._t = np.zeros(num_envs, dtype=np.int64)
        self.episode_block = int(episode_block or max(1, min(
            64, BUFFER_CELLS // (num_envs * self._n_episode_uniforms))))
        # Episodes drawn but not yet used: sub-environment i's next episode is
        # _buffer[i, _next[i]]; _next[i] == episode_block means its buffer is spent.
        self._buffer = np.empty((num_envs, self.episode_block, self._n_episode_uniforms))
        self._next = np.full(num_envs, self.episode_block, dtype=np.int64)

    def _next_episodes(self, envs: np.ndarray) -> np.ndarray:
        """The next episode's uniforms of each sub-environment in ``envs`` (m,) ->
        (m, n_episode_uniforms), refilling spent buffers with one generator call each."""
        spent = envs[self._next[envs] >= self.episode_block]
        shape = (self.episode_block, self._n_episode_uniforms)
        for i in spent.tolist():  # once per episode_block episodes of a sub-environment
            self._buffer[i] = self._rngs[i].random(shape)
        self._next[spent] = 0
        out = self._buffer[envs, self._next[envs]]
        self._next[envs] += 1
        return out

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if not self._rngs or seed is not None:
            self._rngs = sub_env_generators(seed, self.num_envs)
            self._next[:] = self.episode_block  # buffers of the old generators are void
        self._episode_uniforms = self._next_episodes(np.arange(self.num_envs))
        self._users = self.users_from(self._episode_uniforms)
        self._t[:] = 0
        return self._users.features.copy(), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._users is None:
            raise RuntimeError("call reset() before step()")
        candidates = self.check_actions(actions, self.num_envs)
        u = self.click_uniforms(self._episode_uniforms, self._t)
        shown, probs, clicks = self.respond(self._users, candidates, u)
        rewards = clicks.sum(axis=1).astype(np.float64)
        self._t += 1
        terminated = self._t >= self.config.session_length
        truncated = np.zeros(self.num_envs, dtype=bool)
        info: dict[str, Any] = {
            "shown": shown,
            "clicks": clicks.astype(np.int8),
            "click_prob": probs,
            "expected_reward": probs.sum(axis=1).astype(np.float64),
        }
        obs = self._users.features.copy()
        if terminated.any():
            done = np.flatnonzero(terminated)
            info["final_obs"] = obs.copy()
            info["_final_obs"] = terminated.copy()
            fresh = self._next_episodes(done)
            self._episode_uniforms[done] = fresh
            new_users = self.users_from(fresh)
            features = self._users.features.copy()
            hidden = self._users.hidden.copy()
            features[done] = new_users.features
            hidden[done] = new_users.hidden
            self._users = UserBatch(features=features, hidden=hidden)
            self._t[done] = 0
            obs = features.copy()
        return obs, rewards, terminated, truncated, info

    def expected_reward_all(self) -> np.ndarray:
        """(num_envs, n_items) click probabilities of every item for the current users.

        Privileged (evaluation only). With same-step autoreset the current users after a
        ``step`` that ended their episodes are already the next ones: call this between
        ``reset``/``step`` and the ``step`` whose users it should describe.
        """
        if self._users is None:
            raise RuntimeError("call reset() first")
        return self.world.response.click_prob_all(self._users.hidden)
