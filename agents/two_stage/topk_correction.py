"""Top-K off-policy correction (Chen et al., WSDM 2019) as a two-stage candidate generator."""

from __future__ import annotations

from typing import ClassVar

from agents.two_stage.base import CandidateGenerator, importance_weights


class TopKCorrection(CandidateGenerator):
    """Top-K off-policy correction (Chen et al., "Top-K Off-Policy Correction for a REINFORCE
    Recommender System", WSDM 2019): the 1-IPS weight times lambda_K = K (1 - p(a|s))^(K-1),
    with K = n_candidates, then self-normalised (lambda_K treated as a constant)."""

    name: ClassVar[str] = "topk_correction"

    def row_terms(self, batch, view, generator):
        cfg = self.config
        log_p_a = view.log_p.gather(1, view.a_col[:, None])[:, 0].detach()
        k = self.shapes.n_candidates
        lam = k * (1.0 - log_p_a.exp()).clamp_min(0.0).pow(k - 1)
        w = importance_weights(log_p_a, batch.pscore, cfg.weight_clip, False) * lam
        return (w / w.mean().clamp_min(1e-12) if cfg.self_normalise else w), None
