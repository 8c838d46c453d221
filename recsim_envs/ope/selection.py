"""Off-policy selection scored against the truth: Spearman, regret@k and SharpeRatio@k.

Given K candidate policies with true (online) values V_1..V_K and one estimator's
estimates, rank the candidates by the estimates; T_k is the estimator's top-k set.

- Spearman's rank correlation between the estimates and the true values.
- regret@k = max_j V_j - max_{j in T_k} V_j: what deploying the best of the estimator's
  top-k loses against the best candidate (Doroudi et al., 2017; as in SCOPE-RL).
- SharpeRatio@k = (max_{j in T_k} V_j - V_behaviour) / std_{j in T_k}(V_j) (Kiyohara,
  Kishimoto, Kawakami, Kobayashi, Nakata and Saito, "Towards Assessing and Benchmarking
  Risk-Return Tradeoff of Off-Policy Evaluation", ICLR 2024; SCOPE-RL's
  ``OffPolicySelection``). Two forms, each labelled where it is shown:

  - ``form="paper"``: the population standard deviation (``1/k`` inside the square root,
    ddof = 0), as the paper and SCOPE-RL's documentation define std@k; the numerator as
    defined, so it is negative when no top-k candidate beats the behaviour policy.
  - ``form="scope_rl"``: as SCOPE-RL's code computes it: the sample standard deviation
    (ddof = 1) and the numerator clipped at 0. At k = 2 it is the paper form / sqrt(2).

  SCOPE-RL counts the behaviour policy among the candidates; the leaderboard does too (the
  agent named ``logging`` is a candidate like any other non-privileged agent). Where the
  behaviour policy is the best candidate, no top-k set beats it: SharpeRatio@k is <= 0 in
  the paper form and 0 in SCOPE-RL's for every estimator, and carries no information.

Conventions of this module:

- An estimate of ``None`` means the estimator has no support for that candidate (it could
  not estimate it at all). Such candidates are ranked after every supported candidate; among
  themselves they keep the order in which they were given (give them sorted by name for a
  deterministic table). Spearman treats them as tied for the last places.
- Supported candidates with equal estimates keep their given order as well (a stable sort).
- SharpeRatio@k is undefined where the top-k values have zero spread: always at k = 1
  (one value), and wherever all k values are equal. It is then reported as ``None``
  (shown as "n/a"), never as 0 or infinity; tables and plots start at k = 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SelectionRow",
    "estimator_ranking",
    "regret_at_k",
    "selection_table",
    "sharpe_ratio_at_k",
    "spearman",
]


def _validate(estimates: Sequence[float | None], truths: Sequence[float]) -> np.ndarray:
    v = np.asarray(truths, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"truths must be a non-empty flat sequence, got shape {v.shape}")
    if len(estimates) != v.size:
        raise ValueError(f"{len(estimates)} estimates for {v.size} true values: give one "
                         "estimate (or None for no support) per candidate")
    if not np.all(np.isfinite(v)):
        raise ValueError("true values must be finite")
    for e in estimates:
        if e is not None and not math.isfinite(e):
            raise ValueError(f"estimate {e!r} is not finite; use None for 'no support'")
    return v


def estimator_ranking(estimates: Sequence[float | None]) -> list[int]:
    """Candidate indices in the estimator's order, best first (K,).

    Supported candidates by estimate, descending (stable: ties keep the given order); then
    the unsupported ones (``None``) in the given order.
    """
    supported = [i for i, e in enumerate(estimates) if e is not None]
    supported.sort(key=lambda i: -float(estimates[i]))  # type: ignore[arg-type]
    return supported + [i for i, e in enumerate(estimates) if e is None]


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n} (the number of candidates), got {k}")


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (n,), ascending, ties given their average rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.size)
    sorted_x = x[order]
    start = 0
    for end in range(1, x.size + 1):  # K candidates, a handful: a loop is clearest
        if end == x.size or sorted_x[end] != sorted_x[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(estimates: Sequence[float | None], truths: Sequence[float]) -> float | None:
    """Spearman's rank correlation between ``estimates`` (K,) and ``truths`` (K,).

    The Pearson correlation of the average ranks. Unsupported candidates (``None``) are
    tied below every supported one. None where it is undefined: fewer than 2 candidates,
    or either side constant (e.g. no candidate supported).
    """
    v = _validate(estimates, truths)
    if v.size < 2:
        return None
    lowest = min((e for e in estimates if e is not None), default=0.0)
    est = np.array([e if e is not None else lowest - 1.0 for e in estimates], dtype=np.float64)
    re, rv = _average_ranks(est), _average_ranks(v)
    re, rv = re - re.mean(), rv - rv.mean()
    denom = math.sqrt(float((re**2).sum() * (rv**2).sum()))
    if denom == 0.0:
        return None
    return float((re * rv).sum() / denom)


def regret_at_k(estimates: Sequence[float | None], truths: Sequence[float], k: int) -> float:
    """regret@k = max_j V_j - max_{j in T_k} V_j (>= 0; 0 when the best is in the top-k)."""
    v = _validate(estimates, truths)
    _check_k(k, v.size)
    top = estimator_ranking(estimates)[:k]
    return float(v.max() - v[top].max())


SHARPE_FORMS = ("paper", "scope_rl")


def sharpe_ratio_at_k(estimates: Sequence[float | None], truths: Sequence[float],
                      behaviour_value: float, k: int, form: str = "paper") -> float | None:
    """SharpeRatio@k = (best@k - V_behaviour) / std@k (Kiyohara et al., ICLR 2024).

    best@k is the largest true value in the estimator's top-k, std@k the standard deviation
    of the true values in the top-k: the population one (ddof = 0) with ``form="paper"``;
    with ``form="scope_rl"`` the sample one (ddof = 1) and the numerator clipped at 0, as
    SCOPE-RL's code computes it. None where std@k is 0 (k = 1, or k equal values): the
    ratio is undefined there.
    """
    if form not in SHARPE_FORMS:
        raise ValueError(f"form must be one of {SHARPE_FORMS}, got {form!r}")
    v = _validate(estimates, truths)
    _check_k(k, v.size)
    if not math.isfinite(behaviour_value):
        raise ValueError(f"behaviour_value must be finite, got {behaviour_value}")
    top = v[estimator_ranking(estimates)[:k]]
    std = float(top.std(ddof=0 if form == "paper" else 1)) if k > 1 else 0.0
    if std == 0.0:
        return None
    excess = float(top.max() - behaviour_value)
    if form == "scope_rl":
        excess = max(excess, 0.0)
    return excess / std


@dataclass
class SelectionRow:
    """One estimator's off-policy selection scores over K candidates.

    Attributes:
        estimator: the estimator's name.
        n_candidates: K.
        n_supported: candidates the estimator could estimate (the others rank last).
        spearman: rank correlation (None where undefined).
        regret: {k: regret@k} for k = 1..K.
        sharpe: {k: SharpeRatio@k} for k = 1..K, the paper's form (None where undefined,
            always at k = 1); empty where there is no behaviour value.
        sharpe_scope_rl: the same in SCOPE-RL's form (sample std, numerator clipped at 0).
        ranking: candidate names in the estimator's order, best first.
    """

    estimator: str
    n_candidates: int
    n_supported: int
    spearman: float | None
    regret: dict[int, float] = field(default_factory=dict)
    sharpe: dict[int, float | None] = field(default_factory=dict)
    sharpe_scope_rl: dict[int, float | None] = field(default_factory=dict)
    ranking: list[str] = field(default_factory=list)


def selection_table(estimates: Mapping[str, Mapping[str, float | None]],
                    truths: Mapping[str, float],
                    behaviour_value: float | None) -> list[SelectionRow]:
    """Selection scores of every estimator over the same candidates.

    Args:
        estimates: {estimator: {candidate: estimate or None}}; a candidate missing from an
            estimator's mapping counts as unsupported.
        truths: {candidate: true (online) value}; defines the candidates.
        behaviour_value: the behaviour policy's true value (SharpeRatio's risk-free
            baseline); None leaves :attr:`SelectionRow.sharpe` empty.

    Returns:
        One row per estimator, in sorted estimator order. Candidates are taken in sorted
        name order, which fixes the order among ties and unsupported candidates.
    """
    names = sorted(truths)
    if not names:
        raise ValueError("selection_table needs at least one candidate")
    unknown = sorted({c for est in estimates.values() for c in est} - set(names))
    if unknown:
        raise ValueError(f"estimates for candidates without a true value: {unknown}")
    v = [float(truths[n]) for n in names]
    rows = []
    for estimator in sorted(estimates):
        est = [estimates[estimator].get(n) for n in names]
        row = SelectionRow(
            estimator=estimator, n_candidates=len(names),
            n_supported=sum(e is not None for e in est), spearman=spearman(est, v),
            ranking=[names[i] for i in estimator_ranking(est)],
        )
        for k in range(1, len(names) + 1):
            row.regret[k] = regret_at_k(est, v, k)
            if behaviour_value is not None:
                row.sharpe[k] = sharpe_ratio_at_k(est, v, behaviour_value, k)
                row.sharpe_scope_rl[k] = sharpe_ratio_at_k(est, v, behaviour_value, k,
                                                           form="scope_rl")
        rows.append(row)
    return rows
