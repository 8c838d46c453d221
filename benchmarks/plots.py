"""PNG plots of a leaderboard (matplotlib, Agg backend, imported only when plotting).

- ``bars_<suite>_<env>.png``: mean online value per agent with its 95% interval.
- ``curves_<suite>_<env>.png``: learning curves of the online phase (sequential suite).
- ``ope_<suite>_<env>.png``: each off-policy estimate against the online value, one point
  per (agent, seed), with the line estimate = online.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.leaderboard import ALL_ESTIMATORS, Leaderboard
from benchmarks.results import latest_rows


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


def write_plots(board: Leaderboard, rows: list[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write every plot for ``board`` (and the rows it came from) under ``out_dir``."""
    plt = _plt()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = [r for r in latest_rows(rows, by_slot=True) if r["status"] == "ok"]
    paths = []
    for t in board.tables:
        stem = f"{t.suite}_{t.env}"
        fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(t.entries) + 2), 3.5))
        names = [e.agent + ("" if e.offline else " †") for e in t.entries]
        means = [e.value.mean for e in t.entries]
        err = [[e.value.mean - e.value.ci_low for e in t.entries],
               [e.value.ci_high - e.value.mean for e in t.entries]]
        ax.bar(range(len(names)), means, yerr=err, capsize=4,
               color=["tab:gray" if not e.offline else "tab:blue" for e in t.entries])
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_ylabel(t.measure)
        ax.set_title(f"{t.suite} / {t.env}: online value (95% CI)")
        paths.append(_save(fig, out_dir / f"bars_{stem}.png"))

        group = [r for r in ok if r["suite"] == t.suite and r["env"]["name"] == t.env]
        curves = [r for r in group if r["online"].get("curve")]
        if curves:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            for name in sorted({r["agent"]["name"] for r in curves}):
                for i, r in enumerate(c for c in curves if c["agent"]["name"] == name):
                    pts = r["online"]["curve"]
                    ax.plot([p["step"] for p in pts], [p["value"] for p in pts],
                            marker="o", alpha=0.7, label=name if i == 0 else None,
                            color=f"C{sorted({c['agent']['name'] for c in curves}).index(name)}")
            ax.set_xlabel("online training episodes")
            ax.set_ylabel(t.measure)
            ax.set_title(f"{t.suite} / {t.env}: learning curves")
            ax.legend(fontsize=7)
            paths.append(_save(fig, out_dir / f"curves_{stem}.png"))

        points = [(r["online"]["value"]["mean"], k, r["ope"][k]["mean"])
                  for r in group if r.get("ope") for k in ALL_ESTIMATORS if k in r["ope"]]
        if points:
            fig, ax = plt.subplots(figsize=(4.5, 4))
            for j, k in enumerate(ALL_ESTIMATORS):
                pts = [(x, y) for x, kk, y in points if kk == k]
                if pts:
                    ax.scatter(*zip(*pts, strict=True), s=14, label=k, color=f"C{j}", alpha=0.7)
            lo = min(min(p[0], p[2]) for p in points)
            hi = max(max(p[0], p[2]) for p in points)
            ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
            ax.set_xlabel("online value")
            ax.set_ylabel("off-policy estimate")
            ax.set_title(f"{t.suite} / {t.env}: estimate vs truth")
            ax.legend(fontsize=7)
            paths.append(_save(fig, out_dir / f"ope_{stem}.png"))
    return paths
