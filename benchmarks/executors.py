"""Where cells run: in this process, in a local process pool, or as Ray tasks.

Every executor calls :func:`run_cell_pinned` (:func:`benchmarks.runner.run_cell` with one
BLAS thread) on each cell and hands each row to
``on_row`` in the main process as soon as the cell finishes (the main process is the only
writer of the results file). A cell whose worker dies becomes a failed row too.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import queue as queue_mod
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.cells import PHASES, Cell, RunContext
from benchmarks.runner import run_cell
from recsim_envs.core.threads import blas_threads

OnRow = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "serial", "ray")


# Native thread pools read these when they start, so they are set in a worker's
# environment before it is spawned: each cell is single-threaded (as in a Ray task, where
# Ray sets OMP_NUM_THREADS=1), and N workers use N cores instead of N x cores threads.
WORKER_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_cell_pinned(cell: Cell, context: RunContext, progress: Any = None) -> dict[str, Any]:
    """:func:`run_cell` with one BLAS thread, whichever process runs it (see
    :func:`recsim_envs.core.threads.blas_threads`): every executor calls this."""
    with blas_threads(1):
        return run_cell(cell, context, progress)


def get_executor(name: str, workers: int, address: str | None = None) -> Any:
    """The executor called ``name``; ``address`` is a Ray cluster's (``ray`` only)."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if name == "local":
        return LocalExecutor(workers)
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        return RayExecutor(workers, address)
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


_WORKER_QUEUE: Any = None
"""The progress queue of a pool worker, handed over when the worker starts."""


class _QueueProgress:
    """Picklable progress callback: sends (cell label, phase) to the main process through
    the queue the worker received at start (queues cannot travel with a task)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, phase: str) -> None:
        try:
            _WORKER_QUEUE.put_nowait((self.label, phase))
        except Exception:  # progress must never fail a cell
            pass


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _worker_init(parent_pid: int, q: Any) -> None:
    """Runs first in every pool worker: the worker never outlives the run that started it.

    - SIGINT is ignored: Ctrl-C reaches the whole terminal process group, and the parent
      alone decides how to stop (it terminates the workers), so workers print no traceback.
    - On Linux the kernel sends SIGKILL to the worker when its parent dies (even by
      SIGKILL), through ``prctl(PR_SET_PDEATHSIG)``.
    - Everywhere, a daemon thread checks once a second that the parent is still there
      (``os.getppid()`` changes when a process is orphaned) and exits if not.
    """
    global _WORKER_QUEUE
    _WORKER_QUEUE = q
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="watch-parent").start()


def _watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(1)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Set :data:`WORKER_THREAD_ENV` to 1 (unless the user set them) while workers spawn."""
    saved = {k: os.environ.get(k) for k in WORKER_THREAD_ENV}
    for key, value in saved.items():
        if value is None:
            os.environ[key] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: terminate its workers (running cells are lost; they run again on
    resume), cancel queued cells, and do not wait."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 3.0
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()


