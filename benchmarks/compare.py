"""Are two runs' result rows the same? Row-by-row comparison of two result folders.

What a reproducibility claim rests on: two runs of the same cells (on two machines, or
before and after a change of code layout) give the same numbers. Rows are matched by
(suite, environment label, agent label, seed index) and compared field by field, apart
from what legitimately differs between runs:

- timings and tracebacks (:data:`benchmarks.results.NONDETERMINISTIC_FIELDS`);
- with ``ignore_provenance``: package versions, and the agent's source provenance (the
  module, file and source hash of its class), which change when code moves but the
  computation does not.

    python -m benchmarks compare results/before results/after --ignore-provenance
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.results import deterministic_part, read_dir, slot

PROVENANCE_AGENT_FIELDS = ("module", "file", "sha256")
PROVENANCE_FIELDS = ("versions",)

RowKey = tuple[str, str, str, int]


@dataclass
class Comparison:
    """The outcome of :func:`compare_dirs`.

    Attributes:
        n_a, n_b: rows read on each side.
        only_a, only_b: keys of rows present on one side only.
        different: key -> names of the top-level fields that differ.
    """

    n_a: int
    n_b: int
    only_a: list[RowKey] = field(default_factory=list)
    only_b: list[RowKey] = field(default_factory=list)
    different: dict[RowKey, list[str]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not (self.only_a or self.only_b or self.different)

    def summary(self) -> str:
        """One line, then one line per problem (at most 20 of each kind)."""
        if self.identical:
            return f"identical: {self.n_a} rows"
        lines = [f"{len(self.different)} rows differ, {len(self.only_a)} only in A, "
                 f"{len(self.only_b)} only in B ({self.n_a} vs {self.n_b} rows)"]
        lines += [f"  only in A: {k}" for k in self.only_a[:20]]
        lines += [f"  only in B: {k}" for k in self.only_b[:20]]
        lines += [f"  differs: {k}: {', '.join(v)}" for k, v in list(self.different.items())[:20]]
        return "\n".join(lines)


def comparable(row: dict[str, Any], ignore_provenance: bool) -> dict[str, Any]:
    """The part of ``row`` that two runs of the same computation must share."""
    out = deterministic_part(row)
    if ignore_provenance:
        out = {k: v for k, v in out.items() if k not in PROVENANCE_FIELDS}
        agent = out.get("agent")
        if isinstance(agent, dict):
            out["agent"] = {k: v for k, v in agent.items() if k not in PROVENANCE_AGENT_FIELDS}
    return out


def _keyed(directory: str | Path) -> dict[RowKey, dict[str, Any]]:
    if not Path(directory).is_dir():
        raise ValueError(f"{directory} is not a folder of result files (*.jsonl)")
    result = read_dir(directory)
    if result.problems:
        raise ValueError(f"{directory}: unreadable result lines: {result.problems[:3]}")
    return {slot(row): row for row in result.rows}


def compare_dirs(a: str | Path, b: str | Path, ignore_provenance: bool = False) -> Comparison:
    """Compare every result row of folder ``a`` with folder ``b`` (see the module docstring)."""
    rows_a, rows_b = _keyed(a), _keyed(b)
    out = Comparison(n_a=len(rows_a), n_b=len(rows_b))
    out.only_a = sorted(set(rows_a) - set(rows_b))
    out.only_b = sorted(set(rows_b) - set(rows_a))
    for key in sorted(set(rows_a) & set(rows_b)):
        ra = comparable(rows_a[key], ignore_provenance)
        rb = comparable(rows_b[key], ignore_provenance)
        if ra != rb:
            out.different[key] = sorted(f for f in set(ra) | set(rb) if ra.get(f) != rb.get(f))
    return out
