"""Locate the MovieLens files: ML-100K or ML-1M, in ``data_dir`` or ``$RECSIM_ENVS_DATA``.

Nothing is downloaded (GroupLens, https://grouplens.org/datasets/movielens/): the error
when no complete file set is found says where to put the files. Parsing is
:mod:`recsim_envs.two_stage.movielens_data`.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "RECSIM_ENVS_DATA"

ML100K_FILES = ("u.data", "u.user", "u.item")
ML1M_FILES = ("ratings.dat", "users.dat", "movies.dat")
FORMAT_FILES = {"ml-100k": ML100K_FILES, "ml-1m": ML1M_FILES}


def _missing_data_message(searched: list[Path]) -> str:
    where = ", ".join(str(p) for p in searched) or "(no directory given)"
    return (
        f"no MovieLens files found (searched: {where}). Download MovieLens by hand from "
        "https://grouplens.org/datasets/movielens/ (ML-100K or ML-1M; nothing is downloaded "
        "automatically), unzip it and pass data_dir=<folder> to gymnasium.make (or "
        "--data-dir <folder> to `python -m benchmarks run`) or set "
        f"{DATA_ENV_VAR}=<folder>. The folder (or its ml-100k/ or ml-1m/ subfolder) must hold "
        f"either {', '.join(ML100K_FILES)} (ML-100K) or {', '.join(ML1M_FILES)} (ML-1M)."
    )


def find_movielens(
    data_dir: str | os.PathLike | None = None, dataset: str = "auto"
) -> tuple[str, Path]:
    """Locate MovieLens files: returns (format, folder).

    Looks in ``data_dir``, else in ``$RECSIM_ENVS_DATA``; in the folder itself and in its
    ``ml-100k/`` and ``ml-1m/`` subfolders (the layout of the unzipped archives).

    Args:
        data_dir: folder to search; ``None`` reads :data:`DATA_ENV_VAR`.
        dataset: ``"auto"`` (the one format present; an error if both are), ``"ml-100k"``
            or ``"ml-1m"``.

    Raises:
        FileNotFoundError: no folder or no complete file set; the message says where the
            files must go.
    """
    if dataset not in ("auto", *FORMAT_FILES):
        raise ValueError(f"dataset must be 'auto', 'ml-100k' or 'ml-1m', got {dataset!r}")
    if data_dir is None:
        env = os.environ.get(DATA_ENV_VAR, "").strip()
        if not env:
            raise FileNotFoundError(
                f"no data_dir given and {DATA_ENV_VAR} is not set. " + _missing_data_message([])
            )
        data_dir = env
    root = Path(data_dir).expanduser()
    candidates = [root, root / "ml-100k", root / "ml-1m"]
    found: dict[str, Path] = {}
    for folder in candidates:
        for fmt, names in FORMAT_FILES.items():
            if fmt not in found and all((folder / n).is_file() for n in names):
                found[fmt] = folder
    if dataset != "auto":
        if dataset not in found:
            raise FileNotFoundError(f"dataset={dataset!r}: " + _missing_data_message(candidates))
        return dataset, found[dataset]
    if not found:
        raise FileNotFoundError(_missing_data_message(candidates))
    if len(found) > 1:
        raise ValueError(
            f"both ML-100K ({found['ml-100k']}) and ML-1M ({found['ml-1m']}) files are present; "
            "choose one with dataset='ml-100k' or dataset='ml-1m'"
        )
    fmt = next(iter(found))
    return fmt, found[fmt]


def movielens_files(fmt: str, folder: Path) -> list[Path]:
    """The (ratings, users, movies) paths of a located dataset."""
    return [folder / n for n in FORMAT_FILES[fmt]]
