"""Exchange logged data with the tools people already use.

- Open Bandit Pipeline (Saito et al., NeurIPS 2021 Datasets track): :func:`to_obp` returns
  its bandit-feedback dictionary (``n_rounds``, ``n_actions``, ``context``, ``action``,
  ``reward``, ``pscore``, ``position``, ``action_context`` where the logs have item
  features); :func:`from_obp` builds a :class:`LoggedDataset` back. What OBP has no key
  for (this suite's per-round expected reward, extras, system arrays, metadata) travels
  under the extra key ``"recsim_envs"``, which OBP ignores, so the round trip is exact.
  OBP's own ``expected_reward`` is an (n, n_actions) table the logs do not have; given
  one, :func:`from_obp` reads the logged action's column.
- Minari (Farama's offline-RL format): :func:`to_minari` writes sequential session logs
  as episodes, with ``pscore``, ``expected_reward`` and the original ``episode_id`` in
  ``infos`` and the environment spec recorded (``recover_environment`` rebuilds it);
  :func:`from_minari` reads one back. Needs the optional ``minari`` package.
- :func:`import_bandit_table`: a user's own logged bandit table (context columns, action,
  reward, propensity) in CSV or Parquet, validated like :meth:`LoggedDataset.load`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.data.dataset import DatasetError, DatasetMeta, LoggedDataset

_OBP_EXTRA = "recsim_envs"


# ---------------------------------------------------------------------------- OBP
def to_obp(data: LoggedDataset) -> dict[str, Any]:
    """The Open Bandit Pipeline's bandit feedback: arrays of shape (n,) or (n, d)."""
    n = len(data)
    position = data.extras.get("position", np.zeros(n, np.int64))
    feedback: dict[str, Any] = {
        "n_rounds": n, "n_actions": int(data.meta.n_actions), "context": data.context,
        "action": data.action, "reward": data.reward, "pscore": data.pscore,
        "position": np.asarray(position, np.int64),
    }
    if "item_features" in data.system:
        feedback["action_context"] = np.asarray(data.system["item_features"])
    feedback[_OBP_EXTRA] = {
        "meta": data.meta.to_json(), "expected_reward": data.expected_reward,
        "extras": dict(data.extras), "system": dict(data.system),
    }
    return feedback


def from_obp(feedback: dict[str, Any]) -> LoggedDataset:
    """A :class:`LoggedDataset` from OBP bandit feedback (exact for :func:`to_obp`'s output).

    Without this suite's extra key: ``meta.env_id = "obp"``; the expected reward is OBP's
    ``expected_reward[i, action[i]]`` when given, else a copy of the reward (recorded in
    ``meta.info["expected_reward"]``); ``action_context`` becomes ``system["item_features"]``.
    """
    for key in ("n_actions", "context", "action", "reward", "pscore"):
        if key not in feedback:
            raise DatasetError(f"the bandit feedback lacks {key!r}; OBP feedback needs "
                               "n_actions, context, action, reward and pscore")
    ours = feedback.get(_OBP_EXTRA)
    if ours is not None:
        return LoggedDataset(
            context=feedback["context"], action=feedback["action"], pscore=feedback["pscore"],
            reward=feedback["reward"], expected_reward=ours["expected_reward"],
            meta=DatasetMeta.from_json(ours["meta"]), extras=dict(ours["extras"]),
            system=dict(ours["system"]))
    action = np.asarray(feedback["action"], np.int64)
    reward = np.asarray(feedback["reward"], np.float32)
    info: dict[str, Any] = {"family": "imported", "source": "obp"}
    if feedback.get("expected_reward") is not None:
        expected = np.asarray(feedback["expected_reward"])
        if expected.ndim == 3:  # (n, n_actions, len_list): the logged position's slice
            expected = expected[np.arange(len(action)), :, np.asarray(feedback.get(
                "position", np.zeros(len(action), np.int64)))]
        expected = expected[np.arange(len(action)), action]
    else:
        expected = reward.copy()
        info["expected_reward"] = "unknown: a copy of reward"
    extras = {}
    if feedback.get("position") is not None:
        extras["position"] = np.asarray(feedback["position"], np.int64)
    system = {}
    if feedback.get("action_context") is not None:
        system["item_features"] = np.asarray(feedback["action_context"], np.float32)
    meta = DatasetMeta(env_id="obp", env_kwargs={}, n_actions=int(feedback["n_actions"]),
                       policy_name="logged", info=info)
    context = np.asarray(feedback["context"], np.float32)
    if context.ndim == 1:
        context = context[:, None]
    return LoggedDataset(context=context, action=action, pscore=feedback["pscore"],
                         reward=reward, expected_reward=expected, meta=meta, extras=extras,
                         system=system)


