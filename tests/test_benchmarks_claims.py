"""Claims in specs: parsing and validation, and the paired verdict on hand-made rows."""

from __future__ import annotations

import math

import pytest

from benchmarks.claims import evaluate_claims, to_markdown
from benchmarks.cli import main
from benchmarks.spec import SpecError, load_spec, spec_from_dict
from tests.test_benchmarks_leaderboard import row

SPEC = """
name = "s"
family = "two_stage"
seeds = 3
[[envs]]
name = "e"
id = "recsim_envs/TwoStageSynthetic-v0"
kwargs = { n_items = 50 }
[[agents]]
agent = "ce"
[[agents]]
agent = "two_ips"
[[agents]]
agent = "logging"
[[claims]]
name = "two_ips_beats_ce"
env = "e"
better = "two_ips"
worse = "ce"
source = "Ma et al. 2020"
[[claims]]
name = "ce_beats_logging"
env = "e"
better = "ce"
worse = "logging"
[[claims]]
name = "logging_beats_two_ips"
env = "e"
better = "logging"
worse = "two_ips"
"""


def _spec(tmp_path, text=SPEC):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def _rows():
    # two_ips - ce = +0.01, +0.02, +0.015 (separated); ce - logging crosses 0.
    scores = {"ce": (0.30, 0.31, 0.32), "two_ips": (0.31, 0.33, 0.335),
              "logging": (0.295, 0.315, 0.325)}
    return [row(a, s, v, suite="s", env="e") for a, vals in scores.items()
            for s, v in enumerate(vals)]


def test_claims_are_parsed_and_do_not_change_the_digest(tmp_path):
    spec = load_spec(_spec(tmp_path))
    assert [c.name for c in spec.claims] == ["two_ips_beats_ce", "ce_beats_logging",
                                           "logging_beats_two_ips"]
    assert spec.digest() == spec.replace(claims=()).digest()


@pytest.mark.parametrize("claim, message", [
    ({"name": "c", "env": "nope", "better": "ce", "worse": "logging"}, "names env 'nope'"),
    ({"name": "c", "env": "e", "better": "dso", "worse": "logging"}, "better = 'dso'"),
    ({"name": "c", "env": "e", "better": "ce", "worse": "ce"}, "with itself"),
    ({"name": "c", "env": "e", "better": "ce", "worse": "logging", "by": 1}, "unknown key"),
])
def test_bad_claims_are_named(claim, message):
    raw = {"name": "s", "family": "two_stage",
           "envs": [{"name": "e", "id": "recsim_envs/TwoStageSynthetic-v0"}],
           "agents": [{"agent": "ce"}, {"agent": "logging"}], "claims": [claim]}
    with pytest.raises(SpecError, match=message):
        spec_from_dict(raw)


def test_verdicts_follow_the_paired_interval(tmp_path):
    results = {r.claim.name: r for r in evaluate_claims(_rows(), load_spec(_spec(tmp_path)))}
    up = results["two_ips_beats_ce"]
    assert up.seeds == [0, 1, 2]
    assert math.isclose(up.diff.mean, 0.015, abs_tol=1e-12)
    assert up.diff.ci_low > 0 and up.verdict == "reproduced"
    assert results["logging_beats_two_ips"].verdict == "reversed"
    assert results["ce_beats_logging"].verdict == "not separated"
    # The world is what the rows say they ran on (issue 18), not the spec's text.
    assert up.world.startswith("recsim_envs/X-v0") and "n_items" not in up.world


def test_one_common_seed_has_no_verdict(tmp_path):
    rows = [r for r in _rows() if r["seed_index"] == 0 or r["agent"]["name"] != "ce"]
    res = evaluate_claims(rows, load_spec(_spec(tmp_path)))[0]
    assert res.seeds == [0] and res.verdict == "n/a"
    assert "1 seed, no interval" in "\n".join(to_markdown([res]))


def test_the_leaderboard_command_adds_the_claims_table(tmp_path):
    import json

    out = tmp_path / "rows"
    out.mkdir()
    (out / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    md = tmp_path / "board.md"
    assert main(["leaderboard", str(out), "--no-plots", "--markdown", str(md),
                 "--claims", str(_spec(tmp_path))]) == 0
    text = md.read_text()
    assert "## Claims" in text and "| two_ips > ce | Ma et al. 2020 |" in text
    assert "reproduced" in text and "reversed" in text
