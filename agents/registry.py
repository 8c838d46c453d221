"""Short names for agents, and loading of user agents from ``module:Class`` strings.

    import agents
    agent = agents.make("two_ips", epochs=3)
    agents.register("mine", MyAgent)            # a user's class, no package edit
    agent = agents.make("mypkg.mymodule:MyAgent")
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

_REGISTRY: dict[str, str | type] = {}


def register(name: str, agent: str | type, *, overwrite: bool = False) -> None:
    """Map ``name`` to an agent class or a lazy ``"module:Class"`` path."""
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"agent name {name!r} is already registered; pass overwrite=True")
    _REGISTRY[name] = agent


def registered() -> list[str]:
    """Names of all registered agents, sorted."""
    return sorted(_REGISTRY)


def load_class(target: str) -> type:
    """Import ``"package.module:ClassName"`` and return the class, with a clear error."""
    if ":" not in target:
        raise ValueError(f"{target!r} is not of the form 'module:Class'")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's module's problem
        raise ImportError(f"could not import agent module {module_name!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ImportError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise TypeError(f"{target!r} is not a class")
    return obj


def resolve(name_or_path: str) -> type:
    """The agent class for a registered name or a ``module:Class`` path."""
    if name_or_path in _REGISTRY:
        entry = _REGISTRY[name_or_path]
        return load_class(entry) if isinstance(entry, str) else entry
    if ":" in name_or_path:
        return load_class(name_or_path)
    close = difflib.get_close_matches(name_or_path, registered(), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise KeyError(
        f"unknown agent {name_or_path!r}; {hint}registered: {registered()}, or give "
        "'module:Class'"
    )


def make(name_or_path: str, **config: Any) -> Any:
    """Build an agent by registered name or ``module:Class`` with config overrides."""
    cls = resolve(name_or_path)
    return cls(**config)
