"""Paired comparisons of agents over seeds, with Holm-Bonferroni decisions.

All agents of one (suite, environment, seed index) share the world, the logs and the
evaluation users (common random numbers), so agent A is compared with agent B through the
differences A - B of the primary score on the seeds both ran: a mean with a 95% Student-t
interval over those seeds and a two-sided paired t-test.

Which decisions: the wins/ties/losses matrix reports every pair of agents of the
environment, so the family of tests is all m = n(n - 1) / 2 pairs (those with at least two
common seeds), corrected with Holm's step-down method at family-wise level 0.05
(:func:`recsim_envs.core.stats.holm_bonferroni`). The comparison table and the matrix use the
same decisions. The 95% intervals in the table are per comparison (not adjusted); a
separated pair always has an interval that excludes 0, while an interval that excludes 0
may belong to a pair the correction does not separate.

The comparison table reports: every pair of adjacent ranks, and every agent against the
behaviour policy (name containing ``logging``) and against the family's baseline
(:mod:`benchmarks.references`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.fmt import fmt
from benchmarks.references import FAMILY_REFERENCES, behaviour_agent
from recsim_envs.core.stats import Estimate, PairedTest, holm_bonferroni, paired_test

if TYPE_CHECKING:
    from benchmarks.leaderboard import Table

ALPHA = 0.05


@dataclass
class PairTest:
    """The test of one unordered pair; ``a`` is the better-ranked agent, diff = a - b."""

    a: str
    b: str
    seeds: list[int]
    test: PairedTest
    p_holm: float | None = None
    separated: bool | None = None  # None: fewer than 2 common seeds, no test


@dataclass
class Comparison:
    """One reported line: ``a - b`` for the reasons given."""

    a: str
    b: str
    reasons: list[str]
    pair: PairTest

    @property
    def sign(self) -> float:
        return 1.0 if self.pair.a == self.a else -1.0


@dataclass
class PairedResult:
    """Every pair's test, the reported comparisons and the wins/ties/losses matrix."""

    agents: list[str]
    pairs: dict[tuple[str, str], PairTest]
    comparisons: list[Comparison]
    behaviour: str | None
    baseline: str | None
    m: int
    matrix: dict[str, dict[str, str]] = field(default_factory=dict)

    def outcome(self, row: str, col: str) -> str:
        """"W", "T" or "L" for ``row`` against ``col``; "-" without a test; "" on the
        diagonal."""
        if row == col:
            return ""
        p = self.pairs.get((row, col)) or self.pairs[(col, row)]
        if p.separated is None:
            return "-"
        if not p.separated:
            return "T"
        better = p.test.diff.mean > 0
        return "W" if better == (p.a == row) else "L"

    def summary(self) -> str:
        tested = [p for p in self.pairs.values() if p.separated is not None]
        sep = sum(bool(p.separated) for p in tested)
        return (f"paired: {sep} of {len(tested)} agent pairs separated "
                f"(Holm, family-wise {ALPHA:g})")


