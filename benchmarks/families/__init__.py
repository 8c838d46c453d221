"""Family adapters: how the runner logs, fits, evaluates and estimates in each family.

Adapters are imported lazily by name, so that a family whose environments or agents are
missing fails only its own cells, with a message saying so.
"""

from __future__ import annotations

import importlib

from benchmarks.families.base import CellError, Family

_ADAPTERS = {
    "two_stage": "benchmarks.families.two_stage:TwoStageFamily",
    "prompt": "benchmarks.families.prompt:PromptFamily",
    "sequential": "benchmarks.families.sequential:SequentialFamily",
}


def get_family(name: str) -> Family:
    """The adapter for family ``name`` (``two_stage``, ``prompt``, ``sequential``)."""
    if name not in _ADAPTERS:
        raise CellError(f"unknown family {name!r}; known: {sorted(_ADAPTERS)}")
    module_name, _, cls_name = _ADAPTERS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CellError(
            f"the {name!r} family is not available in this checkout ({exc})"
        ) from exc
    return getattr(module, cls_name)()


__all__ = ["CellError", "Family", "get_family"]
