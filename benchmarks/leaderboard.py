"""Ranked tables from result rows: one per (suite, environment), in Markdown and CSV.

Per agent: the mean online value over seeds with its 95% interval (Student t over seeds;
with a single seed, the interval over evaluation users of that seed), the rank (1 = best),
the ranks of the agents whose intervals overlap its own (no clear order between them), the
off-policy estimates averaged over seeds and their mean error against the online value.
Agents that use privileged information (``offline = False``) are marked with a dagger.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ope import ESTIMATORS
from benchmarks.results import latest_rows, read_dir
from recsim_envs.stats import Estimate, mean_ci

ALL_ESTIMATORS = (*ESTIMATORS, "kernel_is")


@dataclass
class Entry:
    """One agent's line in a table."""

    agent: str
    value: Estimate
    n_seeds: int
    offline: bool
    rank: int = 0
    overlaps: list[int] = field(default_factory=list)
    ope: dict[str, float] = field(default_factory=dict)
    ope_error: dict[str, float] = field(default_factory=dict)
    fit_s: float = float("nan")
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Table:
    suite: str
    env: str
    env_id: str
    measure: str
    entries: list[Entry]
    estimators: list[str]
    family: str = ""


@dataclass
class Leaderboard:
    tables: list[Table]
    failures: list[str]
    problems: list[str]
    sources: list[str] = field(default_factory=list)
    """recsim_envs versions and git commits the rows came from."""


def build(rows: list[dict[str, Any]], problems: list[str] | None = None) -> Leaderboard:
    """Aggregate rows (several files, repeated runs) into ranked tables."""
    rows = latest_rows(rows, by_slot=True)
    ok = [r for r in rows if r["status"] == "ok"]
    failures = sorted(r["error"] for r in rows if r["status"] != "ok")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault((r["suite"], r["env"]["name"]), []).append(r)
    tables = []
    for (suite, env), group in sorted(groups.items()):
        by_agent: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(group, key=lambda r: r["seed_index"]):
            by_agent.setdefault(r["agent"]["name"], []).append(r)
        entries = [_entry(name, rs) for name, rs in by_agent.items()]
        entries.sort(key=lambda e: (-e.value.mean, e.agent))
        for i, e in enumerate(entries):
            e.rank = i + 1
        for e in entries:
            e.overlaps = [o.rank for o in entries if o is not e and e.value.overlaps(o.value)]
        estimators = [k for k in ALL_ESTIMATORS if any(k in e.ope for e in entries)]
        tables.append(Table(suite, env, group[0]["env"]["id"],
                            group[0]["online"].get("measure", "value"), entries, estimators,
                            group[0].get("family", "")))
    sources = sorted({
        f"recsim_envs {r['versions'].get('recsim_envs')} at "
        f"{(r['versions'].get('git_commit') or 'unknown commit')[:12]}"
        f"{' (uncommitted changes)' if r['versions'].get('git_dirty') else ''}"
        for r in ok
    })
    return Leaderboard(tables, failures, list(problems or []), sources)


def _entry(name: str, rows: list[dict[str, Any]]) -> Entry:
    values = np.array([r["online"]["value"]["mean"] for r in rows])
    if len(rows) == 1:
        v = rows[0]["online"]["value"]
        value = Estimate(v["mean"], v["ci_low"], v["ci_high"], v["std"], v["n"])
    else:
        value = mean_ci(values)
    e = Entry(agent=name, value=value, n_seeds=len(rows),
              offline=bool(rows[0]["agent"].get("offline", True)))
    for key in ALL_ESTIMATORS:
        est = [(r["ope"][key]["mean"], r["online"]["value"]["mean"])
               for r in rows if r.get("ope") and key in r["ope"]
               and r["ope"][key].get("mean") is not None]
        if est:
            arr = np.array(est)
            e.ope[key] = float(arr[:, 0].mean())
            e.ope_error[key] = float((arr[:, 0] - arr[:, 1]).mean())
    fits = [r["timing"].get("fit_s") for r in rows if r.get("timing", {}).get("fit_s") is not None]
    if fits:
        e.fit_s = float(np.mean(fits))
    metric_names = set().union(*(r["online"].get("metrics", {}) for r in rows))
    for m in sorted(metric_names):
        vals = [r["online"]["metrics"].get(m) for r in rows]
        vals = [v for v in vals if v is not None]
        if vals:
            e.metrics[m] = float(np.mean(vals))
    return e


