"""Where cells run: in this process, in a local process pool, or as Ray tasks.

Every executor calls :func:`benchmarks.runner.run_cell` on each cell and hands each row to
``on_row`` in the main process as soon as the cell finishes (the main process is the only
writer of the results file). A cell whose worker dies becomes a failed row too.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import queue as queue_mod
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.runner import PHASES, Cell, RunContext, run_cell

OnRow = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "serial", "ray")


def get_executor(name: str, workers: int) -> Any:
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if name == "local":
        return LocalExecutor(workers)
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        return RayExecutor(workers)
    raise ValueError(f"unknown executor {name!r}; use one of {EXECUTORS}")


class _Bars:
    """An overall bar and one bar per running cell (tqdm; no-ops when disabled)."""

    def __init__(self, n_cells: int, enabled: bool) -> None:
        self.enabled = enabled
        self.cells: dict[str, Any] = {}
        self.done: set[str] = set()
        self._free: list[int] = []
        self._next_pos = 1
        if enabled:
            from tqdm.auto import tqdm

            self._tqdm = tqdm
            self.overall = tqdm(total=n_cells, desc="cells", unit="cell", position=0)

    def phase(self, label: str, phase: str) -> None:
        if not self.enabled or label in self.done:
            return  # a late message from a cell that has already finished
        bar = self.cells.get(label)
        if bar is None:
            pos = self._free.pop() if self._free else self._next_pos
            if pos == self._next_pos:
                self._next_pos += 1
            bar = self._tqdm(total=len(PHASES), desc=label, position=pos, leave=False)
            bar.pos_ = pos
            self.cells[label] = bar
        bar.set_postfix_str(phase)
        done = PHASES.index(phase) if phase in PHASES else 0
        bar.update(done - bar.n)

    def finished(self, label: str, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.done.add(label)
        bar = self.cells.pop(label, None)
        if bar is not None:
            self._free.append(bar.pos_)
            bar.close()
        self.overall.update(1)
        self.overall.set_postfix_str(f"last: {label} {row['status']}")

    def close(self) -> None:
        if self.enabled:
            for bar in self.cells.values():
                bar.close()
            self.overall.close()


class _QueueProgress:
    """Picklable progress callback: sends (cell label, phase) to the main process."""

    def __init__(self, q: Any, label: str) -> None:
        self.q, self.label = q, label

    def __call__(self, phase: str) -> None:
        try:
            self.q.put_nowait((self.label, phase))
        except Exception:  # progress must never fail a cell
            pass


class SerialExecutor:
    """Cells one after the other in this process (debugging, tiny runs, tests)."""

    def run(self, cells: list[Cell], context: RunContext, on_row: OnRow,
            progress: bool = False) -> None:
        bars = _Bars(len(cells), progress)
        try:
            for cell in cells:
                row = run_cell(cell, context, lambda p, c=cell: bars.phase(c.label, p))
                on_row(row)
                bars.finished(cell.label, row)
        finally:
            bars.close()


class LocalExecutor:
    """A ``ProcessPoolExecutor`` of ``workers`` processes started with ``spawn``.

    ``spawn`` (not ``fork``) gives each worker a clean interpreter: no copied torch
    thread pools or generator state, and user agent modules import exactly as they would
    in a fresh ``python``.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, cells: list[Cell], context: RunContext, on_row: OnRow,
            progress: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        bars = _Bars(len(cells), progress)
        manager = ctx.Manager() if progress else None
        q = manager.Queue() if manager is not None else None
        try:
            with cf.ProcessPoolExecutor(max_workers=min(self.workers, len(cells)),
                                        mp_context=ctx) as pool:
                futures = {
                    pool.submit(run_cell, cell, context,
                                _QueueProgress(q, cell.label) if q is not None else None): cell
                    for cell in cells
                }
                pending = set(futures)
                while pending:
                    finished, pending = cf.wait(pending, timeout=0.2,
                                                return_when=cf.FIRST_COMPLETED)
                    _drain(q, bars)
                    for fut in finished:
                        cell = futures[fut]
                        row = _row_of(fut, cell, context)
                        on_row(row)
                        bars.finished(cell.label, row)
        finally:
            bars.close()
            if manager is not None:
                manager.shutdown()


def _drain(q: Any, bars: _Bars) -> None:
    if q is None:
        return
    while True:
        try:
            label, phase = q.get_nowait()
        except (queue_mod.Empty, EOFError, OSError):
            return
        bars.phase(label, phase)


def _row_of(fut: cf.Future, cell: Cell, context: RunContext) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # the worker died (crash, kill, out of memory)
        return crashed_row(cell, context, f"{type(exc).__name__}: {exc}")


def crashed_row(cell: Cell, context: RunContext, message: str) -> dict[str, Any]:
    """The failed row of a cell whose worker process died before returning a row."""
    from benchmarks.runner import cell_seeds, row_header

    row = row_header(cell, context, cell_seeds(cell.spec.name, cell.env.name, cell.seed_index))
    row.update(
        error=f"cell {cell.label} failed: its worker process died ({message})",
        failed_phase="worker",
        timing={"finished_at": time.time()},
    )
    return row


class RayExecutor:
    """Cells as Ray tasks (``pip install 'ray[default]'``).

    Connects to the cluster named by ``RAY_ADDRESS`` if set, else starts a local Ray
    instance with ``workers`` CPUs. Each task runs :func:`run_cell`, so rows are identical
    to the local executor's for the same cells.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(
                "--executor ray needs Ray: `pip install 'ray[default]'` (or the `ray` extra: "
                "`pip install -e '.[ray]'`); or use --executor local"
            ) from exc

    def run(self, cells: list[Cell], context: RunContext, on_row: OnRow,
            progress: bool = False) -> None:
        import os

        import ray

        started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if not os.environ.get("RAY_ADDRESS"):
                kwargs["num_cpus"] = self.workers
            # Workers must import `benchmarks`, `agents` and user modules from here.
            kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(
                p for p in sys.path if p)}}
            ray.init(**kwargs)
            started = True
        remote = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        bars = _Bars(len(cells), progress)
        try:
            refs = {remote.remote(cell, context): cell for cell in cells}
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    cell = refs[ref]
                    try:
                        row = ray.get(ref)
                    except Exception as exc:  # the task's worker died
                        row = crashed_row(cell, context, f"{type(exc).__name__}: {exc}")
                    on_row(row)
                    bars.finished(cell.label, row)
        finally:
            bars.close()
            if started:
                ray.shutdown()
