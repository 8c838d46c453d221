"""The native vector environment of ``SequentialRec-v0``: B sessions in one numpy call.

Registered as the ``vector_entry_point`` of ``recsim_envs/SequentialRec-v0`` (Wang et al.,
WSDM 2025 style sessions; see ``docs/sequential.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.vector import sub_env_generators
from recsim_envs.sequential.envs import SequentialRecEnv
from recsim_envs.sequential.family import FAMILY
from recsim_envs.sequential.text_env import state_text


class SequentialVectorEnv(VectorEnv):
    """Native vector version of :class:`SequentialRecEnv` (same-step autoreset).

    Sub-env ``i`` keeps its own generator (``seeding.np_random(seed + i)``,
    :func:`~recsim_envs.core.vector.sub_env_generators`) and draws exactly what a single
    env reset with ``seed + i`` draws, so the two agree; the turn arithmetic is one batched
    numpy call. A finished sub-env resets within the same step; its final observation is in
    ``info["final_obs"]`` (mask ``info["_final_obs"]``). ``info["action_mask"]``
    (num_envs, n_items) holds each sub-env's action mask for the observation returned
    (:meth:`action_masks`). ``info["state_text"]`` (object
    array) only when ``with_text=True``.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}
    family = FAMILY.name
    single_env_class: type[SequentialRecEnv] = SequentialRecEnv
    """The single environment whose world and dynamics the sub-environments share (a
    subclass over another world sets its own)."""

    def __init__(self, num_envs: int = 1, with_text: bool = False, **kwargs: Any) -> None:
        single = self.single_env_class(with_text=with_text, **kwargs)
        self._single = single
        self._dyn = single._dyn
        self.world = single.world
        self.layout = single.layout
        self.with_text = with_text
        self.num_envs = int(num_envs)
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator] | None = None
        self._users = np.zeros(self.num_envs, np.int64)
        self._hist, self._fb = self._dyn.empty_history(self.num_envs)
        self._t = np.zeros(self.num_envs, np.int64)

    def _new_user(self, i: int) -> int:
        train = self.world.train_users
        return int(train[self._rngs[i].integers(len(train))])

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        # seed None keeps the generators (fresh ones before the first reset)
        if seed is not None or self._rngs is None:
            self._rngs = sub_env_generators(seed, self.num_envs)
        self._users = np.array([self._new_user(i) for i in range(self.num_envs)], np.int64)
        if options and options.get("user_ids") is not None:
            # Evaluation of chosen (e.g. held-out) users: the first session of sub-env i is
            # user_ids[i]; later sessions draw training users as usual.
            ids = np.asarray(options["user_ids"], dtype=np.int64)
            if ids.shape != (self.num_envs,) or ids.min() < 0 or ids.max() >= self.world.n_users:
                raise ValueError(f"options['user_ids'] must be {self.num_envs} user ids in "
                                 f"[0, {self.world.n_users}), got shape {ids.shape}")
            self._users = ids.copy()
        self._hist, self._fb = self._dyn.empty_history(self.num_envs)
        self._t[:] = 0
        return self._dyn.obs(self._users, self._hist, self._fb), self._infos()

    def step(self, actions: Any):
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions must be {self.num_envs} integer item ids, got {actions!r}")
        bad = (a < 0) | (a >= self.world.n_items)
        if bad.any():
            raise ValueError(f"action {int(a[bad][0])} is outside the catalogue "
                             f"[0, {self.world.n_items})")
        rating, reward, term, trunc = self._dyn.step(self._users, self._hist, self._fb, self._t,
                                                     a.astype(np.int64))
        obs = self._dyn.obs(self._users, self._hist, self._fb)
        infos = self._infos()
        infos["rating"] = rating.astype(np.float64)
        ended = np.flatnonzero(term | trunc)
        if ended.size:
            final = np.full(self.num_envs, None, dtype=object)
            for i in ended:  # one small dict per finished session
                final[i] = {k: v[i].copy() if isinstance(v[i], np.ndarray) else v[i]
                            for k, v in obs.items()}
                self._users[i] = self._new_user(i)
            self._dyn.clear(self._hist, self._fb, self._t, ended)
            mask = np.zeros(self.num_envs, bool)
            mask[ended] = True
            infos["final_obs"], infos["_final_obs"] = final, mask
            fresh = self._dyn.obs(self._users[ended], self._hist[ended], self._fb[ended])
            for key in obs:
                obs[key][ended] = fresh[key]
            infos["action_mask"] = self.action_masks()  # the new sessions' masks
            if self.with_text:
                infos["state_text"] = self._infos()["state_text"]
        return obs, reward.astype(np.float64), term, trunc, infos

    def action_masks(self) -> np.ndarray:
        """(num_envs, n_items) bool: per sub-env, the items on which the documented quit
        rule would not end the session (see :meth:`SequentialRecEnv.action_masks`)."""
        return self._dyn.safe_items(self._hist)

    def _infos(self) -> dict[str, Any]:
        infos: dict[str, Any] = {"user_id": self._users.copy(), "turn": self._t.copy(),
                                 "action_mask": self.action_masks()}
        if self.with_text:
            k = self.layout.history_len
            infos["state_text"] = np.array(
                [state_text(self.world, int(u), h[-k:], f[-k:])
                 for u, h, f in zip(self._users, self._hist, self._fb, strict=True)],
                dtype=object)
        return infos

    def make_llm_user(self, alignment: float = 0.5, **knobs: Any):
        """See :meth:`SequentialRecEnv.make_llm_user`."""
        return self._single.make_llm_user(alignment=alignment, **knobs)