class SerialExecutor:
    """Cells one after the other in this process (debugging, tiny runs, tests)."""

    def run(self, cells: list[Cell], context: RunContext, on_row: OnRow,
            progress: bool = False) -> None:
        bars = _Bars(len(cells), progress)
        try:
            for cell in cells:
                row = run_cell_pinned(cell, context,
                                      lambda p, c=cell: bars.phase(c.label, p))
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
        # A plain queue handed to each worker at start (no manager process to orphan).
        q = ctx.Queue() if progress else None
        pool = None
        try:
            with _single_threaded_children():
                pool = cf.ProcessPoolExecutor(
                    max_workers=min(self.workers, len(cells)), mp_context=ctx,
                    initializer=_worker_init, initargs=(os.getpid(), q),
                )
                futures = {
                    pool.submit(run_cell_pinned, cell, context,
                                _QueueProgress(cell.label) if q is not None else None): cell
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
        except BaseException:  # interrupted (signal) or on_row failed: stop the workers now
            if pool is not None:
                _terminate(pool)
                pool = None
            raise
        finally:
            bars.close()
            if pool is not None:
                pool.shutdown(wait=True)
            if q is not None:
                q.close()
                q.cancel_join_thread()


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
    from benchmarks.cells import cell_seeds
    from benchmarks.runner import row_header

    row = row_header(cell, context, cell_seeds(cell.spec.name, cell.env.name, cell.seed_index))
    row.update(
        error=f"cell {cell.label} failed: its worker process died ({message})",
        failed_phase="worker",
        timing={"finished_at": time.time()},
    )
    return row


class RayExecutor:
    """Cells as Ray tasks (``pip install ray``; ``'.[ray]'`` adds the dashboard and client).

    Connects to the cluster at ``address`` (``--address``: ``auto``, ``HOST:6379`` from a
    cluster node, or ``ray://HOST:10001`` through the Ray client), else to the one named
    by ``RAY_ADDRESS``, else starts a local Ray instance with ``workers`` CPUs. Each task
    (one CPU) runs :func:`run_cell`, so rows are identical to the local executor's for the
    same cells; on a cluster, cells run on all its CPUs and ``workers`` is not used.
    """

    def __init__(self, workers: int, address: str | None = None) -> None:
        self.workers = workers
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(
                "--executor ray needs Ray: `pip install 'ray[default]'` (or the `ray` extra: "
                "`pip install -e '.[ray]'`); or use --executor local"
            ) from exc

    def _init_kwargs(self) -> dict[str, Any]:
        # Workers import `benchmarks`, `agents` and user modules from the driver's paths;
        # on a cluster every node needs the same checkout (and environment) at that path.
        kwargs: dict[str, Any] = {"runtime_env": {"env_vars": {
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}}
        if self.address is None:
            kwargs.update(num_cpus=self.workers, include_dashboard=False,
                          log_to_driver=False)
        elif self.address.startswith("ray://"):
            kwargs["address"] = self.address  # the Ray client takes few other arguments
        else:
            kwargs.update(address=self.address, log_to_driver=False)
        return kwargs

    def run(self, cells: list[Cell], context: RunContext, on_row: OnRow,
            progress: bool = False) -> None:
        import ray

        started = False
        if not ray.is_initialized():
            # ray.init installs its own SIGTERM handler; keep the caller's (clean stop).
            handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                ray.init(**self._init_kwargs())
            except ConnectionError as exc:
                raise RuntimeError(
                    f"could not connect to the Ray cluster at {self.address!r}: "
                    f"{_first_line(exc)}; start it with `ray start --head` or check --address"
                ) from exc
            except Exception as exc:  # a local start that failed (e.g. timed out under load)
                raise RuntimeError(
                    f"Ray could not start ({type(exc).__name__}: {_first_line(exc)}); no cell "
                    "was run: try again, or use --executor local"
                ) from exc
            finally:
                if threading.current_thread() is threading.main_thread():
                    for sig, handler in handlers.items():
                        if handler is not None:
                            signal.signal(sig, handler)
            started = True
        remote = ray.remote(num_cpus=1, max_retries=0)(run_cell_pinned)
        bars = _Bars(len(cells), progress)
        refs: dict[Any, Cell] = {}
        pending: list[Any] = []
        try:
            refs = {remote.remote(cell, context): cell for cell in cells}
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in ready:
                    cell = refs[ref]
                    try:
                        row = ray.get(ref)
                    except Exception as exc:  # the task's worker died
                        row = crashed_row(cell, context, f"{type(exc).__name__}: {exc}")
                    on_row(row)
                    bars.finished(cell.label, row)
        except BaseException:  # interrupted: cancel what is queued or running
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            raise
        finally:
            bars.close()
            if started:
                ray.shutdown()


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Ray's can span a page)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
