"""Leaderboard tables from hand-made schema-2 rows: ranks, intervals over seeds, paired
comparisons with Holm decisions, normalised scores, off-policy cells, ope.csv, selection."""

from __future__ import annotations

import csv
import io
import math

import pytest

from benchmarks import leaderboard as lb
from benchmarks.leaderboard import build, to_csv, to_markdown
from benchmarks.selection_tables import OPE_CSV_COLUMNS, ope_csv
from recsim_envs.core.stats import mean_ci

# Primary score (two-stage "reward" = the online value) per agent and seed index.
#              seed 0  seed 1  seed 2
SCORES = {
    "random": (0.20, 0.22, 0.21),
    "logging": (0.30, 0.34, 0.32),
    "popular": (0.33, 0.36, 0.36),
    "ce": (0.35, 0.40, 0.37),
}
ORACLE = (0.80, 0.82, 0.81)


def row(agent, seed, value, *, ope=None, privileged=False, status="ok", cell=None,
        family="two_stage", suite="s", env="e", primary="reward", scores=None, schema=2):
    """One schema-2 row; ``ope`` maps estimator -> estimate (None = no support)."""
    scores = scores if scores is not None else {primary: value, "precision@5": value / 2}
    return {
        "schema": schema, "status": status, "cell_id": cell or f"{suite}-{env}-{agent}-{seed}",
        "error": None if status == "ok" else f"cell {suite}/{env}/{agent}/seed{seed} failed",
        "suite": suite, "size": "quick", "family": family,
        "env": {"name": env, "id": "recsim_envs/X-v0", "kwargs": {}, "behaviour": {},
                "cell_kwargs": {"world_seed": 100 + seed}},
        "agent": {"name": agent, "agent": agent, "settings": {}, "module": "m", "class": "C",
                  "privileged": privileged},
        "seed_index": seed, "seeds": {}, "versions": {"recsim_envs": "0.1.0",
                                                      "git_commit": "abc", "git_dirty": False},
        "timing": {"fit_s": 1.0},
        "online": {"value": {"mean": value, "ci_low": value - 0.01, "ci_high": value + 0.01,
                             "std": 0.2, "n": 2000},
                   "unit": "users", "measure": "expected clicks per user", "scores": scores,
                   "primary": primary, "curve": []},
        "ope": None if privileged else {
            k: {"estimator": k, "estimate": v, "ci_low": None if v is None else v - 0.02,
                "ci_high": None if v is None else v + 0.02, "ess": None if v is None else 100.0,
                "n_support": 0 if v is None else 50, "n": 2000, "unit": "rounds",
                "interval": "bootstrap", "note": ""}
            for k, v in (ope or {}).items()},
    }


def suite_rows(oracle=True, seeds=(0, 1, 2)):
    """3 seeds x 4 agents (+ the oracle skyline). IPS estimates each agent's value + 0.01;
    DM estimates it - 0.02 except that it has ``ce`` and ``popular`` the wrong way round;
    PDIS has no support for ``ce`` in any seed and for ``popular`` in seed 0."""
    rows = []
    for agent, vals in SCORES.items():
        for s in seeds:
            v = vals[s]
            dm = {"ce": 0.30, "popular": 0.40}.get(agent, v - 0.02)
            pdis = None if agent == "ce" or (agent == "popular" and s == 0) else v
            rows.append(row(agent, s, v, ope={"ips": v + 0.01, "dm": dm, "pdis": pdis}))
    if oracle:
        rows += [row("oracle", s, ORACLE[s], privileged=True) for s in seeds]
    return rows


