"""Off-policy columns, ``ope.csv`` and off-policy selection tables of a leaderboard.

Off-policy cells, per (agent, estimator), from the rows' ``ope`` entries: the estimate
averaged over the seeds where the estimator had an estimate (``estimate`` not None: status
"supported" or "low_ess"), the count of those seeds, the mean effective sample size over
them and the mean error (estimate - online value of the same seed). "no support" where it
had an estimate in no seed. Flags (:mod:`recsim_envs.ope.estimate`): "low ESS j" (j seeds
shown with an ESS below the minimum) and "thin j" (j seeds whose target puts more than 1% of
its mass on actions the behaviour almost never logs). Skylines (``ope`` None) have no cells.
Estimates are of the online value (``online.value.mean``), not of the primary score where
the two differ (prompt: optimality). ``ope.csv`` labels each interval "95%" (calibrated) or
"model" (conditional on a fitted model or otherwise not a 95% interval over logs).

Selection, per environment (:mod:`recsim_envs.ope.selection`): candidates are the
non-privileged agents; each estimator ranks them by its seed-mean estimate over the seeds
whose status is "supported" (low-ESS estimates are shown in the cells but do not rank;
agents it never supported rank after all supported ones, in name order), and the ranking is
scored
against the seed-mean online values: Spearman, regret@k and SharpeRatio@k with the
behaviour policy's seed-mean online value as the risk-free baseline. Seed means, not
per-seed scores averaged: with 3 seeds the per-seed rankings are noisier than the
question asked ("which agent would this estimator have me deploy?").
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.fmt import fmt
from benchmarks.references import behaviour_agent
from recsim_envs.ope.estimate import THIN_MASS_FLAG, WEIGHT_FREE
from recsim_envs.ope.selection import SelectionRow, selection_table

if TYPE_CHECKING:
    from benchmarks.leaderboard import Table

OPE_CSV_COLUMNS = ("env", "agent", "seed", "estimator", "estimate", "ci_low", "ci_high", "ess",
                   "online", "status", "interval")
_ORDER = ("ips", "snips", "dm", "dr", "pdis", "wpdis", "kernel_is", "rollout")


def estimator_order(name: str) -> tuple[int, str]:
    """Sort key: the usual estimators in a fixed order, then any other by name."""
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)


@dataclass
class OpeCell:
    """One agent's off-policy result for one estimator, over its seeds."""

    estimator: str
    n_seeds: int
    n_supported: int
    estimate: float | None  # mean over supported seeds; None = no support in any seed
    error: float | None  # mean of (estimate - online value) over supported seeds
    ess: float | None  # mean effective sample size over supported seeds that report one
    n_low_ess: int = 0  # seeds shown with status "low_ess"
    n_thin: int = 0  # seeds whose thin mass exceeds THIN_MASS_FLAG (importance-weighted only)
    ranked: float | None = None  # mean over seeds that are not low ESS: what selection ranks


@dataclass
class OpeRecord:
    """One line of ``ope.csv``."""

    env: str
    agent: str
    seed: int
    estimator: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ess: float | None
    online: float
    status: str = ""  # supported / low_ess / no_support ("" in rows older than statuses)
    interval: str = ""  # "95%" (calibrated), "model" (not a 95% interval), "" (none)


@dataclass
class Selection:
    """The selection rows of one environment and what they were computed over."""

    candidates: list[str]
    behaviour: str | None
    behaviour_value: float | None
    rows: list[SelectionRow] = field(default_factory=list)
    best_value: float | None = None  # the best candidate's online value

    @property
    def behaviour_is_best(self) -> bool:
        """No candidate beats the behaviour policy: SharpeRatio@k says nothing then."""
        return (self.behaviour_value is not None and self.best_value is not None
                and self.behaviour_value >= self.best_value)


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


def _thin(o: dict[str, Any]) -> bool:
    """An importance-weighted estimate with more than THIN_MASS_FLAG thin mass."""
    thin = o.get("thin_mass")
    return (o.get("estimator") not in WEIGHT_FREE and o.get("estimate") is not None
            and thin is not None and thin > THIN_MASS_FLAG)


def _interval_label(o: dict[str, Any]) -> str:
    if o.get("estimate") is None or o.get("ci_low") is None or "calibrated" not in o:
        return ""  # no interval, or a row older than the label: not claimed either way
    return "95%" if o["calibrated"] else "model"


