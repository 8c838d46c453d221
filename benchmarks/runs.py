"""A whole run: the cells of one or more specs not yet done, on one executor, rows appended
as cells finish, and a line per finished cell for logs without a terminal.

One executor runs the cells of every spec of a command (``python -m benchmarks run
two_stage prompt sequential``): its workers start once, and no worker waits idle at the end
of one suite while the other finishes that suite's last cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cells import RunContext, cells_of
from benchmarks.results import append_row, latest_rows, read_rows
from benchmarks.runner import source_hash
from benchmarks.spec import BenchmarkSpec


@dataclass
class RunSummary:
    """What a run did for one spec: rows written, cells skipped as already done, failures,
    and (for the whole run the spec was part of) wall time and the cells' summed time."""

    results_path: Path
    n_cells: int = 0
    n_skipped: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def cells_s(self) -> float:
        """Seconds the rows of this run spent inside their cells (their ``total_s``)."""
        return sum((r.get("timing") or {}).get("total_s", 0.0) for r in self.rows)


def results_path(out_dir: str | Path, spec: BenchmarkSpec) -> Path:
    return Path(out_dir) / f"{spec.name}.jsonl"


def run_benchmark(spec: BenchmarkSpec, out_dir: str | Path, **kwargs: Any) -> RunSummary:
    """Run every cell of ``spec`` not already done in ``out_dir``; see :func:`run_benchmarks`
    for the keyword arguments."""
    return run_benchmarks([spec], out_dir, **kwargs)[0]


def run_benchmarks(
    specs: list[BenchmarkSpec],
    out_dir: str | Path,
    *,
    workers: int = 1,
    executor: str = "local",
    progress: bool = False,
    log: Callable[[str], None] = print,
    context: RunContext | None = None,
) -> list[RunSummary]:
    """Run every cell of ``specs`` not already done in ``out_dir`` and append its row.

    Args:
        specs: the benchmarks; their cells share one executor.
        out_dir: rows go to ``out_dir/<spec.name>.jsonl``; cells with an OK row there are
            skipped (resume).
        workers: parallel cells.
        executor: ``local`` (process pool), ``serial`` (this process) or ``ray``.
        progress: show progress bars (overall and per cell); without them ``log`` gets a
            line per finished cell with counts and the time left.
        log: where messages go.

    Returns:
        One :class:`RunSummary` per spec; ``failures`` lists each failed cell's message.
    """
    from benchmarks.executors import get_executor

    t_start = time.monotonic()
    context = context or RunContext.current()
    summaries, todo = [], []
    for spec in specs:
        summary, cells = _plan(spec, out_dir, log)
        summaries.append(summary)
        todo += cells
    by_name = {spec.name: summary for spec, summary in zip(specs, summaries, strict=True)}
    lines = ProgressLines(", ".join(dict.fromkeys(s.name for s in specs)), len(todo))

    def on_row(row: dict[str, Any]) -> None:
        summary = by_name[row["suite"]]
        append_row(summary.results_path, row)
        summary.rows.append(row)
        if row["status"] != "ok":
            summary.failures.append(row["error"])
            log(f"FAILED {row['error']}")
        if not progress:  # the bars say it on a terminal; a redirected log gets a line
            log(lines.finished(row))

    if todo:
        runner = get_executor(executor, workers)
        if not progress:
            log(f"{lines.suite}: {len(todo)} cell(s) to run on {workers} worker(s) with the "
                f"{executor} executor")
        runner.run(todo, context, on_row, progress=progress)
    wall = time.monotonic() - t_start
    for summary in summaries:
        summary.wall_s = wall
    return summaries


def _plan(spec: BenchmarkSpec, out_dir: str | Path,
          log: Callable[[str], None]) -> tuple[RunSummary, list[Any]]:
    """The summary to fill and the cells of ``spec`` still to run."""
    path = results_path(out_dir, spec)
    existing = read_rows(path)
    summary = RunSummary(results_path=path, problems=list(existing.problems))
    for problem in existing.problems:
        log(f"warning: {problem}")
    # A finished cell is skipped only if its agent's source file is unchanged: a
    # leaderboard never mixes rows of two versions of an agent's code.
    code = {a.name: source_hash(a.agent) for a in spec.agents}
    done = {r["cell_id"] for r in latest_rows(existing.rows) if r["status"] == "ok"
            and code.get(r["agent"]["name"]) in (None, r["agent"].get("sha256"))}
    stale = {r["cell_id"] for r in existing.rows if r["status"] == "ok"} - done
    cells = cells_of(spec)
    summary.n_cells = len(cells)
    todo = [c for c in cells if c.cell_id not in done]
    summary.n_skipped = len(cells) - len(todo)
    if summary.n_skipped:
        log(f"{spec.name}: {summary.n_skipped} of {len(cells)} cells already done in {path}; "
            "skipping them")
    n_stale = sum(c.cell_id in stale for c in todo)
    if n_stale:
        log(f"{spec.name}: {n_stale} finished cell(s) run again: their agent's code changed")
    return summary, todo


class ProgressLines:
    """One line per finished cell for logs without a terminal: counts, the cell's time and
    an estimate of the time left (cells done so far per wall second, so parallel workers
    are counted)."""

    def __init__(self, suite: str, n_cells: int, clock: Callable[[], float] = time.monotonic):
        self.suite, self.n_cells, self.n_done = suite, n_cells, 0
        self._clock = clock
        self._start = clock()

    def finished(self, row: dict[str, Any]) -> str:
        self.n_done += 1
        elapsed = self._clock() - self._start
        left = elapsed / self.n_done * (self.n_cells - self.n_done)
        cell_s = (row.get("timing") or {}).get("total_s")
        took = f", {cell_s:.1f} s" if isinstance(cell_s, int | float) else ""
        label = "/".join((row["suite"], row["env"]["name"], row["agent"]["name"],
                          f"seed{row['seed_index']}"))
        return (f"{self.n_done}/{self.n_cells} cells done ({label} {row['status']}{took}); "
                f"{duration(elapsed)} elapsed, about {duration(left)} left")


def duration(seconds: float) -> str:
    """``seconds`` for people: ``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
