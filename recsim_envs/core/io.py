"""Atomic file writes: a file is either the old one or the complete new one, never half.

Every writer of the suite (logged datasets, checkpoints, fitted worlds, result files,
leaderboards, cached worlds) goes through :func:`atomic_path`: the content is written to a
temporary file in the destination's folder (same file system, so the final ``os.replace``
is atomic) and the temporary file is removed if writing fails.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    Args:
        path: the destination (its folder is created).
        fsync: flush the temporary file to disk before the rename (for append-only result
            files that must survive a power cut, not only a crash).

    Raises:
        whatever the block raises; the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def save_npz_atomic(path: str | Path, arrays: dict) -> Path:
    """``np.savez`` of ``arrays`` (name -> array) to ``path`` atomically; returns ``path``.

    Written through an open file handle, so numpy does not append ``.npz`` to the
    temporary name."""
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return Path(path)
