"""A fixed number of torch threads for a block of work, restored afterwards.

The networks of this suite are small: on a 2-core machine more intra-op threads only add
synchronisation (tens of times slower when the machine is shared), and a fixed count keeps
floating-point reductions, and so results, repeatable. The thread trap this avoids: PPO
(stable-baselines3) for 5,000 steps on ``PromptSentence-v0`` took 234 s with torch's
default thread count and 34 s with one thread. The benchmark runner runs every cell
under ``torch_threads(1)`` and :func:`blas_threads` ``(1)``, and its process-pool workers
start with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to 1
(as Ray does for its tasks). In your own scripts::

    from recsim_envs.core.threads import torch_threads

    with torch_threads(1):
        model.learn(total_timesteps=5_000)

or call :func:`set_torch_threads` once at the top of the script.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    import torch  # lazy: environments that need no torch do not import it

    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def set_torch_threads(n: int = 1) -> int:
    """Set torch's intra-op thread count for the rest of the process; returns the old one.

    For scripts that train small networks (SB3 policies, the agents here) outside a
    ``with torch_threads(...)`` block.
    """
    import torch

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    return old


@contextlib.contextmanager
def blas_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads (numpy's OpenBLAS, MKL), then restore them.

    The thread count of a BLAS library changes how it splits float32 products, and so the
    last bits of results: the benchmark runs every cell with one BLAS thread in every
    executor, so rows are identical whether a cell ran in this process, a pool worker or
    a Ray task. Uses ``threadpoolctl`` (a dependency); without it the block runs as is.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is installed with the package
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield
