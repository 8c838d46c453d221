"""Settings dataclasses built from ``gymnasium.make`` keyword arguments."""

from __future__ import annotations

import dataclasses
from typing import Any, Self


class FromKwargs:
    """Mixin for dataclass configs: ``Config.from_kwargs(**settings)`` names unknown keys."""

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> Self:
        """Build from keyword settings; an unknown key is a TypeError listing the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                f"unknown setting(s) {unknown} for {cls.__name__}; known: {sorted(known)}"
            )
        return cls(**kwargs)
