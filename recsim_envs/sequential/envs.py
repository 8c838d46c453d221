"""Sequential recommendation sessions: one item per turn, a user who rates it and may leave.

Paper context: the simulated environments of Wang et al., "Large Language Model driven Policy
Exploration for Recommender Systems" (WSDM 2025) and the public Coat / Yahoo / Kuai RL
simulators they follow (see ``docs/sequential.md``).

Contents:
    :class:`SequentialRecEnv` - the Gymnasium environment ``recsim_envs/SequentialRec-v0``.

The family's other parts, one concept per module: the world
(:mod:`~recsim_envs.sequential.world`), where the user responds
(:mod:`~recsim_envs.sequential.dynamics`), the observation layout
(:mod:`~recsim_envs.sequential.observation`), the native vector env
(:mod:`~recsim_envs.sequential.vector_env`), logging rollouts
(:mod:`~recsim_envs.sequential.rollouts`) and the behaviour policy
(:mod:`~recsim_envs.sequential.behaviour`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from recsim_envs.core.built_world import build_from_env, check_built_world
from recsim_envs.core.policies import BehaviourPolicy
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.sequential.dynamics import SessionDynamics
from recsim_envs.sequential.family import FAMILY
from recsim_envs.sequential.llm.stub import LLMUser, StubConfig
from recsim_envs.sequential.observation import ObsLayout, single_obs_space
from recsim_envs.sequential.rollouts import roll_rounds, roll_sessions
from recsim_envs.sequential.text_env import state_text
from recsim_envs.sequential.world import build_world, load_rating_matrix

ENV_ID = "recsim_envs/SequentialRec-v0"


def validate_session_settings(history_len, max_turns, reward_type, quit_rule, quit_window,
                              max_same_category, n_users, n_items, test_fraction) -> None:
    """Raise ValueError naming the first session setting out of range (shared by
    ``SequentialRec-v0`` and ``SequentialFromWorld-v0``)."""
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
    - With ``item_features=True`` (as RecSim passes the candidate documents' features):
      ``item_features``: ``Box(0, 1, (n_items, d))`` - the public catalogue attributes of
      every action (category, colour and material one-hots, popularity; ``d = 23`` for the
      synthetic world; constant within a world), and ``recent_item_features``:
      ``Box(0, 1, (history_len, d))`` - the same rows for ``recent_items``, 0 for padding.

    ## Action Mask

    ``env.unwrapped.action_masks()`` returns a bool array ``(n_items,)``: True for the items
    on which the quit rule below would *not* end the session (sb3-contrib's ``MaskablePPO``
    convention); ``info["action_mask"]`` carries the same array after ``reset`` and every
    ``step``. If every item would end the session, every entry is True.

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
    rating_min=1.0, rating_max=5.0, with_text=True, item_features=False,
    render_mode=None, built_world=None`` (the world of these settings, built once with
    ``SequentialRecEnv.build_world(**settings)``). ``data_dir``
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

    - v0: initial version. ``item_features`` and the action mask (issue 19) add keys and
      an info entry; the default observation and the dynamics are unchanged.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    family = FAMILY.name

    def __init__(self, n_users: int = 300, n_items: int = 200, world_seed: int = 0,
                 data_dir: str | None = None, history_len: int = 5, max_turns: int = 30,
                 reward_type: str = "rating", click_threshold: float = 4.0,
                 quit_rule: str = "category", quit_window: int = 5,
                 max_same_category: int = 2, distance_threshold: float | None = None,
                 test_fraction: float = 0.2, rating_min: float = 1.0, rating_max: float = 5.0,
                 with_text: bool = True, item_features: bool = False,
                 render_mode: str | None = None, built_world: Any = None) -> None:
        validate_session_settings(history_len, max_turns, reward_type, quit_rule, quit_window,
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
        world = None if built_world is None else check_built_world(
            built_world, self.world_kind, self.world_settings())
        self._dyn = _make_dynamics(**self.kwargs, world=world)
        self.world = self._dyn.world
        self._setup(history_len, with_text, item_features, render_mode,
                    spaces.Discrete(self.world.n_items))

    world_kind = ENV_ID  # the id whose worlds this class takes as built_world
    build_world = classmethod(build_from_env)  # the world to pass as built_world=

    def world_settings(self) -> dict[str, Any]:
        return {k: self.kwargs[k] for k in _WORLD_SETTINGS}

    def shared_world(self) -> Any:
        return self.world

    def _setup(self, history_len: int, with_text: bool, item_features: bool,
               render_mode: str | None, action_space: spaces.Space) -> None:
        # The state every variant of this environment shares, once its dynamics exist.
        if item_features:
            self._dyn.show_item_features()
            self.kwargs["item_features"] = True  # default kwargs stay as they were
        self.layout = ObsLayout(self.world.n_users, self.world.n_items,
                                self._dyn.user_features.shape[1], history_len)
        self.with_text = with_text
        self.render_mode = render_mode
        item_dim = 0 if self._dyn.item_table is None else self._dyn.item_table.shape[1]
        self.observation_space = single_obs_space(self.layout, self.world.rating_max, item_dim)
        self.action_space = action_space
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
    def action_masks(self) -> np.ndarray:
        """(n_items,) bool: the items on which the documented quit rule would not end the
        session now (sb3-contrib's convention; all True if every item would)."""
        return self._dyn.safe_items(self._hist)[0]

    def _obs(self) -> dict[str, Any]:
        o = self._dyn.obs(self._user, self._hist, self._fb)
        return {k: int(v[0]) if k == "user_id" else v[0] for k, v in o.items()}

    def _info(self, rating: float | None, term: bool, trunc: bool) -> dict[str, Any]:
        info: dict[str, Any] = {"user_id": int(self._user[0]), "turn": int(self._t[0]),
                                "action_mask": self.action_masks()}
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
                     seed: int, n_parallel: int = 256, users: str = "train") -> LoggedDataset:
        """Log ``n_sessions`` whole sessions of ``policy`` (every session complete).

        Off-policy estimators of a session's return need complete sessions: a log cut at a
        number of rows keeps only the sessions that ended early. Runs up to ``n_parallel``
        sessions side by side (loop over turns only); a finished slot starts a new user
        (drawn from ``rng``) until ``n_sessions`` have started. ``users`` says whose sessions:
        ``"train"`` (the training users, what agents fit on) or ``"test"`` (the held-out
        evaluation users, whose sessions the online value averages over: a held-out log for
        off-policy estimates of that value). Rows as in :meth:`log_rounds`, ordered by
        session then turn; ``meta.info["complete_sessions"]`` is True and
        ``meta.info["users"]`` names the population.
        """
        self._check_policy(policy)
        if int(n_sessions) < 1:
            raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
        cols = roll_sessions(self._dyn, policy, int(n_sessions), rng, n_parallel, users)
        return self._dataset(cols, policy, seed, complete=True, users=users)


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
        self._check_policy(policy)
        cols = roll_rounds(self._dyn, policy, n_rounds, rng, n_parallel)
        return self._dataset(cols, policy, seed, complete=False)

    def _check_policy(self, policy: BehaviourPolicy) -> None:
        if policy.n_actions != self.world.n_items:
            raise ValueError(f"policy has {policy.n_actions} actions; this environment has "
                             f"{self.world.n_items} items")

    def _dataset(self, cols: list[np.ndarray], policy: BehaviourPolicy, seed: int,
                 complete: bool, users: str = "train") -> LoggedDataset:
        ctx, a, ps, rew, epi, step, nxt, term, trunc = cols
        # Rows are interleaved by turn; order them by episode then turn for readability.
        order = np.lexsort((step, epi))
        meta = DatasetMeta(
            env_id=ENV_ID, env_kwargs=dict(self.kwargs), n_actions=self.world.n_items,
            policy_name=getattr(policy, "name", type(policy).__name__),
            policy_settings=policy.settings(), seed=seed,
            info={"family": FAMILY.name, "round": "one transition of a session",
                  "complete_sessions": bool(complete), "users": users,
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


_WORLD_SETTINGS = ("n_users", "n_items", "world_seed", "data_dir", "test_fraction",
                   "rating_min", "rating_max")  # what the world depends on; the rest: dynamics


def _make_dynamics(n_users, n_items, world_seed, data_dir, history_len, max_turns, reward_type,
                   click_threshold, quit_rule, quit_window, max_same_category,
                   distance_threshold, test_fraction, rating_min, rating_max,
                   with_text, world=None) -> SessionDynamics:
    if world is None:
        ratings = None
        if data_dir is not None:
            ratings = load_rating_matrix(data_dir, rating_min, rating_max)
        world = build_world(n_users, n_items, world_seed, ratings=ratings,
                            test_fraction=test_fraction, rating_min=rating_min,
                            rating_max=rating_max)
    return SessionDynamics(world, history_len, max_turns, reward_type, click_threshold, quit_rule,
                     quit_window, max_same_category, distance_threshold)


def _check_action(action: Any, n_items: int) -> int:
    arr = np.asarray(action)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer):
        # a whole float (3.0) is accepted; inf and NaN are not whole numbers
        if (arr.size == 1 and np.issubdtype(arr.dtype, np.floating)
                and np.isfinite(arr).all() and float(arr) == int(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"action must be one integer item id, got {action!r}")
    a = int(arr.reshape(()))
    if not 0 <= a < n_items:
        raise ValueError(f"action {a} is outside the catalogue [0, {n_items}); "
                         "recommend an item id of this environment")
    return a