def compare(table: Table) -> PairedResult:
    """Test every pair of ``table``'s agents and choose the comparisons to report."""
    agents = [e.agent for e in table.entries]  # rank order
    pairs: dict[tuple[str, str], PairTest] = {}
    for i, a in enumerate(agents):
        for b in agents[i + 1:]:
            seeds = sorted(set(table.per_seed[a]) & set(table.per_seed[b]))
            x = np.array([table.per_seed[a][s] for s in seeds])
            y = np.array([table.per_seed[b][s] for s in seeds])
            test = (paired_test(x, y) if seeds else
                    PairedTest(_empty_diff(), float("nan"), None))
            pairs[(a, b)] = PairTest(a, b, seeds, test)
    tested = [p for p in pairs.values() if p.test.p_value is not None]
    if tested:
        adjusted, reject = holm_bonferroni([p.test.p_value for p in tested], ALPHA)
        for p, adj, rej in zip(tested, adjusted, reject, strict=True):
            p.p_holm, p.separated = adj, rej
    ref = FAMILY_REFERENCES.get(table.family)
    behaviour = behaviour_agent(agents)
    baseline = ref.baseline(agents) if ref else None
    reported: dict[tuple[str, str], Comparison] = {}

    def add(a: str, b: str, reason: str) -> None:
        key = (a, b) if (a, b) in pairs else (b, a)
        if key in reported:
            reported[key].reasons.append(reason)
        else:
            reported[key] = Comparison(a, b, [reason], pairs[key])

    for i in range(len(agents) - 1):
        add(agents[i], agents[i + 1], f"ranks {i + 1}-{i + 2}")
    for name, why in ((behaviour, "vs behaviour"), (baseline, "vs baseline")):
        if name is None:
            continue
        for a in agents:
            if a != name:
                add(a, name, why)
    order = {a: i for i, a in enumerate(agents)}
    comparisons = sorted(reported.values(),
                         key=lambda c: (min(order[c.a], order[c.b]), max(order[c.a], order[c.b])))
    result = PairedResult(agents, pairs, comparisons, behaviour, baseline, len(tested))
    result.matrix = {r: {c: result.outcome(r, c) for c in agents} for r in agents}
    return result


def _empty_diff() -> Estimate:
    nan = float("nan")
    return Estimate(nan, nan, nan, nan, 0)


def _f(x: float | None, digits: int = 4) -> str:
    return fmt(x, digits, sign=True)


def _p(x: float | None) -> str:
    if x is None:
        return "-"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def to_markdown(table: Table) -> list[str]:
    """The comparison table and the wins/ties/losses matrix of one environment."""
    res = table.comparisons
    if res is None or len(res.agents) < 2:
        return []
    out = ["### Paired comparisons", ""]
    if res.m == 0:
        out += ["No paired test: no two agents share two or more seeds (1 seed: no "
                "interval over seeds).", ""]
        return out
    out += ["| comparison | why | seeds | difference | 95% CI | p (Holm) | separated |",
            "|---|---|---|---|---|---|---|"]
    for c in res.comparisons:
        p, s = c.pair, c.sign
        d = p.test.diff
        lo, hi = sorted((s * d.ci_low, s * d.ci_high))
        sep = {None: "n/a (< 2 seeds)", True: "yes", False: "no"}[p.separated]
        out.append(f"| {c.a} - {c.b} | {', '.join(c.reasons)} | {len(p.seeds)} | "
                   f"{_f(s * d.mean)} | [{_f(lo)}, {_f(hi)}] | {_p(p.p_holm)} | {sep} |")
    refs = []
    if res.behaviour:
        refs.append(f"behaviour policy `{res.behaviour}`")
    if res.baseline:
        refs.append(f"baseline `{res.baseline}`")
    out += ["", f"Differences of {table.primary} paired by seed (same world, logs and users "
            "per seed); 95% Student-t interval over the common seeds, not adjusted. "
            f"*separated*: the two-sided paired t-test rejects a zero difference after "
            f"Holm-Bonferroni over all m = {res.m} agent pairs of this environment "
            f"(family-wise level {ALPHA:g}); *p (Holm)* is the adjusted p-value. "
            f"References: {', '.join(refs) or 'none in this table'}.", ""]
    out += ["### Wins / ties / losses", ""]
    ranks = list(range(1, len(res.agents) + 1))
    out += ["| agent \\ vs rank | " + " | ".join(map(str, ranks)) + " |",
            "|---|" + "|".join(["---"] * len(ranks)) + "|"]
    for i, r in enumerate(res.agents):
        cells = [res.matrix[r][c] or "·" for c in res.agents]
        out.append(f"| {i + 1}. {r} | " + " | ".join(cells) + " |")
    out += ["", "Row agent against the column's rank: W = better, L = worse, T = not "
            "separated (same Holm-corrected paired tests as above); - = fewer than 2 common "
            "seeds.", ""]
    return out
