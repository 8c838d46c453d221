"""Every environment family of the suite, by name: the one place that lists them.

    from recsim_envs.families import FAMILIES, get_family_description
    FAMILIES["two_stage"].primary            # "reward"
    get_family_description("sequential").log_unit   # "sessions"
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
