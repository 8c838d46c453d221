"""Ranked tables from result rows: one per (suite, environment), in Markdown, CSV and text.

Per environment (rows of schema 2; schema-1 rows are read through :func:`as_schema2`):

- the ranking by the mean over seeds of the family's primary score (two-stage ``reward``,
  prompt ``optimality``, sequential ``return``) with a 95% Student-t interval over seeds
  (each seed draws its own users and logs, and its own world unless the table says the
  world is fixed); an agent with one seed shows the
  per-user interval of that seed instead, and the table says so;
- a normalised score (0 = the family's random agent, 1 = its privileged skyline; see
  :mod:`benchmarks.references`);
- paired comparisons over seeds with Holm-Bonferroni decisions and a wins/ties/losses
  matrix (:mod:`benchmarks.paired`);
- the off-policy estimates averaged over supported seeds, and off-policy selection scored
  against the online values (:mod:`benchmarks.selection_tables`).

Agents with privileged information (``agent.privileged``) are marked with a dagger, ranked,
and get no off-policy cells. Failed cells are listed, never ranked.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import paired, selection_tables
from benchmarks.fmt import fmt
from benchmarks.normalise import normalise
from benchmarks.references import describe as describe_references
from benchmarks.results import latest_rows, read_dir
from recsim_envs.core.io import write_text_atomic
from recsim_envs.core.stats import Estimate, mean_ci

__all__ = ["Entry", "Leaderboard", "Table", "as_schema2", "build", "load", "to_csv",
           "to_markdown", "to_text", "write_ope_csv", "read_dir"]

_PRIMARY_LABEL = {"optimality": "optimality (0 = uniform, 1 = best policy)"}


@dataclass
class Entry:
    """One agent's line in a table.

    Attributes:
        agent: the agent's label in the spec; ``registered`` its registry name.
        privileged: a skyline with privileged information (marked †).
        seeds: the seed indices it ran (ok rows).
        score: the primary score: mean over seeds with a 95% t interval over seeds; with
            one seed, the per-user interval of that seed's online value (``per_user``) where
            the primary score is the online value, else no interval (NaN bounds; the
            online value's per-user interval is in ``value_ci``).
        scores: every score of the rows, mean over seeds.
        value: the online value (``online.value.mean``), mean over seeds.
        normalised: the normalised score (None where the family has no reference pair).
        ope: {estimator: cell}; None for skylines (no off-policy rows).
    """

    agent: str
    registered: str
    privileged: bool
    seeds: list[int]
    score: Estimate
    per_user: bool
    scores: dict[str, float]
    value: float
    normalised: float | None = None
    ope: dict[str, selection_tables.OpeCell] | None = None
    value_ci: tuple[float, float] | None = None  # per-user interval (one-seed entries)
    fit_s: float = float("nan")
    rank: int = 0

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def label(self) -> str:
        return self.agent + (" †" if self.privileged else "")


@dataclass
class Table:
    """One (suite, environment): its ranked entries and everything computed from them."""

    suite: str
    env: str
    env_id: str
    family: str
    measure: str
    unit: str
    primary: str
    score_names: list[str]
    entries: list[Entry]
    estimators: list[str]
    per_seed: dict[str, dict[int, float]] = field(default_factory=dict)
    """{agent: {seed index: primary score}}: the paired samples."""
    ope_records: list[selection_tables.OpeRecord] = field(default_factory=list)
    normalisation: str = ""
    comparisons: paired.PairedResult | None = None
    selection: selection_tables.Selection | None = None
    world_per_seed: bool = True
    """Each seed drew its own world (distinct ``world_seed`` per seed); False: one world."""

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.env}"


@dataclass
class Leaderboard:
    tables: list[Table]
    failures: list[str]
    problems: list[str]
    sources: list[str] = field(default_factory=list)
    """recsim_envs versions and git commits the rows came from."""
    warnings: list[str] = field(default_factory=list)
    """Rows that could not be ranked as they are (shown in the Markdown and the text)."""


# ------------------------------------------------------------------------- building


def as_schema2(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` in the schema-2 shape (schema-1 rows are converted; others returned as is).

    Schema 1 had ``agent.offline`` (False for skylines), ``online.metrics`` and off-policy
    entries ``{"mean": ...}``; its only score is the online value itself.
    """
    if row.get("schema", 2) >= 2 or row.get("status") != "ok":
        return row
    out = dict(row)
    agent = dict(row["agent"])
    agent["privileged"] = not agent.pop("offline", True)
    out["agent"] = agent
    online = dict(row["online"])
    online.setdefault("scores", {"value": online["value"]["mean"],
                                 **online.pop("metrics", {})})
    online.setdefault("primary", "value")
    online.setdefault("unit", "users")
    out["online"] = online
    ope = row.get("ope") or {}
    out["ope"] = None if agent["privileged"] and not ope else {
        k: {"estimator": k, "estimate": v.get("mean"), "ci_low": v.get("ci_low"),
            "ci_high": v.get("ci_high"), "ess": v.get("ess")} for k, v in ope.items()}
    return out


def build(rows: list[dict[str, Any]], problems: list[str] | None = None) -> Leaderboard:
    """Aggregate rows (several files, repeated runs) into ranked tables."""
    warnings: list[str] = []
    rows = [as_schema2(r) for r in latest_rows(rows, by_slot=True)]
    ok = [r for r in rows if r["status"] == "ok"]
    failures = sorted(str(r.get("error")) for r in rows if r["status"] != "ok")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault((r["suite"], r["env"]["name"]), []).append(r)
    tables = [_table(suite, env, group, warnings)
              for (suite, env), group in sorted(groups.items())]
    sources = sorted({
        f"recsim_envs {r['versions'].get('recsim_envs')} at "
        f"{(r['versions'].get('git_commit') or 'unknown commit')[:12]}"
        f"{' (uncommitted changes)' if r['versions'].get('git_dirty') else ''}"
        for r in ok
    })
    return Leaderboard(tables, failures, list(problems or []), sources, warnings)


def _table(suite: str, env: str, group: list[dict[str, Any]], warnings: list[str]) -> Table:
    group = sorted(group, key=lambda r: (r["agent"]["name"], r["seed_index"]))
    first = group[0]
    primary = first["online"]["primary"]
    mixed = sorted({r["online"]["primary"] for r in group} - {primary})
    if mixed:
        warnings.append(f"{suite}/{env}: rows disagree on the primary score ({primary!r} vs "
                        f"{mixed}); ranked by {primary!r} where present")
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for r in group:
        by_agent.setdefault(r["agent"]["name"], []).append(r)
    per_seed = {}
    for name, rs in by_agent.items():
        per_seed[name] = {}
        for r in rs:
            if primary in r["online"]["scores"]:
                per_seed[name][r["seed_index"]] = float(r["online"]["scores"][primary])
            else:
                warnings.append(f"{suite}/{env}/{name}/seed{r['seed_index']}: no "
                                f"{primary!r} score; left out of the ranking")
    entries = [_entry(name, rs, per_seed[name]) for name, rs in by_agent.items()
               if per_seed[name]]
    entries.sort(key=lambda e: (-e.score.mean, e.agent))
    for i, e in enumerate(entries):
        e.rank = i + 1
    score_names = [primary] + sorted({k for r in group for k in r["online"]["scores"]}
                                     - {primary})
    family = first.get("family", "")
    table = Table(suite, env, first["env"]["id"], family,
                  first["online"].get("measure", "value"), first["online"].get("unit", ""),
                  primary, score_names, entries, estimators=[],
                  per_seed={e.agent: per_seed[e.agent] for e in entries})
    world_seeds = {json.dumps(r["env"].get("cell_kwargs", {}).get("world_seed"))
                   for r in group}
    table.world_per_seed = len(world_seeds) > 1
    table.normalisation = normalise(table)
    selection_tables.attach_ope(table, by_agent)
    table.comparisons = paired.compare(table)
    table.selection = selection_tables.select(table)
    return table


def _entry(name: str, rows: list[dict[str, Any]], scores_by_seed: dict[int, float]) -> Entry:
    rows = [r for r in rows if r["seed_index"] in scores_by_seed]
    seeds = sorted(scores_by_seed)
    values = np.array([r["online"]["value"]["mean"] for r in rows])
    value_ci = None
    if len(rows) == 1:
        v = rows[0]["online"]["value"]
        value_ci = (float(v["ci_low"]), float(v["ci_high"]))
        mean = scores_by_seed[seeds[0]]
        # The per-user interval is the online value's: it is the score's interval only where
        # the primary score is the online value (two-stage reward, sequential return).
        score = (Estimate(mean, v["ci_low"], v["ci_high"], v["std"], v["n"])
                 if _same(mean, v["mean"]) else Estimate(mean, math.nan, math.nan, 0.0, 1))
    else:
        score = mean_ci([scores_by_seed[s] for s in seeds])
    names = sorted({k for r in rows for k in r["online"]["scores"]})
    scores = {}
    for k in names:
        vals = [r["online"]["scores"][k] for r in rows if r["online"]["scores"].get(k) is not None]
        if vals:
            scores[k] = float(np.mean(vals))
    fits = [r["timing"]["fit_s"] for r in rows if r.get("timing", {}).get("fit_s") is not None]
    agent = rows[0]["agent"]
    return Entry(agent=name, registered=str(agent.get("agent", name)),
                 privileged=bool(agent.get("privileged", False)), seeds=seeds, score=score,
                 per_user=len(rows) == 1, scores=scores, value=float(values.mean()),
                 value_ci=value_ci,
                 fit_s=float(np.mean(fits)) if fits else float("nan"))


def load(directory: str | Path) -> Leaderboard:
    result = read_dir(directory)
    return build(result.rows, result.problems)


# ---------------------------------------------------------------------- rendering


_fmt = fmt


def _ci_cell(e: Entry, table: Table) -> str:
    if not e.per_user or e.value_ci is None:
        if _same(e.score.ci_low, e.score.ci_high):
            # Every seed gave the same score (a scale's reference point, such as prompt's
            # uniform at optimality 0): a zero-width "95% CI" would read as a measured
            # certainty, so say what it is.
            return "none: the same score in every seed"
        return f"[{_fmt(e.score.ci_low)}, {_fmt(e.score.ci_high)}]"
    interval = f"[{_fmt(e.value_ci[0])}, {_fmt(e.value_ci[1])}]"
    of = "" if _same(e.score.mean, e.value) else f" of the online value ({table.measure})"
    return f"per-user {interval}{of} ‡"


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


_HEADER = (
    "Per environment: agents ranked by the mean over seeds of the family's primary score "
    "(two-stage: reward, prompt: optimality, sequential: return per session), with its 95% "
    "Student-t interval over seeds; each seed draws its own users and logs (and its own "
    "world, unless the table says the world is fixed), and all agents of a seed share them, "
    "so comparisons are paired by seed. *normalised* puts the "
    "families on one scale: {refs} *Paired comparisons*: differences of the primary score "
    "over common seeds, with Holm-Bonferroni decisions over all agent pairs of the "
    "environment; the wins/ties/losses matrix uses the same decisions. *Off-policy "
    "estimates*: each estimator's estimate of the online value (not of the primary score "
    "where the two differ), averaged over the seeds where it had one, with its mean error "
    "against the online value, those seeds and the mean effective sample size; \"no "
    "support\" where it had none in any seed, \"low ESS\" and \"thin\" flags where an "
    "estimate rests on a handful of rounds or misses actions the logs almost never hold "
    "(intervals in `ope.csv`, labelled 95% only where calibrated). *Off-policy selection*: "
    "each estimator's "
    "ranking of the non-privileged agents scored against their online values (Spearman, "
    "regret@k, SharpeRatio@k). † marks skylines with privileged information: ranked, but "
    "no off-policy estimates and not selection candidates."
)


def to_markdown(board: Leaderboard, title: str = "Leaderboard") -> str:
    """Tables as Markdown; deterministic given the rows (no timings, no dates)."""
    out = [f"# {title}", "", _HEADER.format(refs=describe_references()), ""]
    if board.sources:
        out += ["Rows from " + "; ".join(board.sources) + ".", ""]
    for t in board.tables:
        out += _table_markdown(t)
    if board.failures:
        out += ["## Failed cells", ""] + [f"- {f}" for f in board.failures] + [""]
    if board.warnings:
        out += ["## Rows not ranked as they are", ""] + [f"- {w}" for w in board.warnings] + [""]
    return "\n".join(out)


def _table_markdown(t: Table) -> list[str]:
    n_seeds = sorted({e.n_seeds for e in t.entries})
    seeds = (f"{n_seeds[0]} seed{'s' if n_seeds[0] != 1 else ''}" if len(n_seeds) == 1
             else f"{n_seeds[0]}-{n_seeds[-1]} seeds")
    primary = _PRIMARY_LABEL.get(t.primary, t.primary)
    if n_seeds == [1]:
        how = ("1 seed: no interval over seeds; per-user interval of that seed shown "
               "(run more seeds for intervals and paired tests)")
    else:
        covers = ("each seed draws its own world, users and logs" if t.world_per_seed else
                  "one world for all seeds: each seed draws its own users, logs and agent "
                  "initialisation, so the interval does not cover other worlds")
        how = f"mean over {seeds} with its 95% interval over seeds (Student t; {covers})"
    out = [f"## {t.suite} / {t.env} (`{t.env_id}`)", "",
           f"Ranked by {primary}, {how}. Online value: {t.measure}.", ""]
    others = t.score_names[1:]
    head = ["rank", "agent", t.primary, "95% CI", "normalised", "seeds"] + others
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] * len(head)) + "|")
    for e in t.entries:
        cells = [str(e.rank), e.label, _fmt(e.score.mean), _ci_cell(e, t),
                 _fmt(e.normalised, 3) or "-", str(e.n_seeds)]
        cells += [_fmt(e.scores.get(k)) or "-" for k in others]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if any(e.per_user for e in t.entries):
        out += ["‡ 1 seed: no interval over seeds; per-user interval of that seed shown.", ""]
    out += [t.normalisation, ""]
    out += paired.to_markdown(t)
    out += selection_tables.ope_markdown(t)
    out += selection_tables.selection_markdown(t)
    return out


