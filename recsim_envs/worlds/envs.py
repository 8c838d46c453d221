"""Environments on a fitted world: ``TwoStageFromWorld-v0`` and ``SequentialFromWorld-v0``.

Both reuse the family's environment classes unchanged (so the benchmark family adapters,
``collect`` and the agents work as on the built-in worlds); only the world differs: it is
loaded from a directory written by :meth:`recsim_envs.worlds.FittedWorld.save`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsim_envs.core.built_world import check_built_world
from recsim_envs.sequential.dynamics import SessionDynamics
from recsim_envs.sequential.envs import SequentialRecEnv, validate_session_settings
from recsim_envs.sequential.vector_env import SequentialVectorEnv
from recsim_envs.sequential.world import CATEGORIES, SequentialWorld
from recsim_envs.two_stage.envs import TwoStageEnv, TwoStageVectorEnv
from recsim_envs.two_stage.settings import FromKwargs
from recsim_envs.two_stage.world import TwoStageWorld, WorldSource
from recsim_envs.worlds.store import FittedWorld, WorldError, load_world

TWO_STAGE_ID = "recsim_envs/TwoStageFromWorld-v0"
SEQUENTIAL_ID = "recsim_envs/SequentialFromWorld-v0"


def _world(world: Any) -> FittedWorld:
    if world is None:
        raise WorldError("pass world=<directory of a fitted world> (written by `python -m "
                         "recsim_envs fit-world` or FittedWorld.save)")
    return world if isinstance(world, FittedWorld) else load_world(world)


# ---------------------------------------------------------------------------- two-stage
@dataclass(frozen=True)
class WorldTwoStageConfig(FromKwargs):
    """Settings of ``TwoStageFromWorld-v0``.

    Attributes:
        world: the fitted world's directory.
        n_candidates: k, item ids per action; slate_size: items shown per step;
        session_length: steps per episode (the same user throughout).
        world_seed: None uses the ranker and behaviour scorer fitted with the world; an
            int refits both from clicks sampled with this seed (the users and their
            response model stay those of the table). The benchmark runner sets it per seed.
    """

    world: str | None = None
    n_candidates: int = 30
    slate_size: int = 1
    session_length: int = 1
    world_seed: int | None = None

    def __post_init__(self) -> None:
        if self.world is not None and not isinstance(self.world, str):
            object.__setattr__(self, "world", os.fspath(self.world))
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {self.n_candidates}")
        if not 1 <= self.slate_size <= self.n_candidates:
            raise ValueError(f"slate_size must be in [1, n_candidates={self.n_candidates}], "
                             f"got {self.slate_size}")
        if self.session_length < 1:
            raise ValueError(f"session_length must be >= 1, got {self.session_length}")


def build_two_stage_world(fitted: FittedWorld, world_seed: int | None = None) -> TwoStageWorld:
    """A :class:`TwoStageWorld`: a real user drawn uniformly, clicks looked up in the table."""
    from recsim_envs.two_stage.ranker import BilinearRanker
    from recsim_envs.two_stage.response import LookupResponse
    from recsim_envs.two_stage.users import TableUserSampler
    from recsim_envs.worlds.fit import system_fits

    a = fitted.arrays
    item_obs = np.asarray(a["item_obs"], np.float32)
    user_obs = np.asarray(a["user_obs"], np.float32)
    truth = np.asarray(a["truth"], np.float32)
    ranker_w, behaviour = a["ranker_weights"], a["behaviour_weights"]
    if world_seed is not None:
        cells = int(fitted.manifest.get("settings", {}).get("ranker_fit_cells", 20_000))
        ranker_w, behaviour = system_fits(truth, user_obs, item_obs, cells,
                                          np.random.default_rng(world_seed))
    users = TableUserSampler(user_obs, bound=5.0)
    ranker = BilinearRanker(np.asarray(ranker_w, np.float32), item_obs)
    return TwoStageWorld(item_obs, users, LookupResponse(truth), ranker,
                         np.asarray(behaviour, np.float32))


def _build_for_env(config: WorldTwoStageConfig
                   ) -> tuple[TwoStageWorld, WorldTwoStageConfig, dict[str, Any]]:
    fitted = _world(config.world)
    if config.n_candidates > fitted.n_items:
        raise ValueError(f"n_candidates={config.n_candidates} exceeds the {fitted.n_items} "
                         f"items of the world {config.world}")
    info = {"manifest": fitted.manifest, "n_users": fitted.n_users, "n_items": fitted.n_items}
    return build_two_stage_world(fitted, config.world_seed), config, info


FROM_WORLD = WorldSource(WorldTwoStageConfig, _build_for_env, TWO_STAGE_ID)
"""``TwoStageFromWorld-v0``: the world of a directory written by ``FittedWorld.save``."""


class TwoStageFromWorldEnv(TwoStageEnv):
    """Two-stage recommendation on a world fitted to the user's own logs.

    ## Description
    As ``TwoStageSynthetic-v0`` (Ma et al., WWW 2020): the agent nominates
    ``n_candidates`` item ids, a fixed bilinear ranker shows ``slate_size`` of them and
    the user clicks; users and clicks come from a world fitted by
    :func:`recsim_envs.worlds.fit` on a table of interactions.

    ## Action Space
    ``MultiDiscrete([n_items] * n_candidates)``; items are indexed in sorted original-id
    order (``world.npz["item_ids"]``).

    ## Observation Space
    ``Box(-5, 5, (d_u,), float32)``: the user's public features (given features, log
    activity, positive rate and category shares from the training log).

    ## Rewards
    Clicks on the shown slate; ``info["expected_reward"]`` is exact.

    ## Starting State
    A user of the table drawn uniformly.

    ## Episode End
    ``terminated`` after ``session_length`` steps; never truncated.

    ## User Model
    p(click | u, j) = T[u, j], the fitted simulator's probability that the label rule holds.

    ## Arguments
    ``world`` (directory, required), ``n_candidates=30``, ``slate_size=1``,
    ``session_length=1``, ``world_seed=None`` (see :class:`WorldTwoStageConfig`).

    ## Version History
    - v0: initial version.
    """

    source = FROM_WORLD


class TwoStageFromWorldVectorEnv(TwoStageVectorEnv):
    """Native vector version of :class:`TwoStageFromWorldEnv` (same-step autoreset)."""

    source = FROM_WORLD


# ---------------------------------------------------------------------------- sequential
@dataclass
class FittedSequentialWorld(SequentialWorld):
    """A :class:`SequentialWorld` whose public user features come from the fitted world:
    ``[user features scaled to [0, 1], stated likes (8 categories)]`` (the likes last, as
    the sequential behaviour scorer reads them)."""

    public_user: np.ndarray | None = None

    def user_features(self) -> np.ndarray:
        return np.hstack([self.public_user, self.user_likes]).astype(np.float32)

    def describe_user(self, user: int) -> str:
        likes = [CATEGORIES[c] for c in np.flatnonzero(self.user_likes[user])]
        return f"User {int(user)}: mostly likes items of the groups {', '.join(likes)}."

    def describe_item(self, item: int) -> str:
        return f"{self.item_names[item]} (group {CATEGORIES[self.item_category[item]]})"


def build_sequential_world(fitted: FittedWorld, world_seed: int | None = None
                           ) -> FittedSequentialWorld:
    """Ratings: the fitted probabilities quantised at global quantiles so that the shares
    of the levels match the table's; categories from the fit; likes: each user's two
    categories with the highest mean rating; popularity: the items' log activity.
    ``world_seed``: None keeps the fit's held-out users; an int draws a fresh split of the
    same size (the benchmark's per-seed world)."""
    a = fitted.arrays
    truth = np.asarray(a["truth"], np.float32)
    levels, shares = np.asarray(a["rating_levels"]), np.asarray(a["rating_shares"])
    cuts = np.quantile(truth, np.cumsum(shares)[:-1])
    ratings = levels[np.searchsorted(cuts, truth, side="right")].astype(np.float32)
    cat = np.asarray(a["item_category"], np.int64)
    n_users, n_items = truth.shape
    onehot = np.eye(len(CATEGORIES), dtype=np.float32)[cat]
    mean = (truth @ onehot) / np.maximum(onehot.sum(axis=0), 1)
    mean[:, onehot.sum(axis=0) == 0] = -np.inf
    top = np.argsort(-mean, axis=1, kind="stable")[:, :2]
    likes = np.zeros((n_users, len(CATEGORIES)), np.float32)
    np.put_along_axis(likes, top, 1.0, axis=1)
    uo = np.asarray(a["user_obs"], np.float64)
    public = (uo + 5.0) / 10.0  # user_obs lie in [-5, 5]
    pop = np.asarray(a["item_obs"])[:, -N_STATS_FROM_END]
    pop = ((pop - pop.min()) / max(pop.max() - pop.min(), 1e-9)).astype(np.float32)
    names = a["item_names"] if "item_names" in a else np.char.add("item ", a["item_ids"])
    test = np.asarray(a["test_users"], np.int64)
    train = np.setdiff1d(np.arange(n_users), test).astype(np.int64)
    if world_seed is not None:
        perm = np.random.default_rng(world_seed).permutation(n_users)
        test, train = np.sort(perm[:len(test)]), np.sort(perm[len(test):])
    zeros = np.zeros(n_items, np.int64)
    return FittedSequentialWorld(
        ratings=ratings, item_category=cat, item_colour=zeros, item_material=zeros,
        item_popularity=pop, item_names=np.asarray(names).astype(str),
        user_gender=np.zeros(n_users, np.int64), user_age=np.zeros(n_users, np.int64),
        user_likes=likes, test_users=test, train_users=train,
        rating_min=float(min(levels.min(), 0.0)), rating_max=float(levels.max()),
        public_user=public.astype(np.float32))


# item_obs ends with [log activity, positive rate, 8 category columns]
N_STATS_FROM_END = 10


class _PatienceDynamics(SessionDynamics):
    """The sequential dynamics plus the fitted quit model: a user also leaves when the
    session reaches their patience (their median session length in the table)."""

    def __init__(self, *args: Any, patience: np.ndarray, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patience = np.where(patience > 0, patience, np.iinfo(np.int64).max)

    def step(self, users, hist, fb, t, actions):
        rating, reward, quit_, trunc = super().step(users, hist, fb, t, actions)
        quit_ = quit_ | (t >= self.patience[users])
        return rating, reward, quit_, trunc & ~quit_


class SequentialFromWorldEnv(SequentialRecEnv):
    """Sequential sessions on a world fitted to the user's own logs.

    ## Description
    As ``SequentialRec-v0`` (Wang et al., WSDM 2025): each turn one item is shown, the user
    rates it and may leave. Users, ratings and the quit model come from a fitted world.

    ## Action Space
    ``Discrete(n_items)``.

    ## Observation Space
    ``Dict(user_id, user_features Box(0, 1, (d_u + 8,)), recent_items, recent_feedback)``.

    ## Rewards
    ``reward_type="rating"``: the rating level (the table's levels, e.g. 1..5);
    ``"click"``: 1 when the rating meets ``click_threshold`` (default: the label rule's).

    ## Starting State
    A training user drawn uniformly (``options={"user_id": u}`` for a given user).

    ## Episode End
    ``terminated`` when the user repeats an item, sees more than ``max_same_category``
    items of one category in the last ``quit_window`` (the default rule), or reaches their
    fitted patience (when the table had timestamps); ``truncated`` after ``max_turns``.

    ## User Model
    Ratings: the fitted probabilities quantised so that the level shares match the table.

    ## Arguments
    ``world`` (directory, required), ``built_world=None`` (the world built once with
    ``SequentialFromWorldEnv.build_world(**settings)``), ``history_len=5``, ``max_turns=30``,
    ``reward_type="rating"``, ``click_threshold=None``, ``quit_window=5``,
    ``max_same_category=2``, ``with_text=True``, ``world_seed=None`` (an int redraws the
    held-out user split; the benchmark runner sets it per seed), ``item_features=False``
    (True adds ``item_features`` and ``recent_item_features`` as in ``SequentialRec-v0``).
    ``env.unwrapped.action_masks()`` and ``info["action_mask"]``: the items on which the
    category rule would not end the session (the patience limit is not in the mask).

    ## Version History
    - v0: initial version.
    """

    def __init__(self, world: str | None = None, history_len: int = 5, max_turns: int = 30,
                 reward_type: str = "rating", click_threshold: float | None = None,
                 quit_window: int = 5, max_same_category: int = 2, with_text: bool = True,
                 world_seed: int | None = None, render_mode: str | None = None,
                 item_features: bool = False, built_world: Any = None) -> None:
        path = None if world is None else os.fspath(world)
        if built_world is None:
            fitted, built = _world(world), None
        else:
            fitted, built = check_built_world(built_world, self.world_kind,
                                              {"world": path, "world_seed": world_seed})
        validate_session_settings(history_len, max_turns, reward_type, "category",
                                  quit_window, max_same_category, fitted.n_users,
                                  fitted.n_items, 0.5)
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if click_threshold is None:
            click_threshold = float(fitted.manifest.get("click_threshold", 1.0))
        self.kwargs = dict(world=path,
                           history_len=history_len, max_turns=max_turns,
                           reward_type=reward_type, click_threshold=click_threshold,
                           quit_window=quit_window, max_same_category=max_same_category,
                           with_text=with_text, world_seed=world_seed)
        self._fitted = fitted
        self.world = built if built is not None else build_sequential_world(fitted, world_seed)
        self._dyn = _PatienceDynamics(
            self.world, history_len, max_turns, reward_type, click_threshold, "category",
            quit_window, max_same_category, None, patience=np.asarray(fitted.arrays["patience"]))
        self._setup(history_len, with_text, item_features, render_mode,
                    _action_space(self.world.n_items))

    world_kind = SEQUENTIAL_ID

    def world_settings(self) -> dict[str, Any]:
        return {"world": self.kwargs["world"], "world_seed": self.kwargs["world_seed"]}

    def shared_world(self) -> Any:
        return self._fitted, self.world

    def log_rounds(self, *args: Any, **kwargs: Any):
        data = super().log_rounds(*args, **kwargs)
        spec = getattr(self, "spec", None)
        data.meta.env_id = spec.id if spec is not None else SEQUENTIAL_ID
        data.meta.env_kwargs = dict(self.kwargs)
        return data


def _action_space(n_items: int):
    from gymnasium import spaces

    return spaces.Discrete(n_items)


class SequentialFromWorldVectorEnv(SequentialVectorEnv):
    """Native vector version of :class:`SequentialFromWorldEnv` (same-step autoreset)."""

    single_env_class = SequentialFromWorldEnv
