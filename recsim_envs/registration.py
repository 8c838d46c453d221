"""Registration of every environment id with Gymnasium (run on ``import recsim_envs``).

The ids, and each family's typed view of its logs, come from the family descriptions
(:data:`recsim_envs.families.FAMILIES`, each family's ``family`` module). Entry points are
strings, so registering imports no environment module: an environment is built only when
``gymnasium.make`` asks for it (and a view's module when a dataset of its family is built).
"""

from __future__ import annotations

import gymnasium as gym

from recsim_envs.core.family import FamilyDescription
from recsim_envs.data.views import register_view
from recsim_envs.families import FAMILIES

NAMESPACE = "recsim_envs"


def register_all() -> None:
    """Register every family's environments under the ``recsim_envs/`` namespace
    (idempotent)."""
    for family in FAMILIES.values():
        register_envs(family)


def register_envs(family: FamilyDescription) -> None:
    """Register ``family``'s environments under the ``recsim_envs/`` namespace, and its
    typed view of logged data with :func:`recsim_envs.data.views.register_view`
    (idempotent)."""
    if family.view:
        register_view(family.name, family.view)
    for entry in family.envs:
        env_id = f"{NAMESPACE}/{entry.id}"
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=entry.entry_point,
            vector_entry_point=entry.vector_entry_point,
            max_episode_steps=entry.max_episode_steps,
        )


def registered_ids() -> list[str]:
    """All ``recsim_envs/...`` ids known to Gymnasium."""
    return sorted(k for k in gym.registry if k.startswith(f"{NAMESPACE}/"))
