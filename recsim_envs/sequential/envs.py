"""Sequential recommendation sessions: one item per turn, a user who rates it and may leave.

Paper context: the simulated environments of Wang et al., "Large Language Model driven Policy
Exploration for Recommender Systems" (WSDM 2025) and the public Coat / Yahoo / Kuai RL
simulators they follow (see ``docs/sequential.md``).

Contents:
    :class:`SequentialRecEnv` - the Gymnasium environment ``recsim_envs/SequentialRec-v0``.
    :class:`SequentialVectorEnv` - its native vector env (same-step autoreset).
    :class:`SequentialFlatObservation` - wrapper to a flat ``Box`` observation.
    :func:`flatten_obs` / :class:`ObsLayout` - the flat layout agents and logged data use.
    :func:`sequential_behaviour_policy` - a logging policy over flat observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.policies import BehaviourPolicy, SoftmaxPolicy, sample_categorical
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.sequential.text_env import state_text
from recsim_envs.sequential.world import (
    CATEGORIES,
    SequentialWorld,
    build_world,
    load_rating_matrix,
)

ENV_ID = "recsim_envs/SequentialRec-v0"


@dataclass(frozen=True)
class ObsLayout:
    """Where each part of the observation sits in the flat vector.

    Flat observation (float32, length ``dim``):
    ``[user_id (1), user_features (d_user), items (k), feedback (k)]``; ``items`` are ids
    (as floats) padded with ``n_items`` at the front, ``feedback`` the ratings, 0 for padding.
    """

    n_users: int
    n_items: int
    d_user: int
    history_len: int

    @property
    def dim(self) -> int:
        return 1 + self.d_user + 2 * self.history_len

    def split(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n, dim) -> user ids (n,) int64, features (n, d_user), items (n, k) int64,
        feedback (n, k)."""
        flat = np.asarray(flat)
        k, d = self.history_len, self.d_user
        return (
            flat[:, 0].astype(np.int64),
            flat[:, 1:1 + d],
            flat[:, 1 + d:1 + d + k].astype(np.int64),
            flat[:, 1 + d + k:1 + d + 2 * k],
        )

    def to_array(self) -> np.ndarray:
        return np.array([self.n_users, self.n_items, self.d_user, self.history_len], np.int64)

    @classmethod
    def from_array(cls, arr: np.ndarray) -> ObsLayout:
        a = [int(x) for x in np.asarray(arr).ravel()]
        return cls(n_users=a[0], n_items=a[1], d_user=a[2], history_len=a[3])


def flatten_obs(obs: dict[str, np.ndarray]) -> np.ndarray:
    """Dict observation (single or batched) -> flat float32 (dim,) or (n, dim)."""
    user = np.asarray(obs["user_id"], np.float32)
    batched = user.ndim == 1
    parts = [
        user.reshape(-1, 1),
        np.asarray(obs["user_features"], np.float32).reshape(user.size, -1),
        np.asarray(obs["recent_items"], np.float32).reshape(user.size, -1),
        np.asarray(obs["recent_feedback"], np.float32).reshape(user.size, -1),
    ]
    flat = np.concatenate(parts, axis=1)
    return flat if batched else flat[0]