def attach_ope(table: Table, by_agent: dict[str, list[dict[str, Any]]]) -> None:
    """Fill ``table.estimators``, ``table.ope_records`` and every entry's ``ope``."""
    names = {k for rs in by_agent.values() for r in rs for k in (r.get("ope") or {})}
    table.estimators = sorted(names, key=estimator_order)
    for e in table.entries:
        rows = [r for r in by_agent[e.agent] if r["seed_index"] in set(e.seeds)]
        if e.privileged or any(r.get("ope") is None for r in rows):
            e.ope = None  # skylines: no off-policy rows at all
            continue
        e.ope = {}
        for k in table.estimators:
            have = [r for r in rows if k in r["ope"]]
            if not have:
                continue
            sup = [r for r in have if r["ope"][k].get("estimate") is not None]
            est = [float(r["ope"][k]["estimate"]) for r in sup]
            err = [float(r["ope"][k]["estimate"]) - r["online"]["value"]["mean"] for r in sup]
            ess = [float(r["ope"][k]["ess"]) for r in sup if r["ope"][k].get("ess") is not None]
            e.ope[k] = OpeCell(k, len(have), len(sup),
                               float(np.mean(est)) if est else None,
                               float(np.mean(err)) if err else None,
                               float(np.mean(ess)) if ess else None,
                               n_low_ess=sum(r["ope"][k].get("status") == "low_ess"
                                             for r in sup),
                               n_thin=sum(_thin(r["ope"][k]) for r in sup),
                               ranked=_mean([float(r["ope"][k]["estimate"]) for r in sup
                                             if r["ope"][k].get("status") != "low_ess"]))
            for r in have:
                o = r["ope"][k]
                table.ope_records.append(OpeRecord(
                    table.key, e.agent, int(r["seed_index"]), k, _num(o.get("estimate")),
                    _num(o.get("ci_low")) if o.get("estimate") is not None else None,
                    _num(o.get("ci_high")) if o.get("estimate") is not None else None,
                    _num(o.get("ess")), float(r["online"]["value"]["mean"]),
                    o.get("status") or ("no_support" if o.get("estimate") is None else ""),
                    _interval_label(o)))
    table.ope_records.sort(key=lambda r: (r.env, r.agent, r.seed, estimator_order(r.estimator)))


def select(table: Table) -> Selection | None:
    """Off-policy selection over ``table``'s non-privileged agents (None if < 2 of them or
    no estimator)."""
    cands = [e for e in table.entries if not e.privileged and e.ope is not None]
    if len(cands) < 2 or not table.estimators:
        return None
    behaviour = behaviour_agent([e.agent for e in cands])
    b_value = next((e.value for e in cands if e.agent == behaviour), None)
    # Low-ESS estimates are shown in the cells but do not rank: they rest on a handful of
    # rounds (issue 21: a deterministic sequential agent's PDIS at about -95%).
    estimates = {k: {e.agent: (e.ope[k].ranked if k in e.ope else None) for e in cands}
                 for k in table.estimators}
    rows = selection_table(estimates, {e.agent: e.value for e in cands}, b_value)
    rows.sort(key=lambda r: estimator_order(r.estimator))
    return Selection(sorted(e.agent for e in cands), behaviour, b_value, rows,
                     best_value=max(e.value for e in cands))


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


# ---------------------------------------------------------------------- rendering


_f = fmt


def _name(estimator: str) -> str:
    return estimator.upper().replace("_", " ")


def _ess(x: float | None) -> str:
    if x is None:
        return "ESS -"
    return f"ESS {x:.0f}" if x >= 10 else f"ESS {x:.1f}"


def _ope_cell(c: OpeCell | None) -> str:
    if c is None:
        return "-"
    if c.estimate is None:
        return f"no support (0/{c.n_seeds})"
    flags = (f" · low ESS {c.n_low_ess}" if c.n_low_ess else "") + (
        f" · thin {c.n_thin}" if c.n_thin else "")
    return (f"{_f(c.estimate)} ({_f(c.error, sign=True)}) · {c.n_supported}/{c.n_seeds} · "
            f"{_ess(c.ess)}{flags}")


