"""The runner's access to the families: each family's harness, and the cell errors.

A family's steps (world, logging, deployment, online measurement and learning, off-policy
estimates) are its :class:`~recsim_envs.evaluation.harness.FamilyHarness`, exported by the
family package and named by its description's ``harness``; this package only adds what the
benchmark tool needs around it (:class:`CellError`, :class:`CheckedHandle`).
"""

from __future__ import annotations

from benchmarks.families.base import CellError, CheckedHandle
from recsim_envs.evaluation.harness import FamilyHarness, get_harness
from recsim_envs.families import FAMILIES


def get_family(name: str) -> FamilyHarness:
    """The harness of family ``name``; a :class:`CellError` naming the known families, or
    saying the family's code is missing from this checkout."""
    if name not in FAMILIES:
        raise CellError(f"unknown family {name!r}; known: {sorted(FAMILIES)}")
    try:
        return get_harness(name)
    except ImportError as exc:
        raise CellError(
            f"the {name!r} family is not available in this checkout ({exc})"
        ) from exc


__all__ = ["CellError", "CheckedHandle", "get_family"]