class _Dynamics:
    """Batched session dynamics shared by the single env, the vector env and logging.

    Holds the world and settings; every method works on arrays of B sessions at once.
    History buffers hold the last ``L = max(history_len, quit_window)`` items, oldest
    first, padded with ``n_items`` (item ids) and 0 (ratings).
    """

    def __init__(self, world: SequentialWorld, history_len: int, max_turns: int,
                 reward_type: str, click_threshold: float, quit_rule: str, quit_window: int,
                 max_same_category: int, distance_threshold: float | None) -> None:
        self.world = world
        self.k = history_len
        self.max_turns = max_turns
        self.reward_type = reward_type
        self.click_threshold = click_threshold
        self.quit_rule = quit_rule
        self.window = quit_window
        self.max_same = max_same_category
        self.L = max(history_len, quit_window)
        self.pad = world.n_items
        self.user_features = world.user_features()
        # Category of each item id, with the padding id mapped to an impossible category.
        self.cat = np.append(world.item_category, -1)
        if quit_rule == "distance":
            # Coat/Yahoo style: distance between items = mean |rating difference| over users.
            r = world.ratings.astype(np.float32)
            dist = np.abs(r.T[:, None, :] - r.T[None, :, :]).mean(axis=2) \
                if world.n_items <= 400 else _column_distances(r)
            if distance_threshold is None:
                off = dist[~np.eye(len(dist), dtype=bool)]
                distance_threshold = float(np.quantile(off, 0.05))
            self.dist = np.pad(dist, ((0, 1), (0, 1)), constant_values=np.inf)
        self.distance_threshold = distance_threshold

    def empty_history(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.full((b, self.L), self.pad, np.int64), np.zeros((b, self.L), np.float32))

    def obs(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray) -> dict[str, np.ndarray]:
        """Batched Dict observation of B sessions."""
        return {
            "user_id": users.astype(np.int64),
            "user_features": self.user_features[users],
            "recent_items": hist[:, -self.k:].copy(),
            "recent_feedback": fb[:, -self.k:].copy(),
        }

    def flat_obs(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray) -> np.ndarray:
        return flatten_obs(self.obs(users, hist, fb))

    def would_quit(self, hist: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(B, L) history, (B,) new items -> (B,) bool: does the user leave after this item?

        The window is the new item plus the previous ``quit_window - 1`` items; at the
        start of an episode it holds only the items shown so far (padding never counts).
        """
        prev = hist[:, self.L - (self.window - 1):] if self.window > 1 else hist[:, :0]
        repeat = (prev == actions[:, None]).any(axis=1)
        if self.quit_rule == "category":
            same = (self.cat[prev] == self.cat[actions][:, None]).sum(axis=1) + 1
            return repeat | (same > self.max_same)
        d = self.dist[prev, actions[:, None]]
        return repeat | (d < self.distance_threshold).any(axis=1)

    def rating(self, users: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return self.world.ratings[users, actions]

    def reward(self, rating: np.ndarray) -> np.ndarray:
        if self.reward_type == "click":
            return (rating >= self.click_threshold).astype(np.float32)
        return rating.astype(np.float32)

    def step(self, users: np.ndarray, hist: np.ndarray, fb: np.ndarray, t: np.ndarray,
             actions: np.ndarray):
        """Advance B sessions by one turn (in place on hist, fb, t).

        Returns (rating, reward, terminated, truncated), each (B,).
        """
        rating = self.rating(users, actions)
        quit_ = self.would_quit(hist, actions)
        hist[:, :-1] = hist[:, 1:]
        hist[:, -1] = actions
        fb[:, :-1] = fb[:, 1:]
        fb[:, -1] = rating
        t += 1
        truncated = ~quit_ & (t >= self.max_turns)
        return rating, self.reward(rating), quit_, truncated


def _column_distances(r: np.ndarray) -> np.ndarray:
    # Memory-light version for large catalogues: one item block at a time.
    n = r.shape[1]
    out = np.empty((n, n), np.float32)
    for s in range(0, n, 64):
        out[s:s + 64] = np.abs(r.T[s:s + 64, None, :] - r.T[None, :, :]).mean(axis=2)
    return out


def _validate_kwargs(history_len, max_turns, reward_type, quit_rule, quit_window,
                     max_same_category, n_users, n_items, test_fraction) -> None:
    if history_len < 1:
        raise ValueError(f"history_len must be >= 1, got {history_len}")
    if max_turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    if reward_type not in ("rating", "click"):
        raise ValueError(f"reward_type must be 'rating' or 'click', got {reward_type!r}")
    if quit_rule not in ("category", "distance"):
        raise ValueError(f"quit_rule must be 'category' or 'distance', got {quit_rule!r}")
    if quit_window < 1:
        raise ValueError(f"quit_window must be >= 1, got {quit_window}")
    if max_same_category < 1:
        raise ValueError(f"max_same_category must be >= 1, got {max_same_category}")
    if n_users < 2 or n_items < 2:
        raise ValueError(f"need n_users >= 2 and n_items >= 2, got {n_users}, {n_items}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")


class SequentialRecEnv(gym.Env):
    """## Description

    Multi-step recommendation sessions in the style of the Coat / Yahoo / Kuai RL
    simulators used by Wang et al. (WSDM 2025, iALP). Each episode one user arrives; each
    turn the recommender shows one item, the user rates it with their true rating, and may
    leave when bored. Items have names and attributes (category, colour, material) so that
    the state can be written as text for a language model (``info["state_text"]``).

    ## Action Space

    ``Discrete(n_items)``: the item to show. An integer outside ``[0, n_items)`` raises
    ``ValueError``.

    ## Observation Space

    A single-level ``Dict`` (fixed shapes; :class:`SequentialFlatObservation` flattens it):

    - ``user_id``: ``Discrete(n_users)``.
    - ``user_features``: ``Box(0, 1, (14,))`` - gender one-hot (2), age band one-hot (4),
      stated favourite categories (8).
    - ``recent_items``: ``MultiDiscrete([n_items + 1] * history_len)`` - the last ``history_len``
      items shown, oldest first; ``n_items`` is the padding id for turns not yet played
      (padding sits at the front).
    - ``recent_feedback``: ``Box(0, rating_max, (history_len,))`` - the ratings given to those
      items, 0 for padding.

    ## Rewards

    ``reward_type="rating"`` (default): the true rating of the shown item (1..5).
    ``reward_type="click"``: 1 if the rating is >= ``click_threshold`` (default 4) else 0.
    The item shown on the turn the user leaves is still rated and rewarded.

    ## Starting State

    A user drawn uniformly from the training users with ``self.np_random`` (or
    ``options={"user_id": u}``, which the online harness uses for held-out users) and an
    empty history.

    ## Episode End

    ``terminated`` when the user quits. ``quit_rule="category"`` (Kuai style, default):
    the window is the new item plus the previous ``quit_window - 1`` items (clamped at the
    episode start, padding never counts); the user quits if the new item repeats an item
    of the window or its category occurs more than ``max_same_category`` times in it.
    ``quit_rule="distance"`` (Coat/Yahoo style): quit if the new item's rating column is
    within ``distance_threshold`` (mean absolute difference over users; default the 5%
    quantile of item-pair distances) of an item in the window.
    ``truncated`` after ``max_turns`` turns (default 30) without quitting; the time limit
    is handled inside the environment so the vector env and logging share it.

    ## Arguments

    ``n_users=300, n_items=200, world_seed=0, data_dir=None, history_len=5,
    max_turns=30, reward_type="rating", click_threshold=4.0, quit_rule="category",
    quit_window=5, max_same_category=2, distance_threshold=None, test_fraction=0.2,
    rating_min=1.0, rating_max=5.0, with_text=True, render_mode=None``. ``data_dir``
    points at a Coat/Yahoo pseudo-ground-truth rating file (see
    :func:`~recsim_envs.sequential.world.load_rating_matrix`); its shape overrides
    ``n_users``/``n_items``. ``with_text=False`` skips building ``info["state_text"]``.

    ## User Model

    True ratings: a synthetic low-rank-plus-attribute matrix from ``world_seed`` (see
    :func:`~recsim_envs.sequential.world.build_world`) or the loaded file. Ratings
    are deterministic given (user, item); boredom is the quit rule above. A simulated
    user that speaks text, for language-model-driven pre-training, is made by
    :meth:`make_llm_user`.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    family = "sequential"

    def __init__(self, n_users: int = 300, n_items: int = 200, world_seed: int = 0,
                 data_dir: str | None = None, history_len: int = 5, max_turns: int = 30,
                 reward_type: str = "rating", click_threshold: float = 4.0,
                 quit_rule: str = "category", quit_window: int = 5,
                 max_same_category: int = 2, distance_threshold: float | None = None,
                 test_fraction: float = 0.2, rating_min: float = 1.0, rating_max: float = 5.0,
                 with_text: bool = True, render_mode: str | None = None) -> None:
        _validate_kwargs(history_len, max_turns, reward_type, quit_rule, quit_window,
                         max_same_category, n_users, n_items, test_fraction)
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.kwargs = dict(n_users=n_users, n_items=n_items, world_seed=world_seed,
                           data_dir=data_dir, history_len=history_len, max_turns=max_turns,
                           reward_type=reward_type, click_threshold=click_threshold,
                           quit_rule=quit_rule, quit_window=quit_window,
                           max_same_category=max_same_category,
                           distance_threshold=distance_threshold, test_fraction=test_fraction,
                           rating_min=rating_min, rating_max=rating_max, with_text=with_text)
        self._dyn = _make_dynamics(**self.kwargs)
        self.world = self._dyn.world
        self.layout = ObsLayout(self.world.n_users, self.world.n_items,
                                self._dyn.user_features.shape[1], history_len)
        self.with_text = with_text
        self.render_mode = render_mode
        self.observation_space = _single_obs_space(self.layout, rating_max)
        self.action_space = spaces.Discrete(self.world.n_items)
        self._user = np.zeros(1, np.int64)
        self._hist, self._fb = self._dyn.empty_history(1)
        self._t = np.zeros(1, np.int64)
        self._last: str = ""

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "user_id" in options:
            u = int(options["user_id"])
            if not 0 <= u < self.world.n_users:
                raise ValueError(f"options['user_id']={u} is not a user id in [0, "
                                 f"{self.world.n_users})")
        else:
            train = self.world.train_users
            u = int(train[self.np_random.integers(len(train))])
        self._user[:] = u
        self._hist, self._fb = self._dyn.empty_history(1)
        self._t[:] = 0
        self._last = f"user {u} arrives"
        return self._obs(), self._info(None, False, False)

    def step(self, action: Any):
        a = _check_action(action, self.world.n_items)
        rating, reward, term, trunc = self._dyn.step(self._user, self._hist, self._fb, self._t,
                                                     np.array([a]))
        term_, trunc_ = bool(term[0]), bool(trunc[0])
        self._last = (
            f"turn {int(self._t[0])}: showed {self.world.describe_item(a)}; rated "
            f"{float(rating[0]):g}" + ("; the user left" if term_ else "")
            + ("; turn limit reached" if trunc_ else "")
        )
        info = self._info(float(rating[0]), term_, trunc_)
        return self._obs(), float(reward[0]), term_, trunc_, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._last + "\n"
        return None

    # ----------------------------------------------------------------- helpers
    def _obs(self) -> dict[str, Any]:
        o = self._dyn.obs(self._user, self._hist, self._fb)
        return {"user_id": int(o["user_id"][0]), "user_features": o["user_features"][0],
                "recent_items": o["recent_items"][0], "recent_feedback": o["recent_feedback"][0]}

    def _info(self, rating: float | None, term: bool, trunc: bool) -> dict[str, Any]:
        info: dict[str, Any] = {"user_id": int(self._user[0]), "turn": int(self._t[0])}
        if rating is not None:
            info["rating"] = rating
        if term:
            info["quit"] = True
        if self.with_text:
            info["state_text"] = state_text(self.world, int(self._user[0]),
                                            self._hist[0, -self.layout.history_len:],
                                            self._fb[0, -self.layout.history_len:])
        return info

    # ------------------------------------------------------------ family API
    def make_llm_user(self, alignment: float = 0.5, backend: Any = None, n_answer: int = 5,
                      **knobs: Any):
        """A simulated user that speaks text (an :class:`~recsim_envs.sequential.llm.stub.LLMUser`).

        By default its backend is the stub, which mixes the true ratings in with weight
        ``alignment`` (how well a language model's stated preferences reflect the truth);
        ``knobs`` are the other :class:`~recsim_envs.sequential.llm.stub.StubConfig` fields. Pass
        ``backend=`` (e.g. a ``TransformersBackend``) to use a real model instead. Agents
        get this handle, which exposes only the public catalogue, never the rating matrix.
        """
        from recsim_envs.sequential.llm.stub import LLMUser, StubConfig

        config = None if backend is not None else StubConfig(alignment=alignment, **knobs)
        return LLMUser.from_world(self.world, config, backend=backend, n_answer=n_answer)

    def system_arrays(self) -> dict[str, np.ndarray]:
        """Public arrays of the deployed system (catalogue, users, layout) for datasets."""
        w = self.world
        return {
            "item_features": w.item_features(),
            "item_category": w.item_category,
            "item_popularity": w.item_popularity,
            "item_names": w.item_names.astype(str),
            "user_features": self._dyn.user_features,
            "train_users": w.train_users,
            "test_users": w.test_users,
            "obs_layout": self.layout.to_array(),
        }

    def log_sessions(self, policy: BehaviourPolicy, n_sessions: int, rng: np.random.Generator,
                     seed: int, n_parallel: int = 256) -> LoggedDataset:
        """Log ``n_sessions`` whole sessions of ``policy`` (every session complete).

        Off-policy estimators of a session's return need complete sessions: a log cut at a
        number of rows keeps only the sessions that ended early. Runs up to ``n_parallel``
        sessions side by side (loop over turns only); a finished slot starts a new training
        user (drawn from ``rng``) until ``n_sessions`` have started. Rows as in
        :meth:`log_rounds`, ordered by session then turn; ``meta.info["complete_sessions"]``
        is True.
        """
        if policy.n_actions != self.world.n_items:
            raise ValueError(f"policy has {policy.n_actions} actions; this environment has "
                             f"{self.world.n_items} items")
        if int(n_sessions) < 1:
            raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
        dyn, train = self._dyn, self.world.train_users
        b = min(int(n_sessions), n_parallel)
        users = train[rng.integers(len(train), size=b)]
        hist, fb = dyn.empty_history(b)
        t = np.zeros(b, np.int64)
        ep = np.arange(b, dtype=np.int64)
        live = np.ones(b, dtype=bool)
        started = b
        chunks: list[tuple] = []
        while live.any():
            ctx = dyn.flat_obs(users, hist, fb)
            probs = policy.probs(ctx)
            a = sample_categorical(probs, 1, rng)[:, 0]
            ps = probs[np.arange(b), a]
            step = t.copy()
            _, rew, term, trunc = dyn.step(users, hist, fb, t, a)
            nxt = dyn.flat_obs(users, hist, fb)
            keep = live.copy()
            chunks.append(tuple(x[keep] for x in (ctx, a, ps, rew, ep.copy(), step, nxt, term,
                                                  trunc)))
            ended = np.flatnonzero((term | trunc) & live)
            if ended.size:
                n_new = min(ended.size, int(n_sessions) - started)
                restart, stop = ended[:n_new], ended[n_new:]
                live[stop] = False
                users[restart] = train[rng.integers(len(train), size=restart.size)]
                hist[ended], fb[ended] = dyn.pad, 0.0
                t[ended] = 0
                ep[restart] = started + np.arange(restart.size)
                started += restart.size
        cols = [np.concatenate(c) for c in zip(*chunks, strict=True)]
        return self._dataset(cols, policy, seed, complete=True)

    def log_rounds(self, policy: BehaviourPolicy, n_rounds: int, rng: np.random.Generator,
                   seed: int, n_parallel: int = 256) -> LoggedDataset:
        """Log ``n_rounds`` transitions of ``policy``, vectorised over parallel sessions.

        Runs ``min(n_rounds, n_parallel)`` sessions side by side and loops over turns only;
        a session that ends is replaced by a new training user (drawn from ``rng``).
        Each row is one transition: ``context`` = flat observation (see :class:`ObsLayout`),
        ``pscore`` = the policy's exact probability of the logged item given ``context``,
        ``reward`` (= ``expected_reward``, ratings being deterministic). Extras:
        ``episode_id``, ``step``, ``next_context`` (n, dim), ``terminated``, ``truncated``.
        Sessions still running when ``n_rounds`` is reached are cut (their last rows have
        both flags 0).
        """
        if policy.n_actions != self.world.n_items:
            raise ValueError(f"policy has {policy.n_actions} actions; this environment has "
                             f"{self.world.n_items} items")
        dyn, train = self._dyn, self.world.train_users
        b = min(n_rounds, n_parallel)
        users = train[rng.integers(len(train), size=b)]
        hist, fb = dyn.empty_history(b)
        t = np.zeros(b, np.int64)
        ep = np.arange(b, dtype=np.int64)
        next_ep = b
        chunks: list[tuple] = []
        done_rows = 0
        while done_rows < n_rounds:
            ctx = dyn.flat_obs(users, hist, fb)
            probs = policy.probs(ctx)
            a = sample_categorical(probs, 1, rng)[:, 0]
            ps = probs[np.arange(b), a]
            step = t.copy()
            _, rew, term, trunc = dyn.step(users, hist, fb, t, a)
            nxt = dyn.flat_obs(users, hist, fb)
            chunks.append((ctx, a, ps, rew, ep.copy(), step, nxt, term, trunc))
            done_rows += b
            ended = np.flatnonzero(term | trunc)
            if ended.size:
                users[ended] = train[rng.integers(len(train), size=ended.size)]
                hist[ended], fb[ended] = dyn.pad, 0.0
                t[ended] = 0
                ep[ended] = next_ep + np.arange(ended.size)
                next_ep += ended.size
        cols = [np.concatenate(c)[:n_rounds] for c in zip(*chunks, strict=True)]
        return self._dataset(cols, policy, seed, complete=False)

    def _dataset(self, cols: list[np.ndarray], policy: BehaviourPolicy, seed: int,
                 complete: bool) -> LoggedDataset:
        ctx, a, ps, rew, epi, step, nxt, term, trunc = cols
        # Rows are interleaved by turn; order them by episode then turn for readability.
        order = np.lexsort((step, epi))
        meta = DatasetMeta(
            env_id=ENV_ID, env_kwargs=dict(self.kwargs), n_actions=self.world.n_items,
            policy_name=getattr(policy, "name", type(policy).__name__),
            policy_settings=policy.settings(), seed=seed,
            info={"family": "sequential", "round": "one transition of a session",
                  "complete_sessions": bool(complete),
                  "context": "flat observation [user_id, user_features, items, feedback]"},
        )
        return LoggedDataset(
            context=ctx[order], action=a[order], pscore=ps[order], reward=rew[order],
            expected_reward=rew[order], meta=meta,
            extras={"episode_id": epi[order], "step": step[order],
                    "next_context": nxt[order], "terminated": term[order].astype(np.int8),
                    "truncated": trunc[order].astype(np.int8)},
            system=self.system_arrays(),
        )


def _make_dynamics(n_users, n_items, world_seed, data_dir, history_len, max_turns, reward_type,
                   click_threshold, quit_rule, quit_window, max_same_category,
                   distance_threshold, test_fraction, rating_min, rating_max,
                   with_text) -> _Dynamics:
    ratings = None
    if data_dir is not None:
        ratings = load_rating_matrix(data_dir, rating_min, rating_max)
    world = build_world(n_users, n_items, world_seed, ratings=ratings,
                        test_fraction=test_fraction)
    world.rating_min, world.rating_max = rating_min, rating_max
    return _Dynamics(world, history_len, max_turns, reward_type, click_threshold, quit_rule,
                     quit_window, max_same_category, distance_threshold)


def _single_obs_space(layout: ObsLayout, rating_max: float) -> spaces.Dict:
    k = layout.history_len
    return spaces.Dict({
        "user_id": spaces.Discrete(layout.n_users),
        "user_features": spaces.Box(0.0, 1.0, (layout.d_user,), np.float32),
        "recent_items": spaces.MultiDiscrete(np.full(k, layout.n_items + 1, np.int64)),
        "recent_feedback": spaces.Box(0.0, float(rating_max), (k,), np.float32),
    })


def _check_action(action: Any, n_items: int) -> int:
    arr = np.asarray(action)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer):
        if arr.size == 1 and np.issubdtype(arr.dtype, np.floating) and float(arr) == int(arr):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"action must be one integer item id, got {action!r}")
    a = int(arr.reshape(()))
    if not 0 <= a < n_items:
        raise ValueError(f"action {a} is outside the catalogue [0, {n_items}); "
                         "recommend an item id of this environment")
    return a


