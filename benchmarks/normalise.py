"""The normalised score of a leaderboard table: 0 = the family's random agent, 1 = its
privileged skyline (the mapping is in :mod:`benchmarks.references`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.fmt import fmt
from benchmarks.references import FAMILY_REFERENCES

if TYPE_CHECKING:
    from benchmarks.leaderboard import Entry, Table


def _find(entries: list[Entry], name: str | None) -> Entry | None:
    if name is None:
        return None
    return next((e for e in entries if e.agent == name), None) or next(
        (e for e in entries if e.registered == name), None)


def normalise(table: Table) -> str:
    """Fill ``normalised`` of every entry; return the sentence that explains it."""
    ref = FAMILY_REFERENCES.get(table.family)
    if ref is None:
        return f"No normalised score: family {table.family!r} has no reference agents."
    if ref.already_normalised:
        for e in table.entries:
            e.normalised = e.score.mean
        return f"Normalised score = {table.primary} (already 0 = uniform, 1 = best policy)."
    lo, hi = _find(table.entries, ref.random), _find(table.entries, ref.skyline)
    if lo is None or hi is None:
        missing = [n for n, e in ((ref.random, lo), (ref.skyline, hi)) if e is None]
        return f"No normalised score: reference agent(s) {missing} not in this table."
    span = hi.score.mean - lo.score.mean
    if span == 0:
        return f"No normalised score: `{hi.agent}` and `{lo.agent}` score the same."
    for e in table.entries:
        e.normalised = (e.score.mean - lo.score.mean) / span
    return (f"Normalised score = ({table.primary} - {table.primary} of `{lo.agent}`) / "
            f"({table.primary} of `{hi.agent}` † - {table.primary} of `{lo.agent}`), "
            f"means over seeds: 0 = `{lo.agent}` ({fmt(lo.score.mean)}), "
            f"1 = `{hi.agent}` ({fmt(hi.score.mean)}).")