def load(directory: str | Path) -> Leaderboard:
    result = read_dir(directory)
    return build(result.rows, result.problems)


# ---------------------------------------------------------------------- rendering


def _fmt(x: float, digits: int = 4) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


_NOTES = {
    "sequential": "IPS and SNIPS are per-decision importance sampling of the session return "
    "and its weighted version (no DM/DR: they need a fitted Q-function).",
    "prompt": "Kernel IS weights in sentence space (Gaussian kernel, Monte Carlo densities).",
}


def to_markdown(board: Leaderboard, title: str = "Leaderboard") -> str:
    """Tables as Markdown (deterministic: no timings, no dates)."""
    out = [f"# {title}", ""]
    out.append(
        "Mean online value over seeds with its 95% interval; *overlaps* lists the ranks "
        "whose intervals overlap (no clear order). Off-policy columns: each estimator's "
        "mean estimate from held-out logs (its mean error vs the online value in "
        "parentheses). † marks skylines with privileged information (not offline agents)."
    )
    out.append("")
    if board.sources:
        out.append("Rows from " + "; ".join(board.sources) + ".")
        out.append("")
    for t in board.tables:
        out.append(f"## {t.suite} / {t.env} (`{t.env_id}`)")
        out.append("")
        note = _NOTES.get(t.family, "")
        out.append(f"Online value: {t.measure}.{' ' + note if note else ''}")
        out.append("")
        head = ["rank", "agent", "mean", "95% CI", "seeds", "overlaps"]
        head += [k.upper().replace("_", " ") for k in t.estimators]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---"] * len(head)) + "|")
        for e in t.entries:
            cells = [
                str(e.rank),
                e.agent + ("" if e.offline else " †"),
                _fmt(e.value.mean),
                f"[{_fmt(e.value.ci_low)}, {_fmt(e.value.ci_high)}]",
                str(e.n_seeds),
                ", ".join(map(str, e.overlaps)) or "-",
            ]
            for k in t.estimators:
                cells.append(
                    f"{_fmt(e.ope[k])} ({e.ope_error[k]:+.4f})" if k in e.ope else "-"
                )
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    if board.failures:
        out.append("## Failed cells")
        out.append("")
        out.extend(f"- {f}" for f in board.failures)
        out.append("")
    return "\n".join(out)


def to_csv(board: Leaderboard) -> str:
    """One line per (suite, environment, agent) with every number, timings included."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["suite", "env", "env_id", "rank", "agent", "offline", "mean", "ci_low", "ci_high",
            "n_seeds", "overlaps", "fit_s"]
    head += [f"ope_{k}" for k in ALL_ESTIMATORS] + [f"ope_{k}_error" for k in ALL_ESTIMATORS]
    writer.writerow(head)
    for t in board.tables:
        for e in t.entries:
            writer.writerow(
                [t.suite, t.env, t.env_id, e.rank, e.agent, e.offline,
                 _fmt(e.value.mean, 6), _fmt(e.value.ci_low, 6), _fmt(e.value.ci_high, 6),
                 e.n_seeds, " ".join(map(str, e.overlaps)), _fmt(e.fit_s, 3)]
                + [_fmt(e.ope.get(k, float("nan")), 6) for k in ALL_ESTIMATORS]
                + [_fmt(e.ope_error.get(k, float("nan")), 6) for k in ALL_ESTIMATORS]
            )
    return buf.getvalue()


def to_text(board: Leaderboard) -> str:
    """A compact plain-text rendering for the terminal."""
    lines = []
    for t in board.tables:
        lines.append(f"{t.suite} / {t.env} ({t.measure})")
        for e in t.entries:
            mark = "" if e.offline else " †"
            ov = f"  overlaps {','.join(map(str, e.overlaps))}" if e.overlaps else ""
            ope = "  ".join(f"{k}={e.ope[k]:.4f}" for k in t.estimators if k in e.ope)
            lines.append(
                f"  {e.rank:>2}. {e.agent + mark:<22} {e.value.mean:.4f} "
                f"[{e.value.ci_low:.4f}, {e.value.ci_high:.4f}]{ov}  {ope}"
            )
        lines.append("")
    if board.failures:
        lines.append(f"{len(board.failures)} failed cell(s):")
        lines.extend(f"  - {f}" for f in board.failures)
    return "\n".join(lines)


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
