"""Two-stage recommendation: a candidate generator nominates k items, a fixed ranker shows one.

The setting of Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020).
The agent is the candidate generator; the ranker and the user are part of the environment.
:class:`TwoStageEnv` steps one user, :class:`TwoStageVectorEnv` steps many in one numpy call;
both are built on a :class:`TwoStageWorld` (catalogue, users, response model, ranker) that is
fixed by ``world_seed`` so that logging and evaluation see the same system.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.policies import BehaviourPolicy, LinearScorer, draw_actions
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.two_stage.items import ItemCatalogue, low_rank_catalogue
from recsim_envs.two_stage.ranker import (
    BilinearRanker,
    fit_bilinear,
    fit_bilinear_grid,
    shown_item_probability,
)
from recsim_envs.two_stage.response import LogisticResponse, ResponseModel
from recsim_envs.two_stage.settings import FromKwargs
from recsim_envs.two_stage.users import UserBatch, UserSampler, make_low_rank_user_sampler

MAX_ITEMS = 1_000_000


@dataclass(frozen=True)
class TwoStageConfig(FromKwargs):
    """Settings of a two-stage environment (``gymnasium.make(id, **settings)``).

    Attributes:
        n_items: catalogue size, 10 to 1,000,000.
        n_candidates: k, item ids per action (the candidate set).
        slate_size: items the ranker shows per step (1 <= slate_size <= n_candidates).
        session_length: steps per episode (the same user throughout).
        user_dim: observable user feature dimension.
        item_dim: observable item feature dimension.
        latent_dim: rank of the hidden preference model.
        user_feature_noise, item_feature_noise: how imperfectly features reveal the latents.
        feature_bound: user features are clipped to [-bound, bound].
        response_scale: weight of the latent affinity in the click logit.
        response_offset: base click logit (sets the average click rate).
        item_bias_std: std of hidden item popularity.
        ranker_noise: relative perturbation of the ranker's fitted weights; 0 gives the best
            bilinear fit of the true logits from features, larger makes the ranker disagree
            more with the user.
        ranker_fit_users, ranker_fit_items: sample sizes for fitting the ranker.
        world_seed: seeds the catalogue, users' feature map, ranker and default scorer.
    """

    n_items: int = 1000
    n_candidates: int = 30
    slate_size: int = 1
    session_length: int = 1
    user_dim: int = 16
    item_dim: int = 16
    latent_dim: int = 8
    user_feature_noise: float = 0.7
    item_feature_noise: float = 0.7
    feature_bound: float = 5.0
    response_scale: float = 0.6
    response_offset: float = -3.5
    item_bias_std: float = 0.5
    ranker_noise: float = 1.0
    ranker_fit_users: int = 500
    ranker_fit_items: int = 200
    world_seed: int = 0

    def __post_init__(self) -> None:
        if not 10 <= self.n_items <= MAX_ITEMS:
            raise ValueError(f"n_items must be in [10, {MAX_ITEMS:,}], got {self.n_items}")
        if not 1 <= self.n_candidates <= self.n_items:
            raise ValueError(
                f"n_candidates must be in [1, n_items={self.n_items}], got {self.n_candidates}"
            )
        if not 1 <= self.slate_size <= self.n_candidates:
            raise ValueError(
                f"slate_size must be in [1, n_candidates={self.n_candidates}], "
                f"got {self.slate_size}"
            )
        if self.session_length < 1:
            raise ValueError(f"session_length must be >= 1, got {self.session_length}")
        for name in ("user_dim", "item_dim", "latent_dim", "ranker_fit_users", "ranker_fit_items"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("user_feature_noise", "item_feature_noise", "ranker_noise", "item_bias_std"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.feature_bound > 0:
            raise ValueError(f"feature_bound must be > 0, got {self.feature_bound}")


@dataclass(frozen=True)
class TwoStageWorld:
    """Everything fixed across episodes: items, user model, response model, ranker.

    Attributes:
        item_features: (n_items, item_dim) observable item features.
        users: draws users (observable features and hidden state).
        response: click probabilities from the hidden state.
        ranker: the fixed second stage.
        behaviour_weights: (user_dim + 1, item_dim + 1) weights of a default scoring model
            for behaviour policies (fitted on noisy clicks of random user-item cells).
    """

    item_features: np.ndarray
    users: UserSampler
    response: ResponseModel
    ranker: BilinearRanker
    behaviour_weights: np.ndarray

    @property
    def n_items(self) -> int:
        return self.item_features.shape[0]


@functools.lru_cache(maxsize=4)
def build_synthetic_world(config: TwoStageConfig) -> TwoStageWorld:
    """The low-rank world of ``TwoStageSynthetic-v0``, drawn from ``config.world_seed``.

    The ranker is the ridge fit of the true click logits on observable features (the best a
    bilinear model can do), perturbed by ``ranker_noise``: a good but imperfect ranker, as
    in production where it is trained on past logs. The default behaviour scorer is a ridge
    fit on 10,000 random (user, item) cells with sampled clicks, as in the reference set-up
    of Ma et al. where the logging policy is trained on 10,000 random cells.

    Memoised on the (frozen, hashable) config: the world is a pure function of it, a
    benchmark cell builds it twice (logging and evaluation) and the cells of one seed share
    it; worlds are never mutated.
    """
    rng = np.random.default_rng(config.world_seed)
    catalogue = low_rank_catalogue(
        config.n_items, config.item_dim, config.latent_dim,
        config.item_feature_noise, config.item_bias_std, rng,
    )
    users = make_low_rank_user_sampler(
        config.latent_dim, config.user_dim, config.user_feature_noise, config.feature_bound, rng
    )
    response = LogisticResponse(catalogue, config.response_scale, config.response_offset)

    # Ranker: ridge on true logits over a sample of cells.
    fit_users = users.from_uniforms(rng.random((config.ranker_fit_users, users.n_uniforms)))
    n_fit_items = min(config.ranker_fit_items, config.n_items)
    items = rng.choice(config.n_items, size=n_fit_items, replace=False)
    grid = np.broadcast_to(items, (len(fit_users), n_fit_items))
    logits = response.logits(fit_users.hidden, grid)  # (users, items)
    weights = fit_bilinear_grid(fit_users.features, catalogue.features[items], logits, ridge=1.0)
    weights = weights + config.ranker_noise * np.abs(weights).mean() * rng.standard_normal(
        weights.shape, dtype=np.float32
    )
    ranker = BilinearRanker(weights=weights, item_features=catalogue.features)

    behaviour_weights = _fit_click_scorer(rng, users, catalogue, response, n_cells=10_000)
    return TwoStageWorld(catalogue.features, users, response, ranker, behaviour_weights)


def _fit_click_scorer(
    rng: np.random.Generator,
    users: UserSampler,
    catalogue: ItemCatalogue,
    response: ResponseModel,
    n_cells: int,
) -> np.ndarray:
    sample = users.from_uniforms(rng.random((n_cells, users.n_uniforms)))
    items = rng.integers(0, catalogue.n_items, size=n_cells)
    clicks = rng.random(n_cells) < response.click_prob(sample.hidden, items[:, None])[:, 0]
    labels = clicks.astype(np.float64)
    weights = fit_bilinear(sample.features, catalogue.features[items], labels, 10.0)
    # Scale to unit score spread across items, so a softmax temperature of 1 means the same
    # peakedness whatever the click rate.
    step = max(1, catalogue.n_items // 4096)  # a strided subset keeps 1M-item worlds cheap
    scores = LinearScorer(weights, catalogue.features[::step])(sample.features[:256])
    return (weights / max(float(scores.std(axis=1).mean()), 1e-8)).astype(np.float32)


class TwoStageCore:
    """What the single and the vector environment share: world, spaces, the response step."""

    config: TwoStageConfig
    world: TwoStageWorld
    family = "two_stage"
    # Subclasses with other worlds (e.g. MovieLens) parse their own settings class.
    config_class: Any = TwoStageConfig

    def _setup(self, config: TwoStageConfig, world: TwoStageWorld) -> None:
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

    # ------------------------------------------------------------------ logging
    def log_rounds(
        self,
        policy: BehaviourPolicy,
        n_rounds: int,
        rng: np.random.Generator,
        seed: int | None = None,
        chunk_cells: int = 2_000_000,
    ) -> LoggedDataset:
        """Log ``n_rounds`` one-step rounds of ``policy`` with exact propensities.

        Per round: a fresh user; k candidates drawn i.i.d. from ``policy.probs`` (set
        semantics); the ranker's slate; clicks. ``action`` is the item shown first and
        ``pscore`` its exact probability (see
        :func:`recsim_envs.two_stage.ranker.shown_item_probability`);
        ``reward`` is its click. Extras: ``candidates`` (n, k) int32 and, for slates, ``shown``
        and ``clicks`` (n, s). Work proceeds in chunks of about ``chunk_cells`` user-item
        cells, so memory stays bounded for large catalogues.
        """
        if policy.n_actions != self.n_items:
            raise ValueError(
                f"behaviour policy covers {policy.n_actions} actions; the catalogue has "
                f"{self.n_items} items"
            )
        chunk = max(1, chunk_cells // self.n_items)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in
            ("context", "action", "pscore", "reward", "expected_reward", "candidates",
             "shown", "clicks")}
        k = self.n_candidates
        for start in range(0, n_rounds, chunk):
            m = min(chunk, n_rounds - start)
            users = self.world.users.from_uniforms(rng.random((m, self._n_user_uniforms)))
            candidates, probs = draw_actions(policy, users.features, k, rng)
            shown, click_p, clicks = self.respond(
                users, candidates, rng.random((m, self.slate_size))
            )
            first = shown[:, 0]
            pscore = shown_item_probability(
                probs, self.world.ranker.scores_all(users.features), first, k
            )
            parts["context"].append(users.features)
            parts["action"].append(first)
            parts["pscore"].append(pscore)
            parts["reward"].append(clicks[:, 0].astype(np.float32))
            parts["expected_reward"].append(click_p[:, 0])
            parts["candidates"].append(candidates.astype(np.int32))
            parts["shown"].append(shown)
            parts["clicks"].append(clicks.astype(np.int8))
        cols = {name: np.concatenate(v) for name, v in parts.items()}
        extras = {"candidates": cols.pop("candidates")}
        shown_all, clicks_all = cols.pop("shown"), cols.pop("clicks")
        if self.slate_size > 1:
            extras["shown"] = shown_all
            extras["clicks"] = clicks_all
        meta = DatasetMeta(
            env_id=self.env_id(),
            env_kwargs=dataclasses.asdict(self.config),
            n_actions=self.n_items,
            policy_name=policy.name,
            policy_settings=policy.settings(),
            seed=seed,
            info={
                "family": self.family,
                "action": "item shown first by the ranker",
                "n_candidates": self.n_candidates,
                "slate_size": self.slate_size,
                "obs_dim": self.user_dim,
            },
        )
        return LoggedDataset(**cols, meta=meta, extras=extras, system=self.system_arrays())

    def env_id(self) -> str:
        spec = getattr(self, "spec", None)
        return spec.id if spec is not None else "recsim_envs/TwoStageSynthetic-v0"


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
        config = self.config_class.from_kwargs(**settings)
        self._init_world(config)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.observation_space = self.single_obs_space
        self.action_space = self.single_act_space
        self._users: UserBatch | None = None
        self._episode_uniforms: np.ndarray | None = None
        self._t = 0
        self._last: dict[str, Any] = {}

    def _init_world(self, config: TwoStageConfig) -> None:
        self._setup(config, build_synthetic_world(config))

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
        return f"step {self._t}: {n_distinct} distinct candidates; shown: {shown}\n"


class TwoStageVectorEnv(TwoStageCore, VectorEnv):
    """``num_envs`` users of :class:`TwoStageEnv` stepped in one batched call.

    Sub-environment i, reset with seed s, reproduces a single :class:`TwoStageEnv` reset with
    seed s + i exactly: each keeps its own generator and draws an episode's randomness in
    one call, in the same order as the single environment. A finished sub-environment
    resets within the same step (``AutoresetMode.SAME_STEP``); its last observation is in
    ``info["final_obs"]`` (masked by ``info["_final_obs"]``).
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **settings: Any) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        config = self.config_class.from_kwargs(**settings)
        self._init_world(config)
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

    def _init_world(self, config: TwoStageConfig) -> None:
        self._setup(config, build_synthetic_world(config))

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} environments")
        if not self._rngs or seed is not None:
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        self._episode_uniforms = np.stack([self.draw_episode(r) for r in self._rngs])
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
            # The only per-environment loop: one generator call per finished episode, which
            # keeps sub-environment i identical to a single environment with its seed.
            fresh = np.stack([self.draw_episode(self._rngs[i]) for i in done])
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
