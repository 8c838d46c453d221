"""A world built once and shared by every environment that runs on it.

Building a world (a catalogue, a fitted simulator, a Monte Carlo table of sentence
embeddings, ...) is the costly part of making an environment. Every environment class of
the suite builds it with the classmethod ``build_world(**settings)`` and accepts it back as
``built_world=``: ``gymnasium.make(id, **settings, built_world=world)`` and
``gymnasium.make_vec(id, n, **settings, built_world=world)`` build nothing again. The
benchmark harness (:mod:`recsim_envs.evaluation.harness`) builds one per cell (gymnax's
params-apart-from-state, with Gymnasium's constructor).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class BuiltWorld:
    """A family's world with the settings it was built from.

    Attributes:
        kind: which environment built it (its id): only environments of that id take it.
        settings: the settings it was built from, as the environment parses them.
        world: the family's world (what the environment would otherwise build).
    """

    kind: str
    settings: Any
    world: Any

    def check(self, kind: str, settings: Any) -> Any:
        """The world, after checking it was built by ``kind`` from ``settings``; a
        ValueError naming the difference otherwise."""
        if kind != self.kind:
            raise ValueError(f"built_world was built for {self.kind}, not {kind}: build it "
                             f"with this environment class's build_world(**settings)")
        if settings != self.settings:
            diff = _difference(self.settings, settings)
            raise ValueError(f"built_world was built from other settings ({diff}): build it "
                             "with build_world(**settings) from the same settings")
        return self.world


ENV_ONLY_SETTINGS = ("render_mode", "num_envs", "episode_block", "built_world")
"""Settings of an environment object, not of its world."""


def build_from_env(cls: type, **settings: Any) -> BuiltWorld:
    """``cls.build_world`` by making one environment of ``cls`` and keeping its
    ``shared_world()`` with its ``world_kind`` and ``world_settings()``."""
    env = cls(**{k: v for k, v in settings.items() if k not in ENV_ONLY_SETTINGS})
    return BuiltWorld(env.world_kind, env.world_settings(), env.shared_world())


def check_built_world(built: Any, kind: str, settings: Any) -> Any:
    """``built.check(kind, settings)`` with a TypeError for anything but a BuiltWorld."""
    if not isinstance(built, BuiltWorld):
        raise TypeError("built_world must come from the environment class's "
                        f"build_world(**settings), got {type(built).__name__}")
    return built.check(kind, settings)


def _difference(built: Any, given: Any) -> str:
    if dataclasses.is_dataclass(built) and dataclasses.is_dataclass(given):
        built, given = vars(built), vars(given)
    if isinstance(built, dict) and isinstance(given, dict):
        keys = sorted(k for k in {*built, *given} if built.get(k) != given.get(k))
        return ", ".join(f"{k}: {built.get(k)!r} built, {given.get(k)!r} given" for k in keys)
    return f"{built!r} built, {given!r} given"