class SequentialVectorEnv(VectorEnv):
    """Native vector version of :class:`SequentialRecEnv` (same-step autoreset).

    Sub-env ``i`` keeps its own generator (``seeding.np_random(seed + i)``) and draws
    exactly what a single env reset with ``seed + i`` draws, so the two agree; the turn
    arithmetic is one batched numpy call. A finished sub-env resets within the same step;
    its final observation is in ``info["final_obs"]`` (mask ``info["_final_obs"]``).
    ``info["state_text"]`` (object array) only when ``with_text=True``.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}
    family = "sequential"

    def __init__(self, num_envs: int = 1, with_text: bool = False, **kwargs: Any) -> None:
        single = SequentialRecEnv(with_text=with_text, **kwargs)
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
        if seed is None and self._rngs is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
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
            self._hist[ended], self._fb[ended] = self._dyn.pad, 0.0
            self._t[ended] = 0
            mask = np.zeros(self.num_envs, bool)
            mask[ended] = True
            infos["final_obs"], infos["_final_obs"] = final, mask
            fresh = self._dyn.obs(self._users[ended], self._hist[ended], self._fb[ended])
            for key in obs:
                obs[key][ended] = fresh[key]
            if self.with_text:
                infos["state_text"] = self._infos()["state_text"]
        return obs, reward.astype(np.float64), term, trunc, infos

    def _infos(self) -> dict[str, Any]:
        infos: dict[str, Any] = {"user_id": self._users.copy(), "turn": self._t.copy()}
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


class SequentialFlatObservation(gym.ObservationWrapper):
    """Flattens the Dict observation into one ``Box`` (see :class:`ObsLayout`).

    Layout: ``[user_id, user_features (14), items (history_len), feedback (history_len)]``
    as float32; item ids are raw ids (``n_items`` = padding), not one-hot, so learners
    should embed them. This is the ``context`` of logged data and what agents receive.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        lay: ObsLayout = env.unwrapped.layout
        rmax = float(env.unwrapped.world.rating_max)
        k, d = lay.history_len, lay.d_user
        low = np.zeros(lay.dim, np.float32)
        high = np.concatenate([[lay.n_users - 1], np.ones(d), np.full(k, lay.n_items),
                               np.full(k, rmax)]).astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.layout = lay

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return flatten_obs(observation)


