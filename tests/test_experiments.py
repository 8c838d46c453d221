"""The research tables under experiments/: every spec is valid, names its claims, and its
committed TABLE.md is exactly what its committed rows give (no hand-edited table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "experiments").glob("*.toml"))


def test_there_are_experiments_for_every_family():
    families = {load_spec(p).family for p in SPECS}
    assert families == {"two_stage", "prompt", "sequential"}


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.stem)
def test_each_committed_table_is_generated_from_its_rows(spec_path, tmp_path):
    spec = load_spec(spec_path)
    assert spec.claims, f"{spec_path.name} states no [[claims]]"
    rows_dir = spec_path.with_suffix("")
    committed = rows_dir / "TABLE.md"
    assert committed.exists(), f"run `make experiments EXPERIMENTS={spec_path.relative_to(ROOT)}`"
    fresh = tmp_path / "TABLE.md"
    # the CSV files go to tmp_path as well: the committed folder is left untouched
    assert main(["leaderboard", str(rows_dir), "--claims", str(spec_path), "--no-plots",
                 "--markdown", str(fresh), "--csv", str(tmp_path / "board.csv"),
                 "--title", f"Experiment {spec_path.stem}"]) == 0
    assert fresh.read_text() == committed.read_text(), (
        f"{committed.relative_to(ROOT)} is not what its rows give; run `make experiment-tables`")
