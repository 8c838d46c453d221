"""Off-policy selection metrics on small tables worked by hand."""

from __future__ import annotations

import math

import pytest

from recsim_envs.ope.selection import (
    estimator_ranking,
    regret_at_k,
    selection_table,
    sharpe_ratio_at_k,
    spearman,
)

# Five candidates A..E with true values 10, 8, 6, 4, 2; the behaviour policy's value is 5.
# Estimator X estimates A 3, B 9, C 7, D no support, E 8, so it ranks
#   B (9), E (8), C (7), A (3), then D (unsupported: after every supported candidate).
# True values in X's order: 8, 2, 6, 10, 4.
TRUTH = [10.0, 8.0, 6.0, 4.0, 2.0]
X = [3.0, 9.0, 7.0, None, 8.0]
BEHAVIOUR = 5.0


def test_estimator_ranking_puts_unsupported_candidates_last():
    assert estimator_ranking(X) == [1, 4, 2, 0, 3]
    # ties keep the given order; several unsupported keep theirs too
    assert estimator_ranking([1.0, None, 1.0, None, 2.0]) == [4, 0, 2, 1, 3]


def test_regret_at_k_by_hand():
    # regret@k = max V - max V over the top k: top-1 {B: 8} -> 10 - 8 = 2;
    # top-2 {B, E} -> 10 - 8 = 2; top-3 {B, E, C} -> 2; top-4 adds A (10) -> 0; top-5 -> 0.
    assert [regret_at_k(X, TRUTH, k) for k in range(1, 6)] == [2.0, 2.0, 2.0, 0.0, 0.0]


def test_sharpe_ratio_at_k_by_hand():
    # SharpeRatio@k = (best@k - 5) / std@k with the population std (ddof = 0):
    # k = 1: top {8}: std 0 -> undefined (None).
    # k = 2: {8, 2}: mean 5, std sqrt((9 + 9) / 2) = 3; (8 - 5) / 3 = 1.
    # k = 3: {8, 2, 6}: mean 16/3, squared deviations 64/9 + 100/9 + 4/9 = 168/9, / 3 -> 56/9,
    #        std sqrt(56)/3 = 2.49444; (8 - 5) / 2.49444 = 1.20268.
    # k = 4: {8, 2, 6, 10}: mean 6.5, squares 2.25 + 20.25 + 0.25 + 12.25 = 35, / 4 = 8.75,
    #        std 2.95804; (10 - 5) / 2.95804 = 1.69031.
    # k = 5: {8, 2, 6, 10, 4}: mean 6, squares 4 + 16 + 0 + 16 + 4 = 40, / 5 = 8, std 2.82843;
    #        (10 - 5) / 2.82843 = 1.76777.
    got = [sharpe_ratio_at_k(X, TRUTH, BEHAVIOUR, k) for k in range(1, 6)]
    assert got[0] is None
    assert got[1:] == pytest.approx([1.0, 3 / (math.sqrt(56) / 3), 5 / math.sqrt(8.75),
                                     5 / math.sqrt(8)])
    assert got[2] == pytest.approx(1.20268, abs=1e-5) and got[4] == pytest.approx(1.76777,
                                                                                  abs=1e-5)


def test_sharpe_ratio_in_scope_rls_form_by_hand():
    # SCOPE-RL's code: sample std (ddof = 1), numerator clipped at 0.
    # k = 2: {8, 2}: sample std sqrt(18 / 1) = 4.24264; (8 - 5) / 4.24264 = 0.70711, the
    #        paper form (1.0) / sqrt(2).
    # k = 3: {8, 2, 6}: sample std sqrt((168/9) / 2) = 3.05505; 3 / 3.05505 = 0.98198.
    got = [sharpe_ratio_at_k(X, TRUTH, BEHAVIOUR, k, form="scope_rl") for k in (1, 2, 3)]
    assert got[0] is None
    assert got[1] == pytest.approx(1 / math.sqrt(2)) and got[2] == pytest.approx(0.98198,
                                                                                 abs=1e-5)
    # top-2 true values {3, 1}, behaviour 1: paper 2 / 1 = 2.000, SCOPE-RL 2 / sqrt(2)
    assert sharpe_ratio_at_k([1.0, 0.5], [3.0, 1.0], 1.0, 2) == pytest.approx(2.0)
    assert sharpe_ratio_at_k([1.0, 0.5], [3.0, 1.0], 1.0, 2,
                             form="scope_rl") == pytest.approx(math.sqrt(2))
    # no top-k candidate beats the behaviour policy: negative in the paper's form, 0 in
    # SCOPE-RL's
    assert sharpe_ratio_at_k([1.0, 0.5], [3.0, 1.0], 10.0, 2) == pytest.approx(-7.0)
    assert sharpe_ratio_at_k([1.0, 0.5], [3.0, 1.0], 10.0, 2, form="scope_rl") == 0.0
    with pytest.raises(ValueError, match="form must be one of"):
        sharpe_ratio_at_k(X, TRUTH, BEHAVIOUR, 2, form="ddof1")


