"""`python -m benchmarks compare`: rows matched by slot, differences named, provenance
optionally ignored."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.cli import main
from benchmarks.compare import compare_dirs


def _row(agent_module: str, value: float, seed: int = 0) -> dict:
    return {"schema": 2, "cell_id": f"c{seed}", "suite": "s", "status": "ok", "seed_index": seed,
            "env": {"name": "e", "id": "recsim_envs/TwoStageSynthetic-v0"},
            "agent": {"name": "ce", "module": agent_module, "file": "x.py", "sha256": "ab"},
            "online": {"value": value}, "timing": {"total_s": value * 7},
            "versions": {"numpy": "2.0"}}


def _write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_identical_rows_apart_from_timing_and_moved_code(tmp_path, capsys):
    a = _write(tmp_path / "a", [_row("agents.two_stage", 0.5), _row("agents.two_stage", 0.7, 1)])
    b = _write(tmp_path / "b", [_row("agents.two_stage.ce", 0.5), _row("agents.two_stage.ce",
                                                                      0.7, 1)])
    b_rows = [json.loads(line) for line in (b / "s.jsonl").read_text().splitlines()]
    b_rows[0]["timing"] = {"total_s": 99.0}
    (b / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b_rows))
    strict = compare_dirs(a, b)
    assert not strict.identical and list(strict.different.values()) == [["agent"], ["agent"]]
    assert compare_dirs(a, b, ignore_provenance=True).identical
    assert main(["compare", str(a), str(b), "--ignore-provenance"]) == 0
    assert capsys.readouterr().out.strip() == "identical: 2 rows"


def test_a_changed_number_and_a_missing_row_are_reported(tmp_path, capsys):
    a = _write(tmp_path / "a", [_row("m", 0.5), _row("m", 0.7, 1)])
    b = _write(tmp_path / "b", [_row("m", 0.5000001)])
    result = compare_dirs(a, b)
    assert result.different == {("s", "e", "ce", 0): ["online"]}
    assert result.only_a == [("s", "e", "ce", 1)] and not result.only_b
    assert main(["compare", str(a), str(b)]) == 1
    assert "1 rows differ, 1 only in A" in capsys.readouterr().out
    assert main(["compare", str(a), str(tmp_path / "missing")]) == 2