# --------------------------------------------------------------- logging policy
@dataclass
class SequentialBehaviourScorer:
    """A noisy popularity-and-profile scorer over flat observations (the logging system).

    score[n, j] = w_pop * popularity[j] + w_like * likes[n, category[j]]
                  - w_seen * [j in recent items] - w_cat * count[n, category[j]]
                  + noise[j]
    where ``likes`` are the user's stated favourite categories and ``count`` how often each
    category occurs among the recent items. Uses only public information. The fixed
    per-item ``noise`` (from ``seed``) stands for the logging system's own model error.
    """

    layout: ObsLayout
    item_category: np.ndarray
    item_popularity: np.ndarray
    w_pop: float = 2.0
    w_like: float = 1.0
    w_seen: float = 3.0
    w_cat: float = 0.7
    noise: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self._base = (self.w_pop * self.item_popularity
                      + self.noise * rng.normal(size=len(self.item_category)))
        n_cat = len(CATEGORIES)
        self._cat_onehot = np.vstack([np.eye(n_cat)[self.item_category], np.zeros((1, n_cat))])

    def __call__(self, context: np.ndarray) -> np.ndarray:
        _, feats, items, _ = self.layout.split(np.asarray(context))
        n, n_items = len(items), self.layout.n_items
        likes = feats[:, -len(CATEGORIES):]
        cat_count = self._cat_onehot[items].sum(axis=1)  # (n, n_cat)
        seen = np.zeros((n, n_items + 1))
        np.put_along_axis(seen, items, 1.0, axis=1)
        return (self._base[None, :] + self.w_like * likes[:, self.item_category]
                - self.w_seen * seen[:, :n_items] - self.w_cat * cat_count[:, self.item_category])


def sequential_behaviour_policy(env: gym.Env, temperature: float = 0.5,
                                seed: int = 0) -> SoftmaxPolicy:
    """softmax(:class:`SequentialBehaviourScorer` / temperature) for ``env``'s world."""
    base = env.unwrapped
    scorer = SequentialBehaviourScorer(base.layout, base.world.item_category,
                                       base.world.item_popularity, seed=seed)
    return SoftmaxPolicy(scorer, base.world.n_items, temperature,
                         scorer_name="sequential_popularity_profile", name="softmax")