# ---------------------------------------------------------------------------- Minari
def _minari():
    try:
        import minari
    except ImportError as exc:
        raise ImportError("Minari export needs the optional package: pip install "
                          "'recsim_envs[minari]' (or pip install minari)") from exc
    return minari


_PATH_SETTINGS = ("world", "data_dir", "cache_dir")
"""Environment settings that name a file or folder: recorded as absolute paths, so a
dataset's environment can be rebuilt from any working directory."""

_EPISODES_PER_WRITE = 2_000
"""Episodes per Arrow write: one partitioned write per batch keeps memory bounded."""


def absolute_paths(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with every path-valued setting (:data:`_PATH_SETTINGS`) made absolute."""
    out = dict(kwargs)
    for key in _PATH_SETTINGS:
        if isinstance(out.get(key), str | os.PathLike):
            out[key] = str(Path(out[key]).expanduser().resolve())
    return out


def to_minari(data: LoggedDataset, dataset_id: str, env_id: str | None = None,
              env_kwargs: dict[str, Any] | None = None, data_path: str | None = None):
    """Write sequential session logs (extras ``episode_id``, ``step``, ``next_context``,
    ``terminated``, ``truncated``) as a Minari dataset; returns the ``MinariDataset``.

    Observations are the flat contexts (``Box``); ``infos`` hold ``pscore``,
    ``expected_reward`` and ``episode_id`` per step (index 0, the reset, holds NaN / -1).
    The environment spec (``env_id``, default ``meta.env_id``, with ``env_kwargs``, default
    ``meta.env_kwargs``) is recorded with path settings (``world``, ``data_dir``,
    ``cache_dir``) made absolute, so ``recover_environment`` works from any directory.
    ``data_path`` sets ``MINARI_DATASETS_PATH``.

    Time is linear in the number of episodes: Minari's own ``update_episodes`` writes one
    episode at a time and re-scans the whole dataset folder for its size after each (800
    episodes cost 8.8x 200 under load, issue 23). Here Minari creates the dataset (metadata,
    spec, spaces), then the episodes are written in its Arrow layout (one folder per
    episode, the rows of ``minari``'s ``ArrowStorage.update_episodes``, read by its own
    loader) with one partitioned write per :data:`_EPISODES_PER_WRITE` episodes, and the
    size is measured once. A test checks that Minari reads back exactly what its own
    writer would have written.
    """
    import gymnasium as gym
    from gymnasium import spaces

    minari = _minari()

    data.require("episode_id", "step", "next_context", "terminated", "truncated")
    if data_path is not None:
        os.environ["MINARI_DATASETS_PATH"] = str(Path(data_path).expanduser())
    ep = data.extras["episode_id"]
    order = np.lexsort((data.extras["step"], ep))
    if not np.array_equal(order, np.arange(len(data))):
        data = data.subset(order)
        ep = data.extras["episode_id"]
    starts = np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]])
    env_id = env_id or data.meta.env_id
    kwargs = absolute_paths(data.meta.env_kwargs if env_kwargs is None else env_kwargs)
    spec = dataclasses.replace(gym.spec(env_id), kwargs=kwargs)
    obs_space = spaces.Box(-np.inf, np.inf, (data.context.shape[1],), np.float32)
    dataset = minari.create_dataset_from_buffers(
        dataset_id, [], env=spec, eval_env=spec, observation_space=obs_space,
        data_format="arrow",  # Parquet via pyarrow, already a dependency (HDF5 needs h5py)
        author="recsim_envs", author_email="n/a",
        action_space=spaces.Discrete(int(data.meta.n_actions)), algorithm_name=json.dumps(
            {"policy_name": data.meta.policy_name, "policy_settings": data.meta.policy_settings,
             "seed": data.meta.seed, "family": data.meta.info.get("family")}, default=str),
        description=f"session logs of {env_id} exported by recsim_envs")
    storage = dataset.storage
    bounds = np.r_[starts, len(data)]
    for lo in range(0, len(starts), _EPISODES_PER_WRITE):
        hi = min(len(starts), lo + _EPISODES_PER_WRITE)
        _write_arrow_episodes(storage, data, bounds[lo:hi + 1], first_id=lo)
    storage.update_metadata({"total_steps": len(data), "total_episodes": len(starts),
                             "dataset_size": storage.get_size()})
    return type(dataset)(storage)


def _write_arrow_episodes(storage: Any, data: LoggedDataset, bounds: np.ndarray,
                          first_id: int) -> None:
    """Episodes ``first_id, ...`` (rows ``bounds[j]:bounds[j + 1]`` of ``data``) in Minari's
    Arrow layout: per episode T + 1 rows (observations o_0..o_T; actions, rewards and flags
    padded with a zero row; infos with a NaN / -1 row for the reset), the folder
    ``<data_path>/<id>/`` and its ``metadata.json``."""
    import pyarrow as pa
    import pyarrow.dataset as pds
    from minari.dataset._storages.arrow_storage import _encode_info, _encode_space

    lo, hi = int(bounds[0]), int(bounds[-1])
    lengths = np.diff(bounds)
    n_eps = len(lengths)
    ids = first_id + np.arange(n_eps)
    rows = int(lengths.sum()) + n_eps
    ends = np.cumsum(lengths + 1) - 1  # row of each episode's final observation / padding
    last = np.zeros(rows, dtype=bool)
    last[ends] = True
    first = np.r_[True, last[:-1]]  # the reset row of each episode

    def padded(values: np.ndarray, fill: Any, at: np.ndarray) -> np.ndarray:
        out = np.empty((rows, *values.shape[1:]), dtype=values.dtype)
        out[~at] = values
        out[at] = fill
        return out

    obs = padded(data.context[lo:hi].astype(np.float32), 0, last)
    obs[last] = data.extras["next_context"][bounds[1:] - 1]
    infos = {"pscore": padded(data.pscore[lo:hi], np.nan, first)[:, None],
             "expected_reward": padded(data.expected_reward[lo:hi].astype(np.float32),
                                       np.nan, first)[:, None],
             "episode_id": padded(data.extras["episode_id"][lo:hi].astype(np.int64), -1,
                                  first)[:, None]}
    batch = pa.RecordBatch.from_pydict({
        "episode_id": np.repeat(ids, lengths + 1).astype(np.int32),
        "observations": _encode_space(storage.observation_space, obs),
        "actions": _encode_space(storage.action_space, padded(data.action[lo:hi], 0, last)),
        "rewards": padded(data.reward[lo:hi], 0, last),
        "terminations": padded(data.extras["terminated"][lo:hi].astype(bool), False, last),
        "truncations": padded(data.extras["truncated"][lo:hi].astype(bool), False, last),
        "infos": _encode_info(infos),
    })
    pds.write_dataset(batch, storage.data_path, format="arrow", partitioning=["episode_id"],
                      existing_data_behavior="overwrite_or_ignore", max_partitions=n_eps + 1,
                      preserve_order=True)
    for k, n in zip(ids.tolist(), lengths.tolist(), strict=True):
        with open(storage.data_path / str(k) / "metadata.json", "w") as f:
            json.dump({"id": k, "total_steps": n}, f)


def from_minari(dataset: Any, with_system: bool = True,
                family: str | None = None) -> LoggedDataset:
    """A :class:`LoggedDataset` from a Minari dataset (an id or a ``MinariDataset``), one
    row per step. ``with_system`` rebuilds the system arrays from the recovered environment.

    ``family`` (``meta.info["family"]``, which picks the typed view the rows are checked
    with) defaults to the one :func:`to_minari` recorded, else the one the recorded
    environment's class declares (its ``family`` attribute).
    """
    minari = _minari()
    if isinstance(dataset, str):
        dataset = minari.load_dataset(dataset)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "context", "next_context", "action", "reward", "pscore", "expected_reward",
        "episode_id", "step", "terminated", "truncated")}
    for episode in dataset.iterate_episodes():
        obs = np.asarray(episode.observations, np.float32)
        n = len(episode.actions)
        infos = episode.infos or {}
        if "pscore" not in infos:
            raise DatasetError(f"episode {episode.id} of {dataset.spec.dataset_id} has no "
                               "'pscore' in its infos; off-policy learning needs propensities")
        cols["context"].append(obs[:-1])
        cols["next_context"].append(obs[1:])
        cols["action"].append(np.asarray(episode.actions, np.int64))
        cols["reward"].append(np.asarray(episode.rewards, np.float32))
        cols["pscore"].append(np.asarray(infos["pscore"]).reshape(n + 1)[1:])
        cols["expected_reward"].append(np.asarray(
            infos.get("expected_reward", np.r_[np.nan, episode.rewards])).reshape(n + 1)[1:])
        cols["episode_id"].append(np.asarray(infos.get(
            "episode_id", np.full(n + 1, episode.id))).reshape(n + 1)[1:])
        cols["step"].append(np.arange(n, dtype=np.int64))
        cols["terminated"].append(np.asarray(episode.terminations).astype(np.int8))
        cols["truncated"].append(np.asarray(episode.truncations).astype(np.int8))
    c = {k: np.concatenate(v) for k, v in cols.items()}
    spec = dataset.spec.env_spec
    algorithm = str(dataset.storage.metadata.get("algorithm_name") or "")
    policy = json.loads(algorithm) if algorithm.startswith("{") else {}
    family = family or policy.get("family") or _declared_family(spec)
    if not family:
        raise DatasetError(f"{dataset.spec.dataset_id} records no family and its environment "
                           f"({None if spec is None else spec.id}) declares none: pass "
                           "from_minari(..., family=NAME)")
    system: dict[str, np.ndarray] = {}
    if with_system and spec is not None:
        env = dataset.recover_environment()
        system = env.unwrapped.system_arrays()
        env.close()
    meta = DatasetMeta(
        env_id=spec.id if spec is not None else "minari", env_kwargs=dict(spec.kwargs or {})
        if spec is not None else {}, n_actions=int(dataset.spec.action_space.n),
        policy_name=policy.get("policy_name", "logged"),
        policy_settings=policy.get("policy_settings", {}), seed=policy.get("seed"),
        info={"family": family, "source": f"minari:{dataset.spec.dataset_id}",
              "round": "one transition of a session",
              "context": "flat observation [user_id, user_features, items, feedback]"})
    return LoggedDataset(
        context=c["context"], action=c["action"], pscore=c["pscore"], reward=c["reward"],
        expected_reward=c["expected_reward"], meta=meta, system=system,
        extras={k: c[k] for k in ("episode_id", "step", "next_context", "terminated",
                                  "truncated")})


def _declared_family(spec: Any) -> str | None:
    """The ``family`` attribute of the class ``spec`` (a Gymnasium EnvSpec) makes, or None."""
    if spec is None:
        return None
    from gymnasium.envs.registration import load_env_creator

    entry = spec.entry_point
    try:
        entry = load_env_creator(entry) if isinstance(entry, str) else entry
    except (ImportError, AttributeError):
        return None
    return getattr(entry, "family", None)


# ---------------------------------------------------------------------------- user tables
def import_bandit_table(
    path: str | os.PathLike, context_cols: list[str], action_col: str = "action",
    reward_col: str = "reward", pscore_col: str = "pscore", n_actions: int | None = None,
    expected_reward_col: str | None = None, sep: str | None = None,
) -> LoggedDataset:
    """A user's logged bandit table (CSV or Parquet) as a validated :class:`LoggedDataset`.

    Every named column must exist and be numeric without missing values; actions must be
    integers in ``[0, n_actions)`` (default: max + 1); ``pscore`` in (0, 1]. Errors name
    the file, the column and the first bad row. Without ``expected_reward_col`` the
    expected reward is a copy of the reward (noted in ``meta.info``).
    """
    import pandas as pd

    from recsim_envs.worlds.table import TableError, read_frame

    path = Path(path).expanduser()
    try:
        frame = read_frame(path, sep)
    except TableError as exc:
        raise DatasetError(str(exc)) from exc
    names = [*context_cols, action_col, reward_col, pscore_col]
    names += [expected_reward_col] if expected_reward_col else []
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path} lacks the column(s) {missing}; it has "
                           f"{[str(c) for c in frame.columns]}")
    values = {}
    for col in names:
        series = frame[col]
        num = pd.to_numeric(series, errors="coerce")
        bad = num.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DatasetError(f"{path}: column {col!r} must hold numbers without gaps; row "
                               f"{i} holds {series.iloc[i]!r}: fill or drop those rows")
        values[col] = num.to_numpy(np.float64)
    action = values[action_col]
    if not np.all(action == np.round(action)):
        i = int(np.flatnonzero(action != np.round(action))[0])
        raise DatasetError(f"{path}: column {action_col!r} must hold integer action ids; "
                           f"row {i} holds {action[i]}")
    n_actions = int(action.max()) + 1 if n_actions is None else int(n_actions)
    info: dict[str, Any] = {"family": "imported", "source": str(path),
                            "context_columns": list(context_cols)}
    if expected_reward_col:
        expected = values[expected_reward_col]
    else:
        expected = values[reward_col].copy()
        info["expected_reward"] = "unknown: a copy of reward"
    meta = DatasetMeta(env_id="imported", env_kwargs={}, n_actions=n_actions,
                       policy_name="logged", info=info)
    context = np.stack([values[c] for c in context_cols], 1) if context_cols else np.zeros(
        (len(frame), 0))
    try:
        return LoggedDataset(context=context, action=action.astype(np.int64),
                             pscore=values[pscore_col], reward=values[reward_col],
                             expected_reward=expected, meta=meta)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from exc
