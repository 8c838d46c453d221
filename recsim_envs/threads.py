"""A fixed number of torch threads for a block of work, restored afterwards.

The networks of this suite are small: on a 2-core machine more intra-op threads only add
synchronisation (tens of times slower when the machine is shared), and a fixed count keeps
floating-point reductions, and so results, repeatable.
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
