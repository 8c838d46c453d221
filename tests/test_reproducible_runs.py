"""Two fresh runs of the same specs, in separate processes, give element-wise identical rows
(apart from timings) and the same leaderboard page: what makes the committed board
reproducible from a fresh clone (issue: "a leaderboard that answers ... reproducibly")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.results import deterministic_part, read_rows

ROOT = Path(__file__).resolve().parent.parent

SPECS = {
    "tiny_two_stage": """
name = "tiny_two_stage"
family = "two_stage"
seeds = 2
data = { n_train = 300, n_heldout = 200 }
evaluation = { n_eval = 100 }
behaviour = { policy = "softmax" }
[[envs]]
name = "small"
id = "recsim_envs/TwoStageSynthetic-v0"
kwargs = { n_items = 30, n_candidates = 3 }
[[agents]]
agent = "random"
[[agents]]
agent = "logging"
[[agents]]
agent = "ce"
settings = { epochs = 1 }
""",
    "tiny_prompt": """
name = "tiny_prompt"
family = "prompt"
seeds = 1
data = { n_train = 200, n_heldout = 200 }
evaluation = { n_eval = 200 }
behaviour = { policy = "reference", n_rounds = 200, regressor_steps = 20 }
[[envs]]
name = "small"
id = "recsim_envs/PromptSentence-v0"
kwargs = { n_prompts = 10 }
[[agents]]
agent = "uniform"
[[agents]]
agent = "prompt_logging"
[[agents]]
agent = "regression_pg"
settings = { n_steps = 30, regressor_steps = 30 }
""",
    "tiny_sequential": """
name = "tiny_sequential"
family = "sequential"
seeds = 1
data = { n_train = 20, n_heldout = 20 }
evaluation = { n_eval = 10 }
behaviour = { policy = "softmax", temperature = 0.5 }
[[envs]]
name = "small"
id = "recsim_envs/SequentialRec-v0"
kwargs = { n_users = 40, n_items = 30 }
[[agents]]
agent = "seq_random"
[[agents]]
agent = "seq_logging"
[[agents]]
agent = "bc"
settings = { updates = 20 }
""",
}


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _fresh_run(tmp_path: Path, name: str) -> tuple[dict[str, dict], str]:
    out = tmp_path / name
    specs = []
    for spec_name, text in SPECS.items():
        path = tmp_path / f"{spec_name}.toml"
        path.write_text(text)
        specs.append(str(path))
    _run(["run", *specs, "--out", str(out), "--quiet"], tmp_path)
    _run(["leaderboard", str(out), "--no-plots", "--markdown", str(out / "BOARD.md")],
         tmp_path)
    rows = {}
    for spec_name in SPECS:
        for row in read_rows(out / f"{spec_name}.jsonl").rows:
            assert row["status"] == "ok", row.get("error")
            rows[row["cell_id"]] = json.loads(json.dumps(deterministic_part(row)))
    return rows, (out / "BOARD.md").read_text()


def test_two_fresh_runs_give_identical_rows_and_boards(tmp_path):
    first_rows, first_board = _fresh_run(tmp_path, "first")
    second_rows, second_board = _fresh_run(tmp_path, "second")
    assert len(first_rows) == 3 * (2 + 1 + 1)
    assert first_rows.keys() == second_rows.keys()
    for cell, row in first_rows.items():
        assert row == second_rows[cell], f"cell {cell} differs between two fresh runs"
    assert first_board == second_board