def ope_markdown(table: Table) -> list[str]:
    """The off-policy table of one environment (agents in rank order)."""
    if not table.estimators:
        return []
    out = ["### Off-policy estimates", "",
           "| agent | online value | " + " | ".join(_name(k) for k in table.estimators) + " |",
           "|---|---|" + "|".join(["---"] * len(table.estimators)) + "|"]
    for e in table.entries:
        if e.ope is None:
            cells = ["skyline: none"] + ["-"] * (len(table.estimators) - 1)
        else:
            cells = [_ope_cell(e.ope.get(k)) for k in table.estimators]
        out.append(f"| {e.label} | {_f(e.value)} | " + " | ".join(cells) + " |")
    out += ["", f"Cell: estimate of the online value ({table.measure}) averaged over the seeds "
            "with support (its mean error against the online value of the same seeds) · "
            "seeds with an estimate / seeds · mean effective sample size. \"no support\": no "
            "seed had support (the target puts mass on actions the behaviour policy never "
            "takes, or no weight is non-zero; never shown as 0). \"low ESS j\": j seeds shown "
            "with an effective sample size below 10 (the estimate rests on a handful of "
            "rounds). \"thin j\": in j seeds the target puts more than 1% of its mass on "
            "actions the behaviour policy takes with probability below 1/(10 n), which a log "
            "of n rounds almost never holds: IPS and SNIPS miss their value. Per-seed values "
            "with intervals are in `ope.csv`, each labelled \"95%\" (a 95% interval over logs, "
            "calibrated) or \"model\" (conditional on a fitted model, or with low ESS or thin "
            "support: not a 95% interval).", ""]
    return out


def selection_markdown(table: Table) -> list[str]:
    """The off-policy selection table of one environment."""
    sel = table.selection
    if sel is None:
        return []
    n = len(sel.candidates)
    ks = list(range(2, n + 1))
    head = ["estimator", "supported", "Spearman", "regret@1"] + (["regret@3"] if n >= 3 else [])
    has_sr = sel.behaviour_value is not None
    head += [f"SR@{k}" for k in ks] if has_sr else []
    head += [f"SR@{k} (SCOPE-RL)" for k in ks[:1]] if has_sr and ks else []
    out = ["### Off-policy selection", "", "| " + " | ".join(head) + " |",
           "|" + "|".join(["---"] * len(head)) + "|"]
    for r in sel.rows:
        cells = [_name(r.estimator), f"{r.n_supported}/{r.n_candidates}",
                 _f(r.spearman, 3) or "n/a", _f(r.regret[1])]
        if n >= 3:
            cells.append(_f(r.regret[3]))
        if has_sr:
            cells += [_f(r.sharpe[k], 3) or "n/a" for k in ks]
            cells += [_f(r.sharpe_scope_rl[k], 3) or "n/a" for k in ks[:1]]
        out.append("| " + " | ".join(cells) + " |")
    sharpe = (
        "SR@k = SharpeRatio@k (Kiyohara et al., ICLR 2024): (best online value in the top k - "
        f"online value of the behaviour policy `{sel.behaviour}`, {_f(sel.behaviour_value)}) / "
        "population std of the top-k online values (the paper's form); undefined (n/a) where "
        "the top k have equal values, always at k = 1. SR@2 (SCOPE-RL): as SCOPE-RL's code "
        "computes it, with the sample std (ddof = 1) and the numerator clipped at 0 "
        "(`recsim_envs.ope.selection.sharpe_ratio_at_k(..., form=\"scope_rl\")` at any k)."
        if has_sr else
        "No SharpeRatio@k: no behaviour policy (agent named *logging*) in this table.")
    if sel.behaviour_is_best:
        sharpe += (f" **The behaviour policy `{sel.behaviour}` is the best candidate here**: no "
                   "top-k set beats it, so SR@k is <= 0 (SCOPE-RL's form: 0) for every "
                   "estimator and carries no information in this table.")
    out += ["", f"Over the {n} non-privileged agents; each estimator ranks them by its "
            "seed-mean estimate over the seeds where its status is supported (low-ESS "
            "estimates do not rank; agents it never supported rank after all supported ones, "
            "in name order) and is scored against their seed-mean online values. Spearman: rank "
            "correlation; regret@k: best online value minus the best among the estimator's "
            f"top k. {sharpe}", ""]
    return out


def _csv_num(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def ope_csv(tables: list[Table]) -> str:
    """Long format: one line per (environment, agent, seed, estimator).

    Columns ``env, agent, seed, estimator, estimate, ci_low, ci_high, ess, online, status,
    interval``: env is ``suite/environment``, seed the seed index, ``online`` the online
    value of that cell (``online.value.mean``); estimate, ci_low and ci_high are empty where
    there was no support; ``status`` is supported / low_ess / no_support (empty in rows
    older than the statuses); ``interval`` is "95%" for a calibrated interval, "model" for
    one that is not a 95% interval over logs, empty without one (or in older rows). Skylines
    have no lines.
    Floats are written exactly (shortest round trip).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OPE_CSV_COLUMNS)
    for t in sorted(tables, key=lambda t: t.key):
        for r in t.ope_records:
            writer.writerow([r.env, r.agent, r.seed, r.estimator, _csv_num(r.estimate),
                             _csv_num(r.ci_low), _csv_num(r.ci_high), _csv_num(r.ess),
                             _csv_num(r.online), r.status, r.interval])
    return buf.getvalue()