def test_agents_are_ranked_by_the_mean_over_seeds_with_t_intervals():
    (table,) = build(suite_rows()).tables
    assert [e.agent for e in table.entries] == ["oracle", "ce", "popular", "logging", "random"]
    assert [e.rank for e in table.entries] == [1, 2, 3, 4, 5]
    ce = table.entries[1]
    expected = mean_ci([0.35, 0.40, 0.37])
    assert ce.score.mean == pytest.approx(0.37333333) and not ce.per_user
    assert (ce.score.ci_low, ce.score.ci_high) == pytest.approx((expected.ci_low,
                                                                 expected.ci_high))
    assert ce.scores["precision@5"] == pytest.approx(0.37333333 / 2)
    md = to_markdown(build(suite_rows()))
    assert "| 2 | ce | 0.3733 |" in md and "| 1 | oracle † | 0.8100 |" in md
    assert "mean over 3 seeds with its 95% interval over seeds (Student t; each seed draws " \
           "its own world, users and logs)" in md


def test_normalised_score_is_zero_for_random_and_one_for_the_skyline():
    (table,) = build(suite_rows()).tables
    norm = {e.agent: e.normalised for e in table.entries}
    # random 0.21, oracle 0.81: logging (0.32 - 0.21) / 0.60 = 0.18333
    assert norm["random"] == 0.0 and norm["oracle"] == 1.0
    assert norm["logging"] == pytest.approx(0.11 / 0.60)
    assert "0 = `random` (0.2100), 1 = `oracle` (0.8100)" in table.normalisation
    (no_sky,) = build(suite_rows(oracle=False)).tables
    assert all(e.normalised is None for e in no_sky.entries)
    assert "['oracle'] not in this table" in no_sky.normalisation


def test_prompt_optimality_is_its_own_normalised_score():
    rows = [row(a, s, 0.1 * i + s * 0.01, family="prompt", primary="optimality",
                scores={"optimality": 0.2 * i + s * 0.01, "reward": 0.1 * i})
            for i, a in enumerate(["uniform", "prompt_logging", "regression_pg", "dso"])
            for s in range(3)]
    (table,) = build(rows).tables
    assert [e.agent for e in table.entries][0] == "dso"
    for e in table.entries:
        assert e.normalised == pytest.approx(e.score.mean)
    assert table.comparisons.baseline == "regression_pg"
    assert table.comparisons.behaviour == "prompt_logging"


def test_paired_differences_and_holm_decisions_match_the_hand_computation():
    # Paired differences over seeds 0, 1, 2 (df = 2, t quantile 4.303; for df = 2 the
    # two-sided p-value is 1 - t / sqrt(2 + t^2)):
    #   popular - logging = .03 .02 .04  mean .03   sd .01     t  5.196  p .03510
    #   ce - popular      = .02 .04 .01  mean .02333 sd .01528 t  2.646  p .11808
    #   ce - logging      = .05 .06 .05  mean .05333 sd .00577 t 16.000  p .00388
    #   random - logging  = -.10 -.12 -.11  mean -.11  sd .01   t -19.05 p .00274
    #   random - popular  = -.13 -.14 -.15  mean -.14  sd .01   t -24.25 p .00170
    #   random - ce       = -.15 -.18 -.16  mean -.16333 sd .01528 t -18.52 p .00291
    # (e.g. t^2 = 27 for popular - logging: p = 1 - sqrt(27 / 29) = .03510.)
    # Holm over these m = 6 pairs (no oracle): sorted p .00170 .00274 .00291 .00388 .03510
    # .11808 against .05/6 .05/5 .05/4 .05/3 .05/2 .05/1 = .00833 .01 .0125 .01667 .025 .05:
    # the first four are rejected, then .03510 > .025 stops the procedure. So popular vs
    # logging is NOT separated although its own 95% interval [.00516, .05484] excludes 0.
    (table,) = build(suite_rows(oracle=False)).tables
    res = table.comparisons
    assert res.m == 6
    pl = res.pairs[("popular", "logging")]
    assert pl.test.diff.mean == pytest.approx(0.03)
    assert (pl.test.diff.ci_low, pl.test.diff.ci_high) == pytest.approx((0.005157, 0.054843),
                                                                        abs=1e-6)
    t = 0.03 / (0.01 / math.sqrt(3))
    assert pl.test.p_value == pytest.approx(1 - t / math.sqrt(2 + t * t))
    assert pl.test.p_value == pytest.approx(0.03510, abs=1e-5)
    # Holm-adjusted p of the 5th smallest: max(previous .01372, 2 * .03510) = .0702
    assert pl.p_holm == pytest.approx(2 * pl.test.p_value)
    assert pl.separated is False
    assert res.pairs[("ce", "popular")].separated is False
    for pair in [("ce", "logging"), ("logging", "random"), ("popular", "random"),
                 ("ce", "random")]:
        assert res.pairs[pair].separated is True, pair
    # the matrix uses the same decisions, row agent against column agent
    assert res.matrix["ce"] == {"ce": "", "popular": "T", "logging": "W", "random": "W"}
    assert res.matrix["random"]["ce"] == "L" and res.matrix["logging"]["popular"] == "T"
    md = to_markdown(build(suite_rows(oracle=False)))
    assert ("| popular - logging | ranks 2-3, vs behaviour, vs baseline | 3 | +0.0300 | "
            "[+0.0052, +0.0548] | 0.0702 | no |") in md
    assert "Holm-Bonferroni over all m = 6 agent pairs" in md
    assert "| 1. ce | · | T | W | W |" in md


