"""Read and validate a user's table of interactions (CSV or Parquet) for fitting a world.

A table holds one interaction per row: a user id, an item id, a label column (a rating
or a click) and optionally a timestamp; optional feature tables give one row per user or
per item, keyed by the same id column, with numeric columns (standardised) and
categorical ones (one-hot, i.e. an embedding once the simulator projects them).
:func:`read_table` returns an :class:`InteractionTable` of plain arrays with users and
items re-indexed to ``0..n-1`` in sorted id order. Every problem raises
:class:`TableError` naming the file, the column or row and what to do; nothing is
silently dropped. The MovieLens reader is one adapter of this format
(:func:`from_movielens`), a :class:`~recsim_envs.data.LoggedDataset` another
(:func:`from_logged_dataset`).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_CATEGORIES = 50  # one-hot columns per categorical feature; rarer values share "other"
_RULE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d*)?)\s*$")
_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
        "==": np.equal, "!=": np.not_equal}


class TableError(ValueError):
    """A table that cannot be fitted on: the message names the file, column or row and the fix."""


@dataclass(frozen=True)
class InteractionTable:
    """Interactions as arrays; users and items are indexed 0..n-1 (sorted original ids).

    Attributes:
        user: (n,) int64 user index of each interaction.
        item: (n,) int64 item index.
        label: (n,) float32 in {0, 1}, the label rule applied (e.g. rating > 3).
        value: (n,) float32, the raw label column (e.g. the rating).
        timestamp: (n,) int64 seconds, or None when the table has none.
        user_ids, item_ids: (n_users,), (n_items,) unicode original ids.
        user_features: (n_users, d_u) float32 encoded user features (d_u may be 0).
        item_features: (n_items, d_i) float32 encoded item features.
        user_feature_names, item_feature_names: names of the encoded columns.
        label_rule: the rule that made ``label`` (e.g. ``"rating > 3"``).
        source: what was read (paths), for the manifest.
        sha256: hash of the input files' bytes (or of the arrays for in-memory input).
    """

    user: np.ndarray
    item: np.ndarray
    label: np.ndarray
    value: np.ndarray
    timestamp: np.ndarray | None
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_features: np.ndarray
    item_features: np.ndarray
    user_feature_names: tuple[str, ...] = ()
    item_feature_names: tuple[str, ...] = ()
    label_rule: str = ""
    source: str = ""
    sha256: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.user)

    def describe(self) -> str:
        return (f"{len(self):,} interactions of {self.n_users:,} users and {self.n_items:,} "
                f"items (positive rate {self.label.mean():.3f}, label {self.label_rule!r}) "
                f"from {self.source}")


# ---------------------------------------------------------------------------- reading files
def file_sha256(paths: list[Path]) -> str:
    """sha256 over the files' names and bytes (hex)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def read_frame(path: str | os.PathLike, sep: str | None = None,
               columns: list[str] | None = None):
    """A CSV (``sep`` by extension: tab for .tsv/.data, else comma) or Parquet file as a
    ``pandas.DataFrame``; ``columns`` names the columns of a file without a header.

    Completeness: a Parquet file's row count must match its footer's metadata; a text
    file's last line must hold every field (pandas reports fewer as missing values, which
    the validation below names), and a file that does not end with a line break is
    reported since its last line may be cut.
    """
    import pandas as pd

    path = Path(path).expanduser()
    if not path.is_file():
        raise TableError(f"{path}: no such file; pass the path of a CSV or Parquet table")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            expected = pq.ParquetFile(path).metadata.num_rows
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            raise TableError(f"{path}: not a readable Parquet file ({exc}); it may be "
                             "truncated: write it again") from exc
        if len(frame) != expected:
            raise TableError(f"{path}: read {len(frame)} rows but the file's metadata states "
                             f"{expected}; the file is damaged: write it again")
        if columns:
            raise TableError(f"{path}: --columns/columns= is for text files without a header; "
                             "Parquet files name their columns")
        return frame
    if sep is None:
        sep = "\t" if path.suffix.lower() in (".tsv", ".data", ".tab") else ","
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            raise TableError(f"{path}: the file is empty")
        fh.seek(size - 1)
        if fh.read(1) not in (b"\n", b"\r"):
            log.warning("%s does not end with a line break: its last line may be cut", path)
    _check_fields(path, sep, columns)
    try:
        frame = pd.read_csv(path, sep=sep, header=None if columns else "infer", names=columns,
                            engine="c" if len(sep) == 1 else "python", encoding="latin-1",
                            index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise TableError(f"{path}: cannot parse as a table separated by {sep!r} ({exc}); "
                         "set the separator (--sep / sep=)") from exc
    return frame


_COMMON_SEPS = ("\t", ",", ";", "|", "::")


def _check_fields(path: Path, sep: str, columns: list[str] | None) -> None:
    """Name the cause when the first line does not split into the expected fields: a wrong
    separator (the line holds one field, and another common separator splits it), or
    ``columns`` naming more or fewer fields than the file has (pandas would otherwise pad
    with empty columns or drop data, and the error would be about an empty column)."""
    with open(path, encoding="latin-1") as fh:
        first = next((line.rstrip("\r\n") for line in fh if line.strip()), "")
    if len(sep) == 1:  # quoted fields may hold the separator
        n_fields = len(next(csv.reader([first], delimiter=sep)))
    else:
        n_fields = len(first.split(sep))
    if n_fields == 1 and (columns is None or len(columns) > 1):
        for other in _COMMON_SEPS:
            if other != sep and other in first:
                raise TableError(
                    f"{path}: its first line holds no {sep!r} but splits on {other!r} "
                    f"({first[:60]!r}); pass --sep {other!r} (sep={other!r})")
    if columns is not None and n_fields != len(columns):
        raise TableError(
            f"{path}: its first line has {n_fields} field(s) separated by {sep!r} but "
            f"--columns names {len(columns)} ({columns}); name one column per field, or set "
            "the separator (--sep)")


def _column(frame, name: str, path: str, role: str):
    if name not in frame.columns:
        raise TableError(f"{path}: no column {name!r} for the {role} (columns: "
                         f"{[str(c) for c in frame.columns]}); name it with {role}_col= or "
                         "--columns for a file without a header")
    return frame[name]


def _first_missing(series, path: str, name: str, line_offset: int) -> None:
    missing = series.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise TableError(f"{path}: column {name!r} is empty in row {i} (line {i + line_offset}) "
                         f"and {int(missing.sum()) - 1} other rows; fill or drop those rows")


def _numeric(series, path: str, name: str, what: str, line_offset: int) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna().to_numpy() & series.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TableError(f"{path}: {what} column {name!r} must be numeric; row {i} (line "
                         f"{i + line_offset}) holds {series.iloc[i]!r}")
    return values.to_numpy(dtype=np.float64)


def parse_label(rule: str) -> tuple[str, Any]:
    """``"rating > 3"`` -> ("rating", fn(values) -> bool); a bare column name -> the column
    itself, which must then hold only 0 and 1."""
    m = _RULE.match(rule)
    if m:
        col, op, number = m.group(1), m.group(2), float(m.group(3))
        return col, lambda v: _OPS[op](v, number)
    if re.fullmatch(r"[A-Za-z_]\w*", rule.strip()):
        return rule.strip(), None
    raise TableError(f"label rule {rule!r} is not understood; write 'COLUMN OP NUMBER' "
                     "(OP one of > >= < <= == !=, e.g. 'rating > 3') or a 0/1 column name")


def encode_features(frame, key: str, ids: np.ndarray, path: str,
                    what: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """One row per id of ``ids`` (original ids as strings), encoded: numeric columns
    standardised, other columns one-hot over their ``MAX_CATEGORIES`` most frequent values.

    Raises TableError for a missing/duplicate id, an id with no interactions, or a NaN.
    """
    keys = _column(frame, key, path, what).astype(str).to_numpy()
    uniq, counts = np.unique(keys, return_counts=True)
    if (counts > 1).any():
        raise TableError(f"{path}: {what} id {uniq[counts > 1][0]!r} has more than one row; "
                         "keep one row per id")
    extra = np.setdiff1d(uniq, ids)
    if extra.size:
        raise TableError(f"{path}: {what} id {extra[0]!r} (and {extra.size - 1} others) has "
                         "no interactions in the table; drop those rows from the features file")
    absent = np.setdiff1d(ids, uniq)
    if absent.size:
        raise TableError(f"{path}: {what} id {absent[0]!r} (and {absent.size - 1} others) of "
                         "the interactions has no row here; add one row per id")
    order = np.argsort(keys)[np.searchsorted(np.sort(keys), ids)]
    frame = frame.iloc[order].reset_index(drop=True)
    blocks, names = [], []
    for col in frame.columns:
        if col == key:
            continue
        series = frame[col]
        if series.isna().any():
            i = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise TableError(f"{path}: feature {col!r} is missing (NaN) for {what} "
                             f"{ids[i]!r}; fill it (e.g. with the median or a category "
                             "'unknown') or drop the column")
        if series.dtype.kind in "biuf":
            x = series.to_numpy(dtype=np.float64)
            if not np.all(np.isfinite(x)):
                raise TableError(f"{path}: feature {col!r} holds infinite values")
            blocks.append(((x - x.mean()) / max(x.std(), 1e-9))[:, None])
            names.append(str(col))
        else:
            values = series.astype(str).to_numpy()
            cats, cat_counts = np.unique(values, return_counts=True)
            keep = cats[np.argsort(-cat_counts, kind="stable")][:MAX_CATEGORIES]
            keep = np.sort(keep)
            pos = np.searchsorted(keep, values).clip(0, len(keep) - 1)
            hit = keep[pos] == values
            width = len(keep) + int((~hit).any())
            onehot = np.zeros((len(values), width))
            onehot[np.arange(len(values)), np.where(hit, pos, width - 1)] = 1.0
            blocks.append(onehot)
            names += [f"{col}={c}" for c in keep] + ([f"{col}=other"] if width > len(keep)
                                                     else [])
    if not blocks:
        return np.zeros((len(ids), 0), np.float32), ()
    return np.clip(np.hstack(blocks), -5, 5).astype(np.float32), tuple(names)


def read_table(
    path: str | os.PathLike,
    user_col: str = "user",
    item_col: str = "item",
    label: str = "rating > 3",
    timestamp_col: str | None = "auto",
    sep: str | None = None,
    columns: list[str] | None = None,
    user_features: str | os.PathLike | None = None,
    item_features: str | os.PathLike | None = None,
    feature_sep: str | None = None,
) -> InteractionTable:
    """Read an interaction table and optional feature tables (see the module docstring).

    Args:
        path: CSV/TSV (separator ``sep``, by extension if None) or Parquet file.
        user_col, item_col: id columns (also the key column of the feature tables).
        label: ``"COLUMN OP NUMBER"`` (``"rating > 3"``) or a 0/1 column's name.
        timestamp_col: seconds since the epoch; ``"auto"`` uses a ``timestamp`` column if
            there is one, ``None`` ignores time.
        columns: names of the columns of a headerless text file (MovieLens ``u.data``:
            ``["user", "item", "rating", "timestamp"]``).
        user_features, item_features: optional feature tables (CSV with a header or Parquet).
    """
    path = Path(path).expanduser()
    frame = read_frame(path, sep, columns)
    offset = 1 if columns else 2  # line number of row 0
    where = str(path)
    label_col, rule = parse_label(label)
    users = _column(frame, user_col, where, "user")
    items = _column(frame, item_col, where, "item")
    raw = _column(frame, label_col, where, "label")
    for series, name in ((users, user_col), (items, item_col), (raw, label_col)):
        _first_missing(series, where, name, offset)
    value = _numeric(raw, where, label_col, "label", offset)
    if rule is None:
        if not np.isin(value, (0.0, 1.0)).all():
            raise TableError(f"{where}: label column {label_col!r} holds values other than 0 "
                             "and 1; give a rule such as 'rating > 3'")
        y = value
    else:
        y = rule(value).astype(np.float64)
    ts = None
    if timestamp_col == "auto":
        timestamp_col = "timestamp" if "timestamp" in frame.columns else None
    if timestamp_col is not None:
        series = _column(frame, timestamp_col, where, "timestamp")
        _first_missing(series, where, timestamp_col, offset)
        ts = _numeric(series, where, timestamp_col, "timestamp", offset).astype(np.int64)
    user_ids, user_idx = np.unique(users.astype(str).to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(items.astype(str).to_numpy(), return_inverse=True)
    files = [path]
    feats = {}
    for what, fpath, ids in (("user", user_features, user_ids), ("item", item_features,
                                                                  item_ids)):
        if fpath is None:
            feats[what] = (np.zeros((len(ids), 0), np.float32), ())
            continue
        fpath = Path(fpath).expanduser()
        files.append(fpath)
        key = user_col if what == "user" else item_col
        feats[what] = encode_features(read_frame(fpath, feature_sep), key, ids, str(fpath), what)
    table = InteractionTable(
        user=user_idx.astype(np.int64), item=item_idx.astype(np.int64),
        label=y.astype(np.float32), value=value.astype(np.float32), timestamp=ts,
        user_ids=user_ids, item_ids=item_ids,
        user_features=feats["user"][0], item_features=feats["item"][0],
        user_feature_names=feats["user"][1], item_feature_names=feats["item"][1],
        label_rule=label, source=", ".join(str(f) for f in files), sha256=file_sha256(files),
    )
    check_table(table)
    log.info("read %s", table.describe())
    return table


def check_table(table: InteractionTable) -> None:
    """Problems a fit cannot recover from: too little data, a single class, NaN features."""
    n = len(table)
    if n < 10:
        raise TableError(f"{table.source}: {n} interactions; a world needs at least 10")
    positives = int(table.label.sum())
    if positives in (0, n):
        raise TableError(f"{table.source}: every interaction has label {int(table.label[0])} "
                         f"under the rule {table.label_rule!r}; a response model needs both "
                         "classes: change the rule (e.g. 'rating > 3')")
    if table.n_users < 2 or table.n_items < 2:
        raise TableError(f"{table.source}: {table.n_users} users and {table.n_items} items; "
                         "a world needs at least 2 of each")
    for what, arr in (("user", table.user_features), ("item", table.item_features)):
        if not np.all(np.isfinite(arr)):
            raise TableError(f"{table.source}: {what} features hold NaN or infinite values")
