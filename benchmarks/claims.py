"""Published claims tested on result rows: "``better`` beats ``worse`` in this world".

A spec's ``[[claims]]`` (:class:`benchmarks.spec.Claim`) name two of its agents and one of
its environments. For each claim this module pairs the two agents' per-seed scores (every
agent of one seed shares the world, logs and evaluation users), and reports the mean
difference ``better - worse`` with its 95% Student-t interval over the common seeds and a
verdict:

- ``reproduced``: the interval lies above 0;
- ``reversed``: the interval lies below 0 (the paper's loser wins here);
- ``not separated``: the interval contains 0 (the seeds cannot tell the two apart);
- ``n/a``: fewer than 2 common seeds (no interval over seeds).

Each claim is one pre-stated hypothesis, so the intervals are per claim, not adjusted
across the claims of a spec (say so wherever the table is shown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.fmt import fmt
from benchmarks.leaderboard import as_schema2
from benchmarks.results import latest_rows
from benchmarks.spec import BenchmarkSpec, Claim
from recsim_envs.core.stats import Estimate, paired_test

VERDICTS = ("reproduced", "reversed", "not separated", "n/a")


@dataclass
class ClaimResult:
    """One claim measured on rows.

    Attributes:
        claim: the claim as the spec states it.
        suite: the spec's name.
        world: the environment id and its settings (without the per-seed ``world_seed``),
            and whether the world was drawn per seed.
        metric: the score compared.
        seeds: the seed indices both agents finished.
        better, worse: each agent's mean score over ``seeds`` (NaN without seeds).
        diff: mean ``better - worse`` with its 95% interval over ``seeds`` (None: no seed).
        verdict: one of :data:`VERDICTS`.
    """

    claim: Claim
    suite: str
    world: str
    metric: str
    seeds: list[int]
    better: float
    worse: float
    diff: Estimate | None
    verdict: str


def evaluate_claims(rows: list[dict[str, Any]], spec: BenchmarkSpec) -> list[ClaimResult]:
    """Every claim of ``spec`` measured on ``rows`` (rows of other suites are ignored)."""
    ok = [as_schema2(r) for r in latest_rows(rows, by_slot=True)]
    ok = [r for r in ok if r["status"] == "ok" and r["suite"] == spec.name]
    return [_evaluate(claim, spec, ok) for claim in spec.claims]


def _evaluate(claim: Claim, spec: BenchmarkSpec, rows: list[dict[str, Any]]) -> ClaimResult:
    env_rows = [r for r in rows if r["env"]["name"] == claim.env]
    env_spec = next(e for e in spec.envs if e.name == claim.env)
    settings = ", ".join(f"{k}={v}" for k, v in sorted(env_spec.kwargs.items()))
    world = env_spec.id + (f" ({settings})" if settings else "")
    world_seeds = {json.dumps(r["env"].get("cell_kwargs", {}).get("world_seed"))
                   for r in env_rows}
    world += "; world per seed" if len(world_seeds) > 1 else "; one world for all seeds"
    metric = claim.metric or (env_rows[0]["online"]["primary"] if env_rows else "")
    per_seed = {name: _scores(env_rows, name, metric) for name in (claim.better, claim.worse)}
    seeds = sorted(set(per_seed[claim.better]) & set(per_seed[claim.worse]))
    b = np.array([per_seed[claim.better][s] for s in seeds])
    w = np.array([per_seed[claim.worse][s] for s in seeds])
    diff = paired_test(b, w).diff if seeds else None
    return ClaimResult(claim, spec.name, world, metric, seeds,
                       float(b.mean()) if seeds else float("nan"),
                       float(w.mean()) if seeds else float("nan"), diff, _verdict(diff))


def _scores(rows: list[dict[str, Any]], agent: str, metric: str) -> dict[int, float]:
    out = {}
    for r in rows:
        value = r["online"]["scores"].get(metric) if r["agent"]["name"] == agent else None
        if value is not None and np.isfinite(value):
            out[int(r["seed_index"])] = float(value)
    return out


def _verdict(diff: Estimate | None) -> str:
    if diff is None or diff.n < 2:
        return "n/a"
    if diff.ci_low > 0:
        return "reproduced"
    if diff.ci_high < 0:
        return "reversed"
    return "not separated"


def to_markdown(results: list[ClaimResult]) -> list[str]:
    """The claims table: one line per claim, with what the interval covers."""
    if not results:
        return []
    out = ["## Claims", "",
           "| claim | source | world | metric | seeds | better | worse | better - worse "
           "[95% CI] | verdict |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r.claim
        if r.diff is None:
            gap = "no common seed"
        elif r.diff.n < 2:
            gap = f"{fmt(r.diff.mean, 4, sign=True)} (1 seed, no interval)"
        else:
            gap = (f"{fmt(r.diff.mean, 4, sign=True)} [{fmt(r.diff.ci_low, 4, sign=True)}, "
                   f"{fmt(r.diff.ci_high, 4, sign=True)}]")
        world = r.world + (f"; {c.note}" if c.note else "")
        out.append(f"| {c.better} > {c.worse} | {c.source or '-'} | {world} | {r.metric} | "
                   f"{len(r.seeds)} | {fmt(r.better, 4)} | {fmt(r.worse, 4)} | {gap} | "
                   f"{r.verdict} |")
    out += ["", "Paired by seed (each seed draws its own logs and evaluation users, and its "
            "own world where the world column says so, shared by both agents); 95% Student-t "
            "interval over the common seeds, per claim "
            "(not adjusted across claims). *reproduced*: the interval lies above 0; "
            "*reversed*: below 0; *not separated*: it contains 0.", ""]
    return out