def test_reported_comparisons_are_adjacent_ranks_and_both_references():
    (table,) = build(suite_rows()).tables
    got = {(c.a, c.b): c.reasons for c in table.comparisons.comparisons}
    assert got[("oracle", "ce")] == ["ranks 1-2"]
    assert got[("popular", "logging")] == ["ranks 3-4", "vs behaviour", "vs baseline"]
    assert got[("ce", "popular")] == ["ranks 2-3", "vs baseline"]
    assert got[("random", "popular")] == ["vs baseline"]
    assert got[("oracle", "logging")] == ["vs behaviour"]
    assert table.comparisons.m == 10  # all pairs of 5 agents


def test_one_seed_says_so_and_shows_the_per_user_interval():
    board = build(suite_rows(seeds=(0,)))
    (table,) = board.tables
    ce = table.entries[1]
    assert ce.per_user and (ce.score.ci_low, ce.score.ci_high) == pytest.approx((0.34, 0.36))
    md = to_markdown(board)
    assert "Ranked by reward, 1 seed: no interval over seeds; per-user interval of that seed " \
           "shown" in md
    assert "1 seed: no interval over seeds; per-user interval of that seed shown." in md
    assert "| 2 | ce | 0.3500 | per-user [0.3400, 0.3600] ‡ |" in md
    assert "No paired test" in md and table.comparisons.m == 0


def test_off_policy_cells_average_supported_seeds_and_say_no_support():
    (table,) = build(suite_rows()).tables
    assert table.estimators == ["ips", "dm", "pdis"]
    by = {e.agent: e for e in table.entries}
    assert by["oracle"].ope is None
    ips = by["logging"].ope["ips"]
    assert (ips.estimate, ips.error, ips.n_supported, ips.ess) == pytest.approx(
        (0.33, 0.01, 3, 100.0))
    assert by["ce"].ope["pdis"].estimate is None and by["ce"].ope["pdis"].n_seeds == 3
    pop = by["popular"].ope["pdis"]
    assert pop.n_supported == 2 and pop.estimate == pytest.approx((0.36 + 0.36) / 2)
    md = to_markdown(build(suite_rows()))
    assert "no support (0/3)" in md and "0.0000 (+0.0000)" not in md.split("ce |")[1][:40]
    assert "| oracle † | 0.8100 | skyline: none | - | - |" in md
    assert "| logging | 0.3200 | 0.3300 (+0.0100) · 3/3 · ESS 100 |" in md


def test_ope_csv_has_the_exact_columns_and_empty_cells_without_support():
    board = build(suite_rows())
    text = ope_csv(board.tables)
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == OPE_CSV_COLUMNS == (
        "env", "agent", "seed", "estimator", "estimate", "ci_low", "ci_high", "ess", "online",
        "status", "interval")
    body = lines[1:]
    assert len(body) == 4 * 3 * 3  # 4 agents x 3 seeds x 3 estimators; no oracle lines
    assert not any(r[1] == "oracle" for r in body)
    ce_pdis = [r for r in body if r[1] == "ce" and r[3] == "pdis"]
    assert len(ce_pdis) == 3 and all(r[4:7] == ["", "", ""] for r in ce_pdis)
    # rows older than the support statuses: no_support inferred, shown ones unlabelled
    assert all(r[9:] == ["no_support", ""] for r in ce_pdis)
    first = body[0]
    assert first[:4] == ["s/e", "ce", "0", "ips"]
    assert float(first[4]) == 0.35 + 0.01 and float(first[8]) == 0.35


