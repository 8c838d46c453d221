"""Stopping a run: SIGINT / SIGTERM give one line and exit 130 / 143, SIGKILL of the parent
leaves no worker behind, and a broken result line is removed when its cell runs again.

Each test starts a real ``python -m benchmarks run`` in a subprocess on a tiny spec whose
second agent sleeps in ``fit`` (it writes its pid to a marker folder first), waits until
the fast cell's row is written and the slow cell is running, then sends the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks.results import append_row, read_rows, repair_file
from tests.spec_text import tiny_two_stage_toml

ROOT = Path(__file__).resolve().parent.parent
MARKERS = "RECSIM_TEST_SLEEPY_MARKERS"

SPEC = tiny_two_stage_toml("stop", """
[[agents]]
name = "sleepy"
agent = "tests.test_benchmarks_interrupt:SleepyAgent"
""")


class SleepyAgent:
    """Writes its process id to the marker folder, then sleeps in ``fit`` (a long cell)."""

    name = "sleepy"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, dataset):
        folder = os.environ.get(MARKERS)
        if folder:
            Path(folder, str(os.getpid())).write_text("fit")
        time.sleep(300)
        return self

    def act(self, obs):  # pragma: no cover - never reached
        return obs


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (read from /proc; psutil-free)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> set[int]:
    """Direct children of ``pid`` (pool workers and the resource tracker)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(entry.name))
    return out


def _start(tmp_path: Path, executor: str) -> tuple[subprocess.Popen, Path, Path]:
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    markers = tmp_path / "markers"
    markers.mkdir()
    out_dir = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), MARKERS: str(markers)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "run", str(spec), "--executor", executor,
         "--workers", "2", "--out", str(out_dir)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal job has
    )
    return proc, markers, out_dir / "stop.jsonl"


def _wait_until_running(proc, markers: Path, results: Path, n_rows: int) -> list[int]:
    """Wait until the sleepy cell is in fit and ``n_rows`` rows are written; its pid(s)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        pids = [int(p.name) for p in markers.iterdir()]
        if pids and len(read_rows(results).rows) >= n_rows:
            return pids
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run did not reach the sleepy cell in time")


def _stop(proc, sig: int, group: bool) -> tuple[int, str, str, float]:
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)  # Ctrl-C in a terminal signals the whole group
    else:
        os.kill(proc.pid, sig)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out, err, time.monotonic() - t0


def _assert_gone(pids, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    survivors = [p for p in pids if _alive(p)]
    for p in survivors:  # do not leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"processes {survivors} outlived the run"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_a_pool_run_with_one_line_and_status_130(tmp_path):
    proc, markers, results = _start(tmp_path, "local")
    workers = _wait_until_running(proc, markers, results, n_rows=1)
    children = _children(proc.pid)
    assert set(workers) <= children
    code, out, err, seconds = _stop(proc, signal.SIGINT, group=True)
    assert code == 130, (out, err)
    assert err.strip().splitlines()[-1] == (
        "stopped: 1 of 2 cells done; run the same command to resume")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert seconds < 10
    _assert_gone(children)
    # The finished cell's row is kept; the sleepy cell has none and runs again on resume.
    rows = read_rows(results).rows
    assert [r["agent"]["name"] for r in rows] == ["popular"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_a_run_with_one_line_and_status_143(tmp_path):
    proc, markers, results = _start(tmp_path, "serial")
    _wait_until_running(proc, markers, results, n_rows=1)
    code, out, err, seconds = _stop(proc, signal.SIGTERM, group=False)
    assert code == 143, (out, err)
    assert err.strip().splitlines()[-1] == (
        "stopped: 1 of 2 cells done; run the same command to resume")
    assert "Traceback" not in err
    assert seconds < 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_the_parent_leaves_no_worker_behind(tmp_path):
    proc, markers, results = _start(tmp_path, "local")
    workers = _wait_until_running(proc, markers, results, n_rows=1)
    children = _children(proc.pid)  # the pool workers and the resource tracker
    assert set(workers) <= children
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    _assert_gone(children, seconds=10)


def test_a_broken_line_is_removed_when_rows_are_appended_again(tmp_path):
    path = tmp_path / "r.jsonl"
    good = {"schema": 1, "cell_id": "a", "suite": "s", "env": {"name": "e"},
            "agent": {"name": "x"}, "seed_index": 0, "status": "ok"}
    append_row(path, good)
    with open(path, "a") as fh:
        fh.write('{"cell_id": "b", "trunc')  # a write cut by a crash: no newline
    before = read_rows(path)
    assert len(before.rows) == 1 and "r.jsonl:2: broken result line" in before.problems[0]
    # A row of another version (valid JSON) is kept, not "repaired" away.
    newer = {**good, "cell_id": "c", "schema": 99}
    append_row(path, {**good, "cell_id": "b"})
    after = read_rows(path)
    assert [r["cell_id"] for r in after.rows] == ["a", "b"] and not after.problems
    assert path.read_text().count("\n") == 2 and path.read_text().endswith("\n")
    # Repair keeps valid JSON lines of other versions and is a no-op on a clean file.
    with open(path, "a") as fh:
        fh.write(json.dumps(newer) + "\n" + "not json\n")
    assert repair_file(path) == [4]
    assert repair_file(path) == []
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[-1])["schema"] == 99
    assert not list(tmp_path.glob(".r.jsonl.*"))  # no temporary file left behind


@pytest.mark.slow
def test_a_resumed_run_removes_the_broken_line_of_its_cell(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC).split("[[agents]]\nname")[0])  # popular only
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run():
        return subprocess.run(
            [sys.executable, "-m", "benchmarks", "run", str(spec), "--executor", "serial",
             "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300,
        )

    assert run().returncode == 0
    path = tmp_path / "stop.jsonl"
    row_line = path.read_text()
    path.write_text(row_line[: len(row_line) // 2])  # the only row, cut by a crash
    first = run()
    assert first.returncode == 0 and "stop.jsonl:1: broken result line" in first.stderr
    assert "1 ok" in first.stdout
    second = run()
    assert "broken" not in second.stderr and "1 already done" in second.stdout
    assert len(path.read_text().splitlines()) == 1