def to_csv(board: Leaderboard) -> str:
    """One line per (suite, environment, agent) with every number, timings included."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    estimators = sorted({k for t in board.tables for k in t.estimators},
                        key=selection_tables.estimator_order)
    head = ["suite", "env", "env_id", "rank", "agent", "privileged", "primary", "mean",
            "ci_low", "ci_high", "interval", "n_seeds", "normalised", "online_value", "fit_s"]
    head += [f"ope_{k}" for k in estimators] + [f"ope_{k}_error" for k in estimators]
    writer.writerow(head)
    for t in board.tables:
        for e in t.entries:
            cells = [t.suite, t.env, t.env_id, e.rank, e.agent, e.privileged, t.primary,
                     _fmt(e.score.mean, 6), _fmt(e.score.ci_low, 6), _fmt(e.score.ci_high, 6),
                     "per-user (1 seed)" if e.per_user else "over seeds", e.n_seeds,
                     _fmt(e.normalised, 6), _fmt(e.value, 6), _fmt(e.fit_s, 3)]
            cells += [_fmt(e.ope[k].estimate, 6) if e.ope and k in e.ope else ""
                      for k in estimators]
            cells += [_fmt(e.ope[k].error, 6) if e.ope and k in e.ope else ""
                      for k in estimators]
            writer.writerow(cells)
    return buf.getvalue()


def to_text(board: Leaderboard) -> str:
    """A compact plain-text rendering for the terminal."""
    lines = []
    for t in board.tables:
        lines.append(f"{t.suite} / {t.env}: {t.primary} ({t.measure})")
        for e in t.entries:
            norm = f"  norm {e.normalised:.3f}" if e.normalised is not None else ""
            kind = " per-user (1 seed)" if e.per_user else f" over {e.n_seeds} seeds"
            lines.append(f"  {e.rank:>2}. {e.label:<22} {e.score.mean:.4f} "
                         f"{_ci_cell(e, t)}{kind}{norm}")
        if t.comparisons is not None:
            lines.append("  " + t.comparisons.summary())
        lines.append("")
    lines.extend(f"warning: {w}" for w in board.warnings)
    if board.failures:
        lines.append(f"{len(board.failures)} failed cell(s):")
        lines.extend(f"  - {f}" for f in board.failures)
    return "\n".join(lines)


def write_ope_csv(board: Leaderboard, path: str | Path) -> Path:
    """Write the long-format off-policy table (see :func:`benchmarks.selection_tables.ope_csv`)
    atomically."""
    return write_text_atomic(path, selection_tables.ope_csv(board.tables))