def test_write_ope_csv_is_atomic_and_leaves_no_temp_file(tmp_path):
    path = lb.write_ope_csv(build(suite_rows()), tmp_path / "ope.csv")
    assert path.read_text().startswith("env,agent,seed,estimator,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ope.csv"]


def test_selection_excludes_skylines_and_ranks_unsupported_agents_last():
    (table,) = build(suite_rows()).tables
    sel = table.selection
    assert sel.candidates == ["ce", "logging", "popular", "random"]  # no oracle
    assert sel.behaviour == "logging" and sel.behaviour_value == pytest.approx(0.32)
    rows = {r.estimator: r for r in sel.rows}
    assert [r.estimator for r in sel.rows] == ["ips", "dm", "pdis"]
    assert rows["ips"].ranking == ["ce", "popular", "logging", "random"]
    assert rows["ips"].spearman == pytest.approx(1.0) and rows["ips"].regret[1] == 0.0
    # DM's seed means: popular 0.40, ce 0.30, logging 0.32 - 0.02 = 0.30, random 0.19: it
    # picks popular first, so regret@1 = 0.37333 (ce) - 0.35 (popular) = 0.02333
    assert rows["dm"].ranking[0] == "popular"
    assert rows["dm"].regret[1] == pytest.approx(0.373333 - 0.35, abs=1e-6)
    # PDIS never supports ce (the best agent): it ranks last, so regret@3 = .37333 - .35
    assert rows["pdis"].ranking[-1] == "ce" and rows["pdis"].n_supported == 3
    assert rows["pdis"].regret[3] == pytest.approx(0.373333 - 0.35, abs=1e-6)
    assert rows["pdis"].regret[4] == 0.0
    md = to_markdown(build(suite_rows()))
    assert "| estimator | supported | Spearman | regret@1 | regret@3 | SR@2 | SR@3 | SR@4 |" in md
    assert "| IPS | 4/4 | 1.000 | 0.0000 | 0.0000 |" in md


def test_markdown_is_deterministic_and_independent_of_row_order():
    rows = suite_rows()
    md = to_markdown(build(rows), title="T")
    assert to_markdown(build(list(reversed(rows))), title="T") == md
    assert to_markdown(build(rows), title="T") == md
    assert to_csv(build(rows)) == to_csv(build(list(reversed(rows))))
    assert ope_csv(build(rows).tables) == ope_csv(build(list(reversed(rows))).tables)


def test_failed_cells_are_listed_and_a_later_success_replaces_them():
    rows = [row("a", 0, 0.5, status="failed", cell="x"), row("a", 0, 0.4, cell="x"),
            row("b", 0, 0.3, status="failed")]
    board = build(rows)
    assert [e.score.mean for e in board.tables[0].entries] == [0.4]
    assert board.failures == ["cell s/e/b/seed0 failed"]
    assert "## Failed cells" in to_markdown(board)


def test_a_rerun_with_new_settings_replaces_the_old_rows_of_its_slot():
    old = row("a", 0, 0.5, cell="old-settings")
    new = row("a", 0, 0.7, cell="new-settings")
    (entry,) = build([old, new]).tables[0].entries
    assert entry.n_seeds == 1 and entry.score.mean == 0.7


def test_schema_1_rows_are_read_with_the_online_value_as_primary_score():
    old = row("a", 0, 0.5, schema=1)
    old["agent"] = {"name": "a", "offline": True}
    old["online"] = {"value": old["online"]["value"], "metrics": {}, "curve": [],
                     "measure": "clicks"}
    old["ope"] = {"ips": {"mean": 0.6}}
    (table,) = build([old]).tables
    (e,) = table.entries
    assert table.primary == "value" and e.score.mean == 0.5
    assert e.ope["ips"].estimate == 0.6