def test_a_perfect_estimator_has_no_regret_and_the_highest_early_sharpe_ratio():
    perfect = [10.0, 8.0, 6.0, 4.0, 2.0]
    assert [regret_at_k(perfect, TRUTH, k) for k in (1, 3)] == [0.0, 0.0]
    # k = 2: {10, 8}: std 1 -> (10 - 5) / 1 = 5
    assert sharpe_ratio_at_k(perfect, TRUTH, BEHAVIOUR, 2) == pytest.approx(5.0)
    assert spearman(perfect, TRUTH) == pytest.approx(1.0)


def test_spearman_by_hand_with_an_unsupported_candidate():
    # ranks (ascending) of X with D below every supported one: D 1, A 2, C 3, E 4, B 5;
    # true ranks: E 1, D 2, C 3, B 4, A 5. d = A -3, B 1, C 0, D -1, E 3; sum d^2 = 20;
    # rho = 1 - 6 * 20 / (5 * (25 - 1)) = 0.
    assert spearman(X, TRUTH) == pytest.approx(0.0, abs=1e-12)
    # reversed estimates -> -1; ties get average ranks: [1, 1, 2] vs [1, 2, 3]:
    # ranks (1.5, 1.5, 3) vs (1, 2, 3): centred (-.5, -.5, 1) . (-1, 0, 1) = 1.5;
    # norms sqrt(1.5) * sqrt(2) -> 1.5 / sqrt(3) = 0.86603
    assert spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert spearman([1.0, 1.0, 2.0], [1.0, 2.0, 3.0]) == pytest.approx(1.5 / math.sqrt(3))


def test_undefined_cases_are_none_not_zero():
    assert spearman([None, None, None], TRUTH[:3]) is None  # no candidate supported
    assert spearman([1.0], [1.0]) is None
    assert sharpe_ratio_at_k([1.0, 2.0], [3.0, 3.0], 1.0, 2) is None  # equal values


@pytest.mark.parametrize("call, match", [
    (lambda: regret_at_k(X, TRUTH, 0), "k must be in 1..5"),
    (lambda: regret_at_k(X, TRUTH, 6), "k must be in 1..5"),
    (lambda: regret_at_k(X[:4], TRUTH, 1), "4 estimates for 5 true values"),
    (lambda: spearman([float("nan"), 1.0], [1.0, 2.0]), "use None for 'no support'"),
    (lambda: regret_at_k([1.0, 2.0], [1.0, float("inf")], 1), "must be finite"),
    (lambda: sharpe_ratio_at_k(X, TRUTH, float("nan"), 2), "behaviour_value"),
    (lambda: selection_table({"ips": {"Z": 1.0}}, {"A": 1.0}, None), "without a true value"),
])
def test_bad_input_is_rejected_with_a_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_selection_table_scores_every_estimator_over_the_same_candidates():
    truths = dict(zip("ABCDE", TRUTH, strict=True))
    estimates = {"x": dict(zip("ABCDE", X, strict=True)),
                 "perfect": dict(zip("ABCE", [10.0, 8.0, 6.0, 2.0], strict=True))}  # D missing
    rows = selection_table(estimates, truths, BEHAVIOUR)
    assert [r.estimator for r in rows] == ["perfect", "x"]
    x = rows[1]
    assert x.ranking == ["B", "E", "C", "A", "D"] and x.n_supported == 4 and x.n_candidates == 5
    assert x.regret == {1: 2.0, 2: 2.0, 3: 2.0, 4: 0.0, 5: 0.0}
    assert x.sharpe[1] is None and x.sharpe[2] == pytest.approx(1.0)
    # "perfect" lacks D, which therefore ranks last: A B C E D
    assert rows[0].ranking == ["A", "B", "C", "E", "D"] and rows[0].n_supported == 4
    assert selection_table(estimates, truths, None)[0].sharpe == {}
