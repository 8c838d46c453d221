"""How the board and ope.csv print support statuses, thin support and the interval label."""

from __future__ import annotations

import csv
import io

from benchmarks.leaderboard import build, to_markdown
from benchmarks.selection_tables import ope_csv
from recsim_envs.ope import OffPolicyEstimate


def _row(agent: str, seed: int, value: float, ope: dict[str, OffPolicyEstimate]) -> dict:
    return {
        "schema": 2, "status": "ok", "cell_id": f"c-{agent}-{seed}", "error": None,
        "suite": "s", "size": "quick", "family": "two_stage",
        "env": {"name": "e", "id": "recsim_envs/X-v0", "kwargs": {}, "behaviour": {},
                "cell_kwargs": {"world_seed": 0}},
        "agent": {"name": agent, "agent": agent, "settings": {}, "module": "m", "class": "C",
                  "privileged": False},
        "seed_index": seed, "seeds": {}, "versions": {"recsim_envs": "0.1.0",
                                                      "git_commit": "abc", "git_dirty": False},
        "timing": {"fit_s": 1.0},
        "online": {"value": {"mean": value, "ci_low": value - 0.01, "ci_high": value + 0.01,
                             "std": 0.2, "n": 2000},
                   "unit": "users", "measure": "expected clicks per user",
                   "scores": {"reward": value}, "primary": "reward", "curve": []},
        "ope": {k: v.to_dict() for k, v in ope.items()},
    }


def _est(name: str, value: float, **kw) -> OffPolicyEstimate:
    return OffPolicyEstimate(name, value, value - 0.02, value + 0.02, kw.pop("ess", 50.0), 40,
                             100, "rounds", "bootstrap", **kw)


def _rows() -> list[dict]:
    rows = []
    for seed in range(2):
        rows.append(_row("random", seed, 0.13, {
            "ips": _est("ips", 0.11, thin_mass=0.18, calibrated=False),
            "dm": _est("dm", 0.14, thin_mass=0.18, calibrated=False),
            "rollout": _est("rollout", 0.15, thin_mass=0.18),
        }))
        low = {"status": "low_ess", "ess": 4.0, "calibrated": False} if seed == 0 else {}
        rows.append(_row("ce", seed, 0.27, {
            "ips": _est("ips", 0.30, **low),
            "dm": OffPolicyEstimate.no_support("dm", n=100, unit="rounds", n_support=0,
                                               ess=0.0, interval="x", note="no support"),
        }))
    return rows


def test_board_cells_flag_low_ess_and_thin_support():
    md = to_markdown(build(_rows()))
    assert "0.1100 (-0.0200) · 2/2 · ESS 50 · thin 2 |" in md
    assert "| ce | 0.2700 | 0.3000 (+0.0300) · 2/2 · ESS 27 · low ESS 1 | no support (0/2) |" in md
    # DM is model-based: its thin mass is not flagged
    assert "0.1400 (+0.0100) · 2/2 · ESS 50 |" in md
    # so is the sequential rollout (no importance weight)
    assert "0.1500 (+0.0200) · 2/2 · ESS 50 |" in md
    assert "\"thin j\"" in md and "\"model\"" in md


def test_ope_csv_labels_each_interval_and_status():
    lines = list(csv.DictReader(io.StringIO(ope_csv(build(_rows()).tables))))
    by = {(r["agent"], r["seed"], r["estimator"]): r for r in lines}
    assert by[("random", "0", "ips")]["interval"] == "model"
    assert by[("ce", "1", "ips")]["interval"] == "95%"
    assert by[("ce", "0", "ips")]["status"] == "low_ess"
    assert by[("ce", "0", "dm")]["status"] == "no_support"
    assert by[("ce", "0", "dm")]["interval"] == ""


def test_low_ess_estimates_are_shown_but_do_not_rank_in_selection():
    """An agent whose only estimates are low ESS ranks after the supported ones: a value
    resting on a handful of rounds must not pick the agent to deploy."""
    from benchmarks.selection_tables import select

    rows = []
    for seed in range(2):
        rows.append(_row("logging", seed, 0.30, {"ips": _est("ips", 0.30)}))
        rows.append(_row("ce", seed, 0.27, {"ips": _est("ips", 0.28)}))
        # its low-ESS estimate says 0.9 (the best), its online value is the worst
        rows.append(_row("lucky", seed, 0.10, {
            "ips": _est("ips", 0.90, status="low_ess", ess=2.0, calibrated=False)}))
    table = build(rows).tables[0]
    cell = next(e for e in table.entries if e.agent == "lucky").ope["ips"]
    assert cell.estimate == 0.9 and cell.n_low_ess == 2 and cell.ranked is None
    ips = next(r for r in select(table).rows if r.estimator == "ips")
    assert ips.regret[1] == 0.0  # ranks logging first, not the low-ESS "lucky"