def test_plots_are_written_for_every_view(tmp_path):
    from benchmarks.plots import write_plots

    rows = suite_rows()
    for r in rows:  # learning curves for two agents, differing by seed
        if r["agent"]["name"] in ("ce", "popular"):
            r["online"]["curve"] = [{"step": s, "value": 0.1 * s + 0.01 * r["seed_index"]}
                                    for s in (0, 10, 20)]
    board = build(rows)
    paths = write_plots(board, rows, tmp_path)
    assert sorted(p.name for p in paths) == [
        "bars_s_e.png", "curves_s_e.png", "ope_s_e.png", "sharpe_s_e.png", "wtl_s_e.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_one_seed_of_a_score_that_is_not_the_online_value_has_no_score_interval(tmp_path):
    from benchmarks.plots import write_plots

    rows = [row(a, 0, 0.01 * i, family="prompt", primary="optimality",
                scores={"optimality": 0.3 * i, "reward": 0.01 * i})
            for i, a in enumerate(["uniform", "prompt_logging", "dso"])]
    board = build(rows)
    dso = board.tables[0].entries[0]
    assert dso.per_user and math.isnan(dso.score.ci_low) and dso.value_ci == pytest.approx(
        (0.01, 0.03))
    md = to_markdown(board)
    assert "| 1 | dso | 0.6000 | per-user [0.0100, 0.0300] of the online value (expected " \
           "clicks per user) ‡ |" in md
    assert "nan" not in md and "nan" not in lb.to_text(board)
    assert any(p.name.startswith("bars_") for p in write_plots(board, rows, tmp_path))


def test_a_row_without_the_primary_score_is_left_out_with_a_warning():
    rows = suite_rows(oracle=False)
    del rows[0]["online"]["scores"]["reward"]  # random, seed 0
    board = build(rows)
    random = next(e for e in board.tables[0].entries if e.agent == "random")
    assert random.seeds == [1, 2]
    assert board.warnings == ["s/e/random/seed0: no 'reward' score; left out of the ranking"]
    assert "## Rows not ranked as they are" in to_markdown(board)
    assert "warning: s/e/random/seed0" in lb.to_text(board)


def test_a_table_with_one_world_for_all_seeds_says_so():
    rows = suite_rows()
    for r in rows:
        r["env"]["cell_kwargs"] = {"world_seed": 0}
    md = to_markdown(build(rows))
    assert "one world for all seeds" in md and "draws its own world, users" not in md


def test_the_selection_table_says_when_the_behaviour_policy_is_the_best_candidate():
    from types import SimpleNamespace

    from benchmarks.selection_tables import Selection, selection_markdown
    from recsim_envs.ope.selection import selection_table

    truths = {"logging": 0.5, "a": 0.3, "b": 0.4}
    rows = selection_table({"ips": {"logging": 0.2, "a": 0.4, "b": 0.1}}, truths, 0.5)
    best = Selection(sorted(truths), "logging", 0.5, rows, best_value=0.5)
    text = "\n".join(selection_markdown(SimpleNamespace(selection=best)))
    assert best.behaviour_is_best and "is the best candidate here" in text
    assert "SR@2 (SCOPE-RL)" in text
    beaten = Selection(sorted(truths), "logging", 0.5, rows, best_value=0.6)
    assert not beaten.behaviour_is_best
    assert "is the best candidate here" not in "\n".join(
        selection_markdown(SimpleNamespace(selection=beaten)))


def test_a_score_equal_in_every_seed_prints_no_interval():
    """A zero-width interval over seeds (a scale's reference point) is not printed as a
    95% interval."""
    rows = [row("uniform", s, 0.0) for s in range(3)] + [row("ce", s, v)
                                                         for s, v in enumerate(SCORES["ce"])]
    md = to_markdown(build(rows))
    assert "none: the same score in every seed" in md
    assert "[0.0000, 0.0000]" not in md
