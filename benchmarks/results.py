"""Result rows on disk: one JSON line per finished cell, appended atomically.

A row is written as one ``write`` of a whole line followed by ``flush`` and ``fsync``, so
an interrupted run leaves at most one partial last line; reading reports such a line (and
any other that is not a valid row) with its line number and skips it, and the cell runs
again on resume. Only the fields in :data:`NONDETERMINISTIC_FIELDS` may differ between
two runs of the same cell.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROW_SCHEMA = 1
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


def append_row(path: str | Path, row: dict[str, Any]) -> None:
    """Append ``row`` as one line, flushed and synced to disk before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=True, allow_nan=False) + "\n"
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
                    "ignored - its cell runs again on resume"
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
