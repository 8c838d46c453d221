"""1-IPS: importance-weighted cross-entropy on logged positives (Ma et al., WWW 2020)."""

from __future__ import annotations

from typing import ClassVar

from agents.two_stage.base import CandidateGenerator


class OneIPS(CandidateGenerator):
    """1-IPS: coef_i = w_i, the clipped, self-normalised p_theta(a_i|s_i) / pscore_i.

    Treats the generator as if it were the whole system (Ma et al. 2020, Sec. 3).
    """

    name: ClassVar[str] = "ips"

    def row_terms(self, batch, view, generator):
        return self.weights(batch, view), None
