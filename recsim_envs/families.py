"""Every environment family of the suite, by name: the one place that lists them.

    from recsim_envs.families import FAMILIES, get_family_description
    FAMILIES["two_stage"].primary            # "reward"
    get_family_description("sequential").log_unit   # "sessions"

A family outside the suite (a user's package, ``tests/toy_family``) joins with
:func:`register_family`: its environments are registered with Gymnasium and the
evaluation, the runner and the off-policy estimates find its harness through its
description, with no shared code edited.
"""

from __future__ import annotations

from recsim_envs.core.family import FamilyDescription
from recsim_envs.prompt.family import FAMILY as PROMPT
from recsim_envs.sequential.family import FAMILY as SEQUENTIAL
from recsim_envs.two_stage.family import FAMILY as TWO_STAGE

FAMILIES: dict[str, FamilyDescription] = {f.name: f for f in (TWO_STAGE, PROMPT, SEQUENTIAL)}
"""Family name -> description, in the order tables list them."""


def get_family_description(name: str) -> FamilyDescription:
    """The description of family ``name``; ValueError naming the known families otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}") from None


def family_of_env(env_id: str) -> FamilyDescription | None:
    """The family that registers ``env_id`` (``recsim_envs/NAME``), None for other ids."""
    return next((f for f in FAMILIES.values() if env_id in f.env_ids), None)


def register_family(description: FamilyDescription) -> FamilyDescription:
    """Add ``description``'s family to :data:`FAMILIES` and register its environments
    (idempotent for the same description; a ValueError for another one of the same name)."""
    known = FAMILIES.get(description.name)
    if known is not None and known != description:
        raise ValueError(f"a different family named {description.name!r} is registered "
                         "already; pick another name")
    FAMILIES[description.name] = description
    from recsim_envs.registration import register_envs

    register_envs(description)
    return description
