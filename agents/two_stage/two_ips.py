"""2-IPS: the two-stage off-policy gradient of Ma et al., WWW 2020 (Eq. 9, sampled).

:func:`sample_sets` draws the candidate sets from the tempered policy, :func:`two_ips_terms`
turns them into the per-row coefficient and the co-candidate term, :class:`TwoIPS` is the
agent.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from agents.two_stage.base import CandidateGenerator


def two_ips_terms(
    log_p: torch.Tensor,
    ranker_scores: torch.Tensor,
    a_col: torch.Tensor,
    sets: torch.Tensor,
    weights: torch.Tensor,
    ranker_temperature: float,
    sets_sorted: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two 2-IPS terms for given candidate sets, vectorised over rows and sets.

    Args:
        log_p: (b, P) log p_theta over the pool (carries gradient).
        ranker_scores: (b, P) the ranker's scores of the pool items.
        a_col: (b,) pool column of each row's logged item.
        sets: (b, tau, k) pool columns drawn from the tempered policy (repeats allowed; the
            logged item is added by this function).
        weights: (b,) importance weights w_i (detached).
        ranker_temperature: T_q of the restricted ranker softmax.
        sets_sorted: the caller guarantees each set is sorted (skips a sort).

    Returns:
        coef (b,) = mean_m w_i q_m(a_i), and slate (b,) = mean_m w_i q_m(a_i) sum_{j in A_m,
        j != a_i} log p(j|s_i), with A_m = {a_i} united with the distinct items of set m and
        q_m(a_i) = exp(r_a / T_q) / sum_{j in A_m} exp(r_j / T_q) (Ma et al. 2020, Eq. 9 with
        the authors' sampled approximation).
    """
    b, tau, k = sets.shape
    if not sets_sorted:
        sets = sets.sort(dim=2).values
    # In a sorted set, repeats are adjacent: keep the first of each run, and drop the logged
    # item (it is counted once, separately).
    co = torch.ones_like(sets, dtype=torch.bool)
    co[:, :, 1:] = sets[:, :, 1:] != sets[:, :, :-1]
    co &= sets != a_col.view(b, 1, 1)
    flat = sets.reshape(b, -1)
    r = ranker_scores.gather(1, flat).view(b, tau, k) / ranker_temperature
    r_a = ranker_scores.gather(1, a_col[:, None]) / ranker_temperature  # (b, 1)
    top = torch.maximum(r.amax(dim=2), r_a)  # (b, tau), for a stable softmax
    norm = ((r - top[:, :, None]).exp() * co).sum(dim=2) + (r_a - top).exp()
    wq = weights[:, None] * (r_a - top).exp() / norm  # (b, tau): w_i q_m(a_i)
    # sum_m wq_m sum_{j in co_m} log p_j = sum_j log p_j * (sum_m wq_m [j in co_m]): scatter the
    # detached coefficients onto the pool first, so the gradient path is one (b, P) product.
    coeff = torch.zeros_like(log_p, dtype=wq.dtype)
    coeff.scatter_add_(1, flat, (wq[:, :, None] * co).view(b, -1))
    slate = (coeff * log_p).sum(dim=1) / tau
    return wq.mean(dim=1), slate


def sample_sets(
    probs: torch.Tensor, n_sets: int, set_size: int, generator: torch.Generator
) -> torch.Tensor:
    """``n_sets`` sets of ``set_size`` i.i.d. draws from each row of ``probs`` (b, P).

    Returns (b, n_sets, set_size) int64 column indices, each set sorted. Inverse-CDF
    sampling with sorted uniforms: the order statistics of k uniforms are the normalised
    cumulative sums of k + 1 exponentials (no sort needed), and the inverse CDF is monotone,
    so every set comes out sorted (repeats adjacent) and the search visits the CDF in order.
    A set of i.i.d. draws is unordered, so sorting it changes nothing. Exact up to float
    rounding of the cumulative sums; faster than ``torch.multinomial`` for many draws.
    """
    b, n_cols = probs.shape
    cdf = probs.double().cumsum(dim=1)
    uniforms = torch.rand(b, n_sets, set_size + 1, generator=generator, dtype=torch.float64)
    spacings = -uniforms.clamp_min_(1e-300).log_()  # rand may return exactly 0
    stats = spacings.cumsum(dim=2)
    u = (stats[:, :, :-1] / stats[:, :, -1:]) * cdf[:, -1:, None]
    idx = torch.searchsorted(cdf, u.view(b, -1), right=True)
    return idx.clamp_max_(n_cols - 1).view(b, n_sets, set_size)


class TwoIPS(CandidateGenerator):
    """2-IPS (Ma et al., WWW 2020, Eq. 9 and the authors' sampled estimator).

    For each logged positive, tau = ``n_sets`` sets of k = ``n_candidates`` draws with
    replacement from softmax(logits / ``policy_temperature``) are drawn in one
    inverse-CDF search over b rows x (tau k) draws (see :func:`sample_sets`); the logged
    item is added to every set.
    See :func:`two_ips_terms` for the weights.
    """

    name: ClassVar[str] = "two_ips"

    def row_terms(self, batch, view, generator):
        cfg = self.config
        w = self.weights(batch, view)
        k, tau = self.shapes.n_candidates, cfg.n_sets
        with torch.no_grad():
            tempered = (view.logits[:, view.draw_from :] / cfg.policy_temperature).softmax(dim=1)
            sets = sample_sets(tempered, tau, k, generator) + view.draw_from
            scores = self.ranker_scores(batch.x, view.pool)
        coef, slate = two_ips_terms(
            view.log_p, scores, view.a_col, sets, w, cfg.ranker_temperature, sets_sorted=True
        )
        return coef, -cfg.alpha * slate.mean()
