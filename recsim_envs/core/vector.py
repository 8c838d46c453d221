"""Seeding of the native vector environments: one generator per sub-environment.

Every family's vector environment follows Gymnasium's convention for ``reset(seed=...)``:
an int ``s`` seeds sub-environment ``i`` with ``s + i`` (so sub-environment ``i`` draws
exactly what a single environment reset with ``s + i`` would), a list gives each
sub-environment its own seed, and None leaves the generators as they are (or, before the
first seeded reset, draws fresh entropy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium.utils import seeding


def seed_list(seed: int | Sequence[int | None] | None, num_envs: int) -> list[int | None]:
    """Per-sub-environment seeds: int -> [s, s + 1, ...]; a sequence as given; None ->
    [None] * num_envs.

    Raises:
        ValueError: a sequence whose length is not ``num_envs``.
    """
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"got {len(seeds)} seeds for {num_envs} sub-environments; pass one "
                         "int (sub-environment i gets seed + i) or one seed per sub-environment")
    return seeds


def sub_env_generators(seed: int | Sequence[int | None] | None,
                       num_envs: int) -> list[np.random.Generator]:
    """One ``np.random.Generator`` per sub-environment, seeded as :func:`seed_list` says
    (Gymnasium's ``seeding.np_random``, the generator a single environment's
    ``reset(seed=s)`` creates)."""
    return [seeding.np_random(s)[0] for s in seed_list(seed, num_envs)]
