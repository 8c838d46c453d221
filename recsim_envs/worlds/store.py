"""A fitted world on disk: arrays in ``.npz`` (no pickle) and a JSON manifest.

A world directory holds ``world.npz`` (numeric and unicode arrays, read back with
``allow_pickle=False``), ``reliability.png`` (the held-out reliability plot) and
``manifest.json``: the schema version, the sha256 of every other file, the sha256 of the
input table, the fit settings, the held-out metrics (``auc``, ``log_loss``,
``calibration_error``), and the quit model. :meth:`FittedWorld.save` writes into a
temporary directory and renames it, so a failed save leaves no directory behind;
:func:`load_world` checks the schema version and every file's hash before reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.data.dataset import json_default

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "world.npz"
PLOT = "reliability.png"
REQUIRED_ARRAYS = ("truth", "user_obs", "item_obs", "ranker_weights", "behaviour_weights",
                   "item_category", "patience", "rating_levels", "rating_shares",
                   "test_users", "user_ids", "item_ids")


class WorldError(ValueError):
    """A world directory that cannot be loaded: the message names the file and the fix."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class FittedWorld:
    """A world fitted by :func:`recsim_envs.worlds.fit`.

    Attributes:
        arrays: ``truth`` (n_users, n_items) float32 p(label = 1), the private response
            model; ``user_obs`` (n_users, d_u) and ``item_obs`` (n_items, d_i) public
            features; ``ranker_weights`` (d_u + 1, d_i + 1); ``behaviour_weights`` (same);
            ``item_category`` (n_items,) in [0, 8); ``patience`` (n_users,) session length
            at which a user leaves (0: no fitted quit model); ``rating_levels`` and
            ``rating_shares`` (levels of the raw label column and their shares);
            ``test_users``; ``user_ids``, ``item_ids`` original ids; optional ``item_names``.
        manifest: JSON-ready description (see the module docstring).
    """

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.arrays["truth"].shape[0]

    @property
    def n_items(self) -> int:
        return self.arrays["truth"].shape[1]

    @property
    def metrics(self) -> dict[str, Any]:
        return self.manifest.get("metrics", {})

    def summary(self) -> str:
        m = self.metrics
        inp = self.manifest.get("input", {})
        return (f"fitted world: {inp.get('n_interactions', '?'):,} interactions, "
                f"{self.n_users:,} users x {self.n_items:,} items; held-out "
                f"(n={m.get('n_heldout', 0):,}): auc {m.get('auc', float('nan')):.4f}, "
                f"log_loss {m.get('log_loss', float('nan')):.4f} (base rate "
                f"{m.get('log_loss_base_rate', float('nan')):.4f}), calibration_error "
                f"{m.get('calibration_error', float('nan')):.4f}; quit model "
                f"{self.manifest.get('quit_model', {}).get('kind', '?')}; fit "
                f"{m.get('fit_seconds', float('nan')):.1f} s")

    # ------------------------------------------------------------------ disk
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the world directory atomically (temporary directory + rename)."""
        path = Path(path).expanduser()
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another directory or pass "
                                  "overwrite=True (--overwrite)")
        missing = [k for k in REQUIRED_ARRAYS if k not in self.arrays]
        if missing:
            raise WorldError(f"the world lacks the arrays {missing}; fit it with "
                             "recsim_envs.worlds.fit")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            with open(tmp / ARRAYS, "wb") as fh:
                np.savez(fh, **self.arrays)
            files = [ARRAYS]
            if _reliability_png(self.metrics.get("reliability"), tmp / PLOT):
                files.append(PLOT)
            manifest = {**self.manifest, "schema_version": SCHEMA_VERSION,
                        "files": {f: _sha256(tmp / f) for f in files}}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                   default=json_default))
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.manifest = manifest
        return path


def _reliability_png(rel: dict[str, Any] | None, out: Path) -> bool:
    """Predicted vs observed positive rate per bin (the held-out reliability diagram)."""
    if not rel:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is optional; the numbers are in the manifest
        return False
    count = np.asarray(rel["count"])
    keep = count > 0
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    ax.plot(np.asarray(rel["mean_predicted"])[keep], np.asarray(rel["mean_observed"])[keep],
            marker="o", label="fitted model")
    ax.set_xlabel("predicted probability (held-out)")
    ax.set_ylabel("observed positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out, format="png", metadata={"Software": None})
    plt.close(fig)
    return True


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a world directory, its schema version checked."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise WorldError(f"{path}: no such world directory; fit one with `python -m "
                         "recsim_envs fit-world TABLE --out DIR` and pass world=DIR")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise WorldError(f"{mpath} is missing; the directory is not a fitted world (or was "
                         "damaged): fit the world again")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorldError(f"{mpath} is not valid JSON ({exc}); fit the world again") from exc
    version = manifest.get("schema_version")
    if not isinstance(version, int):
        raise WorldError(f"{mpath} has no schema_version; fit the world again")
    if version > SCHEMA_VERSION:
        raise WorldError(f"{mpath}: the world was fitted by a newer recsim_envs (schema "
                         f"{version}, this one reads up to {SCHEMA_VERSION}); upgrade "
                         "recsim_envs or refit the world with this version")
    return manifest


def load_world(path: str | os.PathLike) -> FittedWorld:
    """Load a world directory after checking the schema and every file's sha256."""
    path = Path(path).expanduser()
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    if ARRAYS not in files:
        raise WorldError(f"{path / MANIFEST} lists no {ARRAYS}; fit the world again")
    for name, digest in files.items():
        fpath = path / name
        if not fpath.is_file():
            raise WorldError(f"{fpath} is missing; restore it or fit the world again")
        if _sha256(fpath) != digest:
            raise WorldError(f"{fpath} was altered (its sha256 differs from the one in "
                             f"{MANIFEST}); restore the original file or fit the world again")
    try:
        with np.load(path / ARRAYS, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise WorldError(f"{path / ARRAYS} cannot be read ({exc}); fit the world again") from exc
    missing = [k for k in REQUIRED_ARRAYS if k not in arrays]
    if missing:
        raise WorldError(f"{path / ARRAYS} lacks {missing}; fit the world again")
    return FittedWorld(arrays=arrays, manifest=manifest)
