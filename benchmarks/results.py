"""Result rows on disk: one JSON line per finished cell, appended atomically.

A row is written as one ``write`` of a whole line followed by ``flush`` and ``fsync``, so
an interrupted run leaves at most one partial last line; reading reports such a line (and
any other that is not a valid row) with its line number and skips it, and the cell runs
again on resume. The first row appended to a file by a run removes the broken lines
(lines that are not JSON) from it first, rewriting the file atomically
(:func:`repair_file`), so a broken line is reported until its cell has run again, not
forever. Only the fields in :data:`NONDETERMINISTIC_FIELDS` may differ between two runs of
the same cell.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.core.io import write_bytes_atomic

ROW_SCHEMA = 2
NONDETERMINISTIC_FIELDS = ("timing", "traceback")
"""Row fields that depend on the machine or the moment (excluded from equality checks)."""

_REQUIRED = ("schema", "cell_id", "suite", "env", "agent", "seed_index", "status")


@dataclass
class ReadResult:
    """Rows read from result files, and the lines that were not rows."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def deterministic_part(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without its timing and traceback fields."""
    return {k: v for k, v in row.items() if k not in NONDETERMINISTIC_FIELDS}


_CHECKED: dict[str, tuple[int, int]] = {}
"""(size, mtime) of each file as this process last left it: files this process wrote
itself since it checked them are not read again."""


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _is_broken(line: bytes) -> bool:
    """A line that is not JSON: a write cut short by a crash (or a hand edit gone wrong).
    Valid JSON that is not a row of this version (e.g. a newer schema) is kept."""
    try:
        json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True
    return False


def repair_file(path: str | Path) -> list[int]:
    """Remove broken lines (see :func:`_is_broken`) and blank lines from a result file.

    The file is rewritten through a temporary file in the same folder and ``os.replace``,
    so a crash during the repair leaves either the old or the new file. Returns the
    1-based numbers of the removed broken lines (empty, and the file untouched, if none).
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    broken = [i for i, line in enumerate(lines, start=1) if line.strip() and _is_broken(line)]
    if not broken:
        return []
    keep = [line for line in lines if line.strip() and not _is_broken(line)]
    write_bytes_atomic(path, b"".join(line + b"\n" for line in keep), fsync=True)
    return broken


def append_row(path: str | Path, row: dict[str, Any]) -> None:
    """Append ``row`` as one line, flushed and synced to disk before returning.

    The first time this process appends to ``path`` (or after another process changed
    it), broken lines are removed first (:func:`repair_file`): the cells they belonged to
    are running again, which is why rows are being appended.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=True, allow_nan=False) + "\n"
    key = str(path.resolve())
    state = _stat(path)
    if state is not None and _CHECKED.get(key) != state:
        repair_file(path)
    with open(path, "a+b") as fh:
        # A crash mid-write may have left a partial line without its newline: start afresh
        # so the new row is not glued onto it (the partial line is then reported on read).
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(line.encode())
        fh.flush()
        os.fsync(fh.fileno())
    state = _stat(path)
    if state is not None:
        _CHECKED[key] = state


def read_rows(path: str | Path) -> ReadResult:
    """Rows of one ``.jsonl`` file; broken lines become messages naming file and line."""
    path = Path(path)
    out = ReadResult()
    if not path.exists():
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                out.problems.append(
                    f"{path}:{lineno}: broken result line ({exc.msg} at column {exc.colno}); "
                    "ignored - its cell runs again on resume, which removes the line"
                )
                continue
            missing = [k for k in _REQUIRED if not isinstance(row, dict) or k not in row]
            if missing:
                out.problems.append(
                    f"{path}:{lineno}: not a result row (lacks {missing}); ignored"
                )
                continue
            if row["schema"] > ROW_SCHEMA:
                out.problems.append(
                    f"{path}:{lineno}: row schema {row['schema']} is newer than this "
                    f"benchmarks package ({ROW_SCHEMA}); ignored - upgrade recsim_envs"
                )
                continue
            out.rows.append(row)
    return out


def read_dir(directory: str | Path) -> ReadResult:
    """All rows of every ``*.jsonl`` file in ``directory`` (sorted by file name)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no results directory at {directory}")
    out = ReadResult()
    for path in sorted(directory.glob("*.jsonl")):
        part = read_rows(path)
        out.rows.extend(part.rows)
        out.problems.extend(part.problems)
    return out


def slot(row: dict[str, Any]) -> tuple[str, str, str, int]:
    """(suite, environment, agent, seed index): the place a row takes in a leaderboard."""
    return (row["suite"], row["env"]["name"], row["agent"]["name"], row["seed_index"])


def latest_rows(rows: list[dict[str, Any]], by_slot: bool = False) -> list[dict[str, Any]]:
    """One row per cell (or per :func:`slot`): the last OK row if any, else the last failed
    one, in file order. ``by_slot`` makes a re-run with changed settings or agent code
    replace the earlier rows of the same (suite, environment, agent, seed)."""
    best: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = slot(row) if by_slot else row["cell_id"]
        cur = best.get(key)
        if cur is None or row["status"] == "ok" or cur["status"] != "ok":
            best[key] = row
    return list(best.values())


def as_json_row(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as it reads back from a result file: numpy values as plain numbers, and a
    non-finite number (e.g. a metric divided by zero) as null, its path named in
    ``row["non_finite"]``. Rows then compare equal whether or not they were written."""
    row = json.loads(json.dumps(row, sort_keys=True, default=_json_default))
    bad = _non_finite(row)
    if bad:
        row = _finite_or_none(row)
        row["non_finite"] = bad
    return row


def _non_finite(obj: Any, path: str = "") -> list[str]:
    """Paths of NaN or infinite numbers in a JSON-like object."""
    if isinstance(obj, float):
        return [] if np.isfinite(obj) else [path or "."]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _non_finite(v, f"{path}[{i}]")]
    return []


def _finite_or_none(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_none(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
