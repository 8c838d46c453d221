"""Family adapters: how the runner logs, fits, evaluates and estimates in each family.

Adapters are imported lazily by name, so that a family whose environments or agents are
missing fails only its own cells, with a message saying so.
"""

from __future__ import annotations

import importlib

from benchmarks.families.base import CellError, Family
from recsim_envs.families import FAMILIES


def get_family(name: str) -> Family:
    """The adapter for family ``name``: the family description's ``runner_adapter``."""
    if name not in FAMILIES:
        raise CellError(f"unknown family {name!r}; known: {sorted(FAMILIES)}")
    module_name, _, cls_name = FAMILIES[name].runner_adapter.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CellError(
            f"the {name!r} family is not available in this checkout ({exc})"
        ) from exc
    return getattr(module, cls_name)()


__all__ = ["CellError", "Family", "get_family"]
