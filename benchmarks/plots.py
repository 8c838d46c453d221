"""PNG plots of a leaderboard (matplotlib, Agg backend, imported only when plotting).

Per (suite, environment), named ``<kind>_<suite>_<env>.png``:

- ``bars``: the primary score per agent with its 95% interval (over seeds; per-user for an
  agent with one seed, hatched).
- ``curves``: learning curves of an online phase: the mean over seeds of each agent's curve
  with a band from the minimum to the maximum over seeds; each agent has its own colour,
  line style and marker.
- ``ope``: each estimator's seed-mean estimate against the seed-mean online value of the
  same seeds, one marker per estimator, each agent labelled, with the line estimate = online.
- ``wtl``: the wins/ties/losses matrix as a heat map (Holm-corrected paired tests).
- ``sharpe``: SharpeRatio@k against k (k >= 2) per estimator (off-policy selection).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.leaderboard import Leaderboard, Table
from benchmarks.results import latest_rows

_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _style(i: int) -> dict[str, Any]:
    """Colour, line style and marker of the i-th series: distinct for up to 40 series."""
    return {"color": f"C{i % 10}", "linestyle": _STYLES[(i // 10 + i) % len(_STYLES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


def _stem(t: Table) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{t.suite}_{t.env}")


def write_plots(board: Leaderboard, rows: list[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write every plot for ``board`` (and the rows it came from) under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = [r for r in latest_rows(rows, by_slot=True) if r["status"] == "ok"]
    paths: list[Path] = []
    for t in board.tables:
        stem = _stem(t)
        paths.append(_bars(t, out_dir / f"bars_{stem}.png"))
        group = [r for r in ok if r["suite"] == t.suite and r["env"]["name"] == t.env
                 and (r.get("online") or {}).get("curve")]
        if group:
            paths.append(_curves(t, group, out_dir / f"curves_{stem}.png"))
        if any(e.ope for e in t.entries):
            paths.append(_ope(t, out_dir / f"ope_{stem}.png"))
        if t.comparisons is not None and t.comparisons.m > 0:
            paths.append(_wtl(t, out_dir / f"wtl_{stem}.png"))
        if t.selection is not None and t.selection.behaviour_value is not None \
                and len(t.selection.candidates) >= 2:
            paths.append(_sharpe(t, out_dir / f"sharpe_{stem}.png"))
    return paths


def _bars(t: Table, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(t.entries) + 2), 3.5))
    means = [e.score.mean for e in t.entries]
    # one-seed entries whose primary score is not the online value have no interval (NaN)
    err = np.nan_to_num([[e.score.mean - e.score.ci_low for e in t.entries],
                         [e.score.ci_high - e.score.mean for e in t.entries]]).clip(min=0)
    bars = ax.bar(range(len(means)), means, yerr=err, capsize=4,
                  color=["tab:gray" if e.privileged else "tab:blue" for e in t.entries])
    for bar, e in zip(bars, t.entries, strict=True):
        if e.per_user:
            bar.set_hatch("//")
    ax.set_xticks(range(len(means)), [e.label for e in t.entries], rotation=30, ha="right")
    ax.set_ylabel(t.primary)
    ax.set_title(f"{t.suite} / {t.env}: {t.primary} (95% CI over seeds; hatched: 1 seed, "
                 "per-user CI)", fontsize=8)
    return _save(fig, path)


def _curves(t: Table, group: list[dict[str, Any]], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = [e.agent for e in t.entries if any(r["agent"]["name"] == e.agent for r in group)]
    for i, name in enumerate(names):
        runs = [r["online"]["curve"] for r in group if r["agent"]["name"] == name]
        steps = sorted({p["step"] for run in runs for p in run})
        table = np.full((len(runs), len(steps)), np.nan)
        col = {s: j for j, s in enumerate(steps)}
        for k, run in enumerate(runs):
            for p in run:
                table[k, col[p["step"]]] = p["value"]
        mean = np.nanmean(table, axis=0)
        style = _style(i)
        ax.plot(steps, mean, label=f"{name} ({len(runs)} seeds)", markersize=4, **style)
        ax.fill_between(steps, np.nanmin(table, axis=0), np.nanmax(table, axis=0),
                        color=style["color"], alpha=0.15, linewidth=0)
    ax.set_xlabel("online training episodes")
    ax.set_ylabel(t.measure)
    ax.set_title(f"{t.suite} / {t.env}: learning curves (mean over seeds; band = min-max)",
                 fontsize=8)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _ope(t: Table, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    xs, ys = [], []
    for j, k in enumerate(t.estimators):
        pts = [(e.ope[k].estimate - e.ope[k].error, e.ope[k].estimate, e.agent)
               for e in t.entries if e.ope and k in e.ope and e.ope[k].estimate is not None]
        if not pts:
            continue
        style = _style(j)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=28, label=k.upper(),
                   color=style["color"], marker=style["marker"], alpha=0.8)
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    labelled: set[str] = set()
    for e in t.entries:  # one label per agent, beside its online value
        if not e.ope or e.agent in labelled:
            continue
        cells = [c for c in e.ope.values() if c.estimate is not None]
        if cells:
            x = cells[0].estimate - cells[0].error
            y = max(c.estimate for c in cells)
            ax.annotate(e.agent, (x, y), textcoords="offset points", xytext=(3, 5), fontsize=7)
            labelled.add(e.agent)
    if xs:
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
    ax.set_xlabel(f"online value ({t.measure}), mean over supported seeds")
    ax.set_ylabel("off-policy estimate, mean over supported seeds")
    ax.set_title(f"{t.suite} / {t.env}: estimate vs truth", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _wtl(t: Table, path: Path) -> Path:
    plt = _plt()
    res = t.comparisons
    n = len(res.agents)
    code = {"W": 1.0, "T": 0.0, "L": -1.0, "-": np.nan, "": np.nan}
    grid = np.array([[code[res.matrix[r][c]] for c in res.agents] for r in res.agents])
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=-1.5, vmax=1.5)
    for i, r in enumerate(res.agents):
        for j, c in enumerate(res.agents):
            ax.text(j, i, res.matrix[r][c] or "·", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_yticks(range(n), [f"{i + 1}. {a}" for i, a in enumerate(res.agents)], fontsize=7)
    ax.set_xlabel("against rank")
    ax.set_title(f"{t.suite} / {t.env}: wins/ties/losses\n(paired over seeds, Holm 0.05)",
                 fontsize=8)
    return _save(fig, path)


def _sharpe(t: Table, path: Path) -> Path:
    plt = _plt()
    sel = t.selection
    ks = list(range(2, len(sel.candidates) + 1))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for j, r in enumerate(sel.rows):
        pts = [(k, r.sharpe[k]) for k in ks if r.sharpe.get(k) is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=r.estimator.upper(),
                    markersize=5, **_style(j))
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xticks(ks)
    ax.set_xlabel("k (agents deployed from the estimator's top k)")
    ax.set_ylabel("SharpeRatio@k")
    ax.set_title(f"{t.suite} / {t.env}: SharpeRatio@k (baseline: {sel.behaviour})", fontsize=8)
    ax.legend(fontsize=7)
    return _save(fig, path)
