"""The reference agents of each family, in one place: what the leaderboard compares against.

- *random*: the score 0 of the normalised scale (the family's uninformed agent).
- *skyline*: the score 1 of the normalised scale (the privileged agent that sees the
  world's true parameters); None where the family's primary score is already normalised.
- *baselines*: the family's strongest simple baseline, the first of these names present in
  the environment's table; every agent is compared with it, paired over seeds.
- The behaviour policy that logged the data is the agent whose name contains ``logging``
  (every family; see :func:`behaviour_agent`).

Normalised score = (score - score of random) / (score of skyline - score of random), each
a mean over seeds of the primary score. The prompt family's primary score, optimality, is
already 0 for the uniform policy and 1 for the best policy, so it is used as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from recsim_envs.families import FAMILIES


@dataclass(frozen=True)
class FamilyReferences:
    """Names of a family's reference agents (see the module docstring)."""

    random: str
    skyline: str | None
    baselines: tuple[str, ...]
    already_normalised: bool = False

    def baseline(self, names: Iterable[str]) -> str | None:
        """The first of :attr:`baselines` among ``names`` (None if none is present)."""
        present = set(names)
        return next((b for b in self.baselines if b in present), None)


FAMILY_REFERENCES: dict[str, FamilyReferences] = {
    name: FamilyReferences(random=d.random_agent, skyline=d.skyline_agent,
                           baselines=d.baselines, already_normalised=d.already_normalised)
    for name, d in FAMILIES.items()
}
"""Family name -> its reference agents, read from the family descriptions."""


def behaviour_agent(names: Iterable[str]) -> str | None:
    """The behaviour policy among agent ``names``: the first (sorted) whose name contains
    ``logging``; None if there is none."""
    return next((n for n in sorted(names) if "logging" in n), None)


def describe() -> str:
    """One sentence per family naming its references (for the Markdown header)."""
    parts = []
    for family, ref in FAMILY_REFERENCES.items():
        scale = ("its optimality is used as it is (0 = uniform, 1 = best policy)"
                 if ref.already_normalised else f"0 = `{ref.random}`, 1 = `{ref.skyline}` †")
        base = " else ".join(f"`{b}`" for b in ref.baselines)
        parts.append(f"{family}: {scale}; baseline {base}")
    return "; ".join(parts) + "."
