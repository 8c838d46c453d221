"""Map a language model's text answer back to item ids."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Leading list markers a model may write: "1.", "2)", "-", "*", "•".
_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s*")


@dataclass(frozen=True)
class ParsedAnswer:
    """The items an answer names.

    Attributes:
        items: (m,) int64 item ids in the order named, duplicates and unknown names dropped.
        n_unknown: lines that named no catalogue item (hallucinated or garbled names).
        n_off_list: catalogue items named that were not among the candidates (dropped).
        fallback: True when nothing parseable was found and ``items`` is the documented
            fallback (the most popular candidate).
    """

    items: np.ndarray
    n_unknown: int
    n_off_list: int
    fallback: bool


def parse_answer(
    text: str,
    name_to_id: Mapping[str, int],
    candidates: Sequence[int] | np.ndarray | None = None,
    popularity: np.ndarray | None = None,
) -> ParsedAnswer:
    """Parse an answer with one item name per line.

    Each line is stripped of list markers and trailing explanations after `` - `` or
    `` (`` and looked up case-insensitively. Names not in the catalogue are dropped and
    counted. With ``candidates``, names outside the candidate list are dropped too.

    Fallback: if no candidate is named, ``items`` holds the candidate with the highest
    ``popularity`` (or the first candidate without it) and ``fallback`` is True; with no
    candidates given either, a :class:`ValueError` says the answer named no item.
    """
    allowed = None if candidates is None else {int(c) for c in np.asarray(candidates).ravel()}
    items: list[int] = []
    unknown = off = 0
    for raw in text.splitlines():
        line = _MARKER.sub("", raw).strip().rstrip(".")
        if not line:
            continue
        name = re.split(r" - | \(", line, maxsplit=1)[0].strip().lower()
        j = name_to_id.get(name)
        if j is None:
            if raw.strip() and (_MARKER.match(raw) or "#" in line):
                unknown += 1
            continue
        if allowed is not None and j not in allowed:
            off += 1
            continue
        if j not in items:
            items.append(j)
    if items:
        return ParsedAnswer(np.array(items, np.int64), unknown, off, False)
    if candidates is None or len(np.asarray(candidates)) == 0:
        raise ValueError(
            "the model's answer names no catalogue item and no candidates were given for the "
            f"fallback; answer was: {text[:200]!r}"
        )
    cand = np.asarray(candidates, np.int64).ravel()
    pick = cand[int(np.argmax(popularity[cand]))] if popularity is not None else cand[0]
    return ParsedAnswer(np.array([pick], np.int64), unknown, off, True)
