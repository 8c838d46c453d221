"""What the single and the native vector two-stage environments share: world set-up, action
checks, the user's response, episode draws, logging (Ma et al., WWW 2020; see
:mod:`recsim_envs.two_stage.envs`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from recsim_envs.core.built_world import BuiltWorld, check_built_world
from recsim_envs.core.policies import BehaviourPolicy, LinearScorer
from recsim_envs.data.dataset import LoggedDataset
from recsim_envs.two_stage.family import FAMILY
from recsim_envs.two_stage.users import UserBatch
from recsim_envs.two_stage.world import SYNTHETIC, TwoStageConfig, TwoStageWorld, WorldSource

BUFFER_CELLS = 1 << 21
"""Uniforms (float64) a native vector environment keeps drawn ahead by default: 16 MB."""


class TwoStageCore:
    """What the single and the vector environment share: world, spaces, the response step."""

    config: TwoStageConfig
    world: TwoStageWorld
    family = FAMILY.name
    source: ClassVar[WorldSource] = SYNTHETIC
    """Which world the environment runs on (settings class, builder, id, logging protocol)."""
    positive_threshold: ClassVar[float | None] = None
    """Click probability from which an item is a ground-truth positive of the ranking
    metrics (None: the evaluation's default quantile; the paper's protocol sets 0.5)."""

    def excluded_items(self) -> np.ndarray | None:
        """(n, n_items) bool: items the ranking metrics skip for each current user (the
        paper's logged positives), or None (none skipped)."""
        return None

    @classmethod
    def build_world(cls, **settings: Any) -> BuiltWorld:
        """The world of ``settings`` (this id's source), to share between environments:
        ``gymnasium.make(id, **settings, built_world=world)`` builds nothing again."""
        for name in ("render_mode", "episode_block", "num_envs", "built_world"):
            settings.pop(name, None)  # environment settings, not the world's
        config = cls.source.config_class.from_kwargs(**settings)
        world, resolved, info = cls.source.build(config)
        return BuiltWorld(cls.source.env_id, config, (world, resolved, info))

    def _setup(self, settings: dict[str, Any]) -> None:
        """Parse ``settings`` with the source's settings class and build the world, or take
        the ``built_world`` passed in (built from the same settings)."""
        built = settings.pop("built_world", None)
        if built is None:
            built = self.build_world(**settings)
        config = self.source.config_class.from_kwargs(**settings)
        world, config, self.world_info = check_built_world(built, self.source.env_id, config)
        self.config = config
        self.world = world
        self.n_items = world.n_items
        self.n_candidates = config.n_candidates
        self.slate_size = config.slate_size
        self.user_dim = world.users.user_dim
        bound = np.float32(getattr(world.users, "bound", 5.0))
        self.single_obs_space = spaces.Box(-bound, bound, (self.user_dim,), np.float32)
        self.single_act_space = spaces.MultiDiscrete(
            np.full(config.n_candidates, self.n_items, dtype=np.int64)
        )
        # Uniforms per episode: the user, then the click draws of every step.
        self._n_user_uniforms = world.users.n_uniforms
        self._n_episode_uniforms = (
            self._n_user_uniforms + config.session_length * config.slate_size
        )

    # ------------------------------------------------------------------ checks
    def check_actions(self, actions: Any, n: int) -> np.ndarray:
        """Validate candidate sets: (n, k) integer ids in [0, n_items). Returns int64."""
        arr = np.asarray(actions)
        want = (n, self.n_candidates)
        if arr.shape != want:
            single = arr.shape == (self.n_candidates,) and n == 1
            if not single:
                raise ValueError(
                    f"action must be {self.n_candidates} item ids "
                    f"(shape {want if n > 1 else (self.n_candidates,)}), got shape {arr.shape}"
                )
            arr = arr[None]
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise ValueError(f"action must hold integer item ids, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_items):
            raise ValueError(
                f"action holds item ids outside [0, {self.n_items}): "
                f"min {arr.min()}, max {arr.max()}"
            )
        return arr.astype(np.int64, copy=False)

    def respond(
        self, users: UserBatch, candidates: np.ndarray, click_uniforms: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ranker then user: returns shown (n, s), click probabilities (n, s), clicks (n, s)."""
        shown = self.world.ranker.select(users.features, candidates, self.slate_size)
        valid = shown >= 0
        probs = self.world.response.click_prob(users.hidden, np.where(valid, shown, 0))
        probs = np.where(valid, probs, 0.0).astype(np.float32)
        clicks = click_uniforms < probs
        return shown, probs, clicks

    def draw_episode(self, rng: np.random.Generator) -> np.ndarray:
        """One generator call per episode: the user's uniforms and all click uniforms."""
        return rng.random(self._n_episode_uniforms)

    def users_from(self, episode_uniforms: np.ndarray) -> UserBatch:
        return self.world.users.from_uniforms(episode_uniforms[:, : self._n_user_uniforms])

    def click_uniforms(self, episode_uniforms: np.ndarray, step: np.ndarray) -> np.ndarray:
        """(n, n_episode_uniforms), steps (n,) -> (n, slate_size) click uniforms of each step."""
        start = self._n_user_uniforms + step[:, None] * self.slate_size
        cols = start + np.arange(self.slate_size)[None, :]
        return np.take_along_axis(episode_uniforms, cols, axis=1)

    # ------------------------------------------------------------------ helpers for policies
    def behaviour_scorer(self) -> LinearScorer:
        """The default scoring model for softmax / epsilon-greedy behaviour policies.

        A bilinear model fitted on clicks of 10,000 random user-item cells (noisy, so a
        behaviour policy built on it is informative but far from optimal).
        """
        return LinearScorer(self.world.behaviour_weights, self.world.item_features)

    def system_arrays(self) -> dict[str, np.ndarray]:
        """The deployed system's public parts, shipped with logged data for agents."""
        return {
            "item_features": self.world.item_features,
            "ranker_weights": self.world.ranker.weights,
        }


    def log_rounds(
        self,
        policy: BehaviourPolicy,
        n_rounds: int,
        rng: np.random.Generator,
        seed: int | None = None,
        chunk_cells: int = 2_000_000,
    ) -> LoggedDataset:
        """``n_rounds`` logged rows of ``policy`` with exact propensities, by the source's
        protocol (:func:`recsim_envs.two_stage.log.log_rounds` unless it says otherwise)."""
        return self.source.log_rounds(self, policy, n_rounds, rng, seed, chunk_cells)

    def env_id(self) -> str:
        spec = getattr(self, "spec", None)
        return spec.id if spec is not None else self.source.env_id
