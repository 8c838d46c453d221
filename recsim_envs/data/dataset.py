"""The logged-data format: rounds of (context, action, pscore, reward) with exact propensities.

A :class:`LoggedDataset` is what every offline agent learns from. Column names follow the
Open Bandit Pipeline (``context``, ``action``, ``pscore``, ``reward``, ``expected_reward``)
so that export to it is a rename-free conversion. Family-specific per-round columns (the
candidate set of a two-stage system, the sentence a language model wrote, the episode
index of a sequential session) live in ``extras``; arrays that describe the deployed
system rather than a round (item features, the fixed ranker's weights, prompt
embeddings) live in ``system``: they are what the recommender team owns and may use,
never the simulated user's private response model.

On disk a dataset is one Parquet file: a row per round, per-round 2-D arrays as
fixed-size lists, and the metadata plus the ``system`` arrays (as an ``.npz`` blob, read
back with ``allow_pickle=False``) in the file's key-value metadata. Files are written to a
temporary name and renamed, so a failed save never leaves a half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.core.io import atomic_path

SCHEMA_VERSION = 2
"""2: the family's typed view (:mod:`recsim_envs.data.views`) is validated on construction
and load, and session logs record ``info['complete_sessions']``. Version 1 files load as
they are (their columns did not change)."""
_META_KEY = b"recsim_envs.meta"
_SYSTEM_KEY = b"recsim_envs.system"

# Column -> (kind, ndim) for the required columns. kind: "f" float, "i" integer.
_REQUIRED: dict[str, tuple[str, int]] = {
    "context": ("f", 2),
    "action": ("i", 1),
    "pscore": ("f", 1),
    "reward": ("f", 1),
}
_CORE = (*_REQUIRED, "expected_reward")


class DatasetError(ValueError):
    """A logged dataset that is malformed: the message names the column and the fix."""


@dataclass
class DatasetMeta:
    """Where the rounds came from.

    Attributes:
        env_id: registered id of the environment that produced the rounds.
        env_kwargs: the settings the environment was made with (JSON-serialisable).
        n_actions: size of the logged action's space (items for two-stage and sequential
            environments, prompts for prompt environments); ``action`` lies in
            ``[0, n_actions)``.
        policy_name: the behaviour policy's name.
        policy_settings: the behaviour policy's settings (JSON-serialisable).
        seed: the seed of the collection.
        schema_version: version of this on-disk format.
        info: free-form, JSON-serialisable notes (e.g. what ``action`` means).
    """

    env_id: str
    env_kwargs: dict[str, Any]
    n_actions: int
    policy_name: str
    policy_settings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    schema_version: int = SCHEMA_VERSION
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, default=json_default)

    @classmethod
    def from_json(cls, text: str) -> DatasetMeta:
        raw = json.loads(text)
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        missing = {"env_id", "env_kwargs", "n_actions", "policy_name"} - set(known)
        if missing:
            raise DatasetError(
                f"dataset metadata lacks {sorted(missing)}; the file was not written by "
                "recsim_envs.LoggedDataset.save (re-collect it with recsim_envs.data.collect)"
            )
        return cls(**known)


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for metadata: numpy scalars and arrays, tuples and sets as
    plain JSON; anything else is an error (metadata must round-trip exactly)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


@dataclass
class LoggedDataset:
    """Logged bandit rounds with exact propensities.

    Attributes:
        context: (n, d_x) float32, what the policy saw (the observation, flattened).
        action: (n,) int64, the logged action whose reward was observed.
        pscore: (n,) float64 in (0, 1], the behaviour policy's exact probability of
            ``action`` given ``context`` (for two-stage systems: of the item being shown,
            the ranker included).
        reward: (n,) float32, observed reward.
        expected_reward: (n,) float32, the simulator's expected reward of the round
            (evaluation only: an offline agent must not learn from it).
        extras: per-round columns, each (n,) or (n, m): e.g. ``candidates`` (n, k),
            ``sentence_embedding`` (n, d_s), ``episode_id`` (n,).
        system: arrays of the deployed system, not per round: e.g. ``item_features``
            (n_items, d_item), ``ranker_weights``.
        meta: provenance, see :class:`DatasetMeta`.
    """

    context: np.ndarray
    action: np.ndarray
    pscore: np.ndarray
    reward: np.ndarray
    expected_reward: np.ndarray
    meta: DatasetMeta
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    system: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.context = np.asarray(self.context, dtype=np.float32)
        self.action = np.asarray(self.action, dtype=np.int64)
        self.pscore = np.asarray(self.pscore, dtype=np.float64)
        self.reward = np.asarray(self.reward, dtype=np.float32)
        self.expected_reward = np.asarray(self.expected_reward, dtype=np.float32)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise :class:`DatasetError` naming the first problem found."""
        n = len(self.action)
        if self.context.ndim != 2:
            raise DatasetError(f"'context' must be 2-D (n, d_x), got shape {self.context.shape}")
        for name in _CORE:
            arr = getattr(self, name)
            want = 2 if name == "context" else 1
            if arr.ndim != want or arr.shape[0] != n:
                raise DatasetError(
                    f"column '{name}' has shape {arr.shape}; expected {n} rows "
                    f"({'(n, d)' if want == 2 else '(n,)'})"
                )
        for name in ("context", "reward", "expected_reward"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise DatasetError(f"column '{name}' holds NaN or infinite values")
        if n and not np.all((self.pscore > 0) & (self.pscore <= 1)):
            bad = int(np.flatnonzero(~((self.pscore > 0) & (self.pscore <= 1)))[0])
            raise DatasetError(
                f"'pscore' must lie in (0, 1]; row {bad} has {self.pscore[bad]!r}. A zero or "
                "missing propensity makes importance weights undefined: log with a policy "
                "that gives every logged action positive probability"
            )
        if n and (self.action.min() < 0 or self.action.max() >= self.meta.n_actions):
            raise DatasetError(
                f"'action' must lie in [0, {self.meta.n_actions}); found values in "
                f"[{self.action.min()}, {self.action.max()}]"
            )
        for name, arr in self.extras.items():
            if name in _CORE:
                raise DatasetError(f"extra column '{name}' shadows a core column")
            if arr.ndim not in (1, 2) or arr.shape[0] != n:
                raise DatasetError(
                    f"extra column '{name}' has shape {arr.shape}; expected (n,) or (n, m) "
                    f"with n = {n}"
                )
        from recsim_envs.data.views import view_of  # the family's columns, named

        view_of(self)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.action)

    @property
    def n_rounds(self) -> int:
        return len(self.action)

    @property
    def family(self) -> str | None:
        """The family the rows were logged from (``meta.info["family"]``; picks the typed
        view, :mod:`recsim_envs.data.views`), None where not recorded."""
        return self.meta.info.get("family")

    def require(self, *names: str) -> None:
        """Raise a clear error if an agent needs extra columns or system arrays this lacks."""
        have = set(self.extras) | set(self.system)
        missing = [n for n in names if n not in have]
        if missing:
            raise DatasetError(
                f"the dataset lacks {missing} (it has extras {sorted(self.extras)} and system "
                f"arrays {sorted(self.system)}); collect it from an environment that logs them"
            )

    def subset(self, index: np.ndarray | slice) -> LoggedDataset:
        """Rows ``index`` of the dataset (system arrays and metadata are shared)."""
        return LoggedDataset(
            context=self.context[index],
            action=self.action[index],
            pscore=self.pscore[index],
            reward=self.reward[index],
            expected_reward=self.expected_reward[index],
            meta=self.meta,
            extras={k: v[index] for k, v in self.extras.items()},
            system=self.system,
        )

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[LoggedDataset, ...]:
        """Random split into (first, second) with ``fraction`` of rows in the first."""
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be in (0, 1), got {fraction}")
        perm = rng.permutation(len(self))
        cut = int(round(fraction * len(self)))
        return self.subset(np.sort(perm[:cut])), self.subset(np.sort(perm[cut:]))

    def to_pandas(self):
        """A ``pandas.DataFrame`` with one row per round; 2-D columns hold arrays per cell."""
        import pandas as pd

        cols: dict[str, Any] = {}
        for name, arr in self._columns().items():
            cols[name] = list(arr) if arr.ndim == 2 else arr
        return pd.DataFrame(cols)

    def _columns(self) -> dict[str, np.ndarray]:
        cols = {name: getattr(self, name) for name in _CORE}
        cols.update(self.extras)
        return cols

    # ------------------------------------------------------------------ disk
    def save(self, path: str | os.PathLike) -> Path:
        """Write the dataset to one Parquet file, atomically. Returns the path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        arrays, names = [], []
        for name, arr in self._columns().items():
            names.append(name)
            arrays.append(_to_arrow(arr))
        buf = io.BytesIO()
        np.savez(buf, **self.system)
        table = pa.Table.from_arrays(arrays, names=names)
        table = table.replace_schema_metadata(
            {_META_KEY: self.meta.to_json().encode(), _SYSTEM_KEY: buf.getvalue()}
        )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> LoggedDataset:
        """Read and validate a dataset written by :meth:`save`."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no logged dataset at {path}")
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(
                f"{path} is not a readable Parquet file ({exc}); it may be truncated or "
                "corrupted: collect the data again"
            ) from exc
        md = table.schema.metadata or {}
        if _META_KEY not in md:
            raise DatasetError(
                f"{path} has no recsim_envs metadata; it was not written by LoggedDataset.save"
            )
        meta = DatasetMeta.from_json(md[_META_KEY].decode())
        if meta.schema_version > SCHEMA_VERSION:
            raise DatasetError(
                f"{path} uses schema version {meta.schema_version}, newer than this "
                f"recsim_envs ({SCHEMA_VERSION}); upgrade recsim_envs to read it"
            )
        system: dict[str, np.ndarray] = {}
        if md.get(_SYSTEM_KEY):
            with np.load(io.BytesIO(md[_SYSTEM_KEY]), allow_pickle=False) as npz:
                system = {k: npz[k] for k in npz.files}
        cols: dict[str, np.ndarray] = {}
        for name in table.column_names:
            cols[name] = _from_arrow(table.column(name), name)
        for name, (kind, ndim) in _REQUIRED.items():
            if name not in cols:
                raise DatasetError(
                    f"{path} lacks the required column '{name}'; it has {sorted(cols)}"
                )
            arr = cols[name]
            if arr.dtype.kind not in (kind, "i" if kind == "f" else kind) or arr.ndim != ndim:
                raise DatasetError(
                    f"column '{name}' in {path} has dtype {arr.dtype} and {arr.ndim} dims; "
                    f"expected a {'float' if kind == 'f' else 'integer'} array with {ndim} dims"
                )
        expected = cols.pop("expected_reward", None)
        if expected is None:
            raise DatasetError(f"{path} lacks the column 'expected_reward'")
        core = {k: cols.pop(k) for k in _REQUIRED}
        return cls(**core, expected_reward=expected, meta=meta, extras=cols, system=system)

    # ------------------------------------------------------------------ exchange
    def to_obp(self) -> dict[str, Any]:
        """The Open Bandit Pipeline's bandit-feedback dict (:mod:`recsim_envs.data.exchange`)."""
        from recsim_envs.data.exchange import to_obp

        return to_obp(self)

    @classmethod
    def from_obp(cls, d: dict[str, Any]) -> LoggedDataset:
        """A dataset from OBP bandit feedback; exact inverse of :meth:`to_obp`."""
        from recsim_envs.data.exchange import from_obp

        return from_obp(d)


def _to_arrow(arr: np.ndarray):
    import pyarrow as pa

    if arr.ndim == 1:
        return pa.array(arr)
    flat = pa.array(np.ascontiguousarray(arr).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, arr.shape[1])


def _from_arrow(col, name: str) -> np.ndarray:
    import pyarrow as pa

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_fixed_size_list(col.type):
        width = col.type.list_size
        if col.null_count:
            raise DatasetError(f"column '{name}' has missing cells")
        flat = col.values.to_numpy(zero_copy_only=False)
        return flat.reshape(-1, width)
    if col.null_count:
        raise DatasetError(
            f"column '{name}' has {col.null_count} missing values; re-collect the data"
        )
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
            or pa.types.is_boolean(col.type)):
        raise DatasetError(f"column '{name}' has type {col.type}; expected numbers")
    return col.to_numpy(zero_copy_only=False)
