"""Leaderboard tables from hand-made rows: ranks, intervals over seeds, overlap marks."""

from __future__ import annotations

import pytest

from benchmarks.leaderboard import build, to_csv, to_markdown
from recsim_envs.stats import mean_ci


def row(agent, seed, value, ope=None, status="ok", offline=True, cell=None):
    return {
        "schema": 1, "cell_id": cell or f"{agent}-{seed}", "suite": "s", "status": status,
        "env": {"name": "e", "id": "recsim_envs/X-v0"}, "seed_index": seed,
        "agent": {"name": agent, "offline": offline},
        "online": {"value": {"mean": value, "ci_low": value - 0.01, "ci_high": value + 0.01,
                             "std": 0.1, "n": 100}, "metrics": {}, "curve": [],
                   "measure": "clicks"},
        "ope": {k: {"mean": v} for k, v in (ope or {}).items()},
        "versions": {"recsim_envs": "0.1.0", "git_commit": "abc", "git_dirty": False},
        "timing": {"fit_s": 1.0},
        "error": None if status == "ok" else f"cell s/e/{agent}/seed{seed} failed in fit: x",
    }


def test_agents_are_ranked_by_mean_over_seeds_with_t_intervals():
    rows = [row("a", 0, 0.60, {"ips": 0.6}), row("a", 1, 0.61, {"ips": 0.61}),
            row("a", 2, 0.59, {"ips": 0.59}),
            row("b", 0, 0.90), row("b", 1, 0.91), row("b", 2, 0.89),
            row("c", 0, 0.63), row("c", 1, 0.64), row("c", 2, 0.62),
            row("oracle", 0, 2.0, offline=False)]
    board = build(rows)
    (table,) = board.tables
    assert [e.agent for e in table.entries] == ["oracle", "b", "c", "a"]
    assert [e.rank for e in table.entries] == [1, 2, 3, 4]
    a = table.entries[3]
    expected = mean_ci([0.60, 0.61, 0.59])
    assert a.value.mean == pytest.approx(0.6) and a.value.ci_low == pytest.approx(expected.ci_low)
    assert a.overlaps == [3] and table.entries[2].overlaps == [4]
    assert table.entries[1].overlaps == []
    assert a.ope == {"ips": pytest.approx(0.6)} and a.ope_error["ips"] == pytest.approx(0.0)
    oracle = table.entries[0]
    assert oracle.n_seeds == 1 and oracle.value.ci_low == pytest.approx(1.99)  # its own CI
    md = to_markdown(board)
    assert "| 1 | oracle † | 2.0000 |" in md and "| 4 | a | 0.6000 |" in md
    assert "0.6000 (+0.0000)" in md
    assert to_markdown(build(rows)) == md  # deterministic
    assert to_csv(board).count("\n") == 5


def test_failed_cells_are_listed_and_a_later_success_replaces_them():
    rows = [row("a", 0, 0.5, status="failed", cell="x"), row("a", 0, 0.4, cell="x"),
            row("b", 0, 0.3, status="failed")]
    board = build(rows)
    assert [e.value.mean for e in board.tables[0].entries] == [0.4]
    assert board.failures == ["cell s/e/b/seed0 failed in fit: x"]
    assert "## Failed cells" in to_markdown(board)


def test_a_rerun_with_new_settings_replaces_the_old_rows_of_its_slot():
    old = row("a", 0, 0.5, cell="old-settings")
    new = row("a", 0, 0.7, cell="new-settings")
    (entry,) = build([old, new]).tables[0].entries
    assert entry.n_seeds == 1 and entry.value.mean == 0.7
