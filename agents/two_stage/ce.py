"""CE: cross-entropy on logged positives (the baseline of Ma et al., WWW 2020)."""

from __future__ import annotations

from typing import ClassVar

import torch

from agents.two_stage.base import CandidateGenerator


class CE(CandidateGenerator):
    """Cross-entropy on logged positives: coef_i = 1 (ignores propensities and the ranker)."""

    name: ClassVar[str] = "ce"

    def row_terms(self, batch, view, generator):
        return torch.ones(len(batch.action)), None
