"""Model selection for two-stage agents that reads no ground truth (issue 18).

A validation split of the training log (whole logged visits) and a self-normalised
inverse-propensity (SNIPS) estimate, on that split, of the two-stage value of a
deterministic candidate generator: the click of the item the deployed ranker picks among
the generator's k nominations.

For a logged row i (context s_i, logged item a_i, click r_i, logging probability pscore_i
of a_i) and a deterministic generator whose nominations the ranker turns into the pick
g(s_i), the target's probability of a_i is 1[g(s_i) = a_i], so (Swaminathan & Joachims,
"The Self-Normalized Estimator for Counterfactual Learning", NeurIPS 2015)

    V_SNIPS = sum_i r_i 1[g(s_i) = a_i] / pscore_i  /  sum_i 1[g(s_i) = a_i] / pscore_i.

This holds for both logging protocols of the family: ranker-shown logs (``pscore`` is the
probability that the ranker showed a_i) and the paper's visits of items drawn without
replacement (``pscore`` is a_i's inclusion probability, so sum over a visit's rows of
1[g = a] r / pscore is unbiased for the pick's click).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.two_stage.ranker import greedy_slate, with_bias_column
from recsim_envs.two_stage.view import TwoStageView


class ValidationSplit(NamedTuple):
    """Row indices (sorted) of the training and validation parts of a log."""

    train: np.ndarray
    valid: np.ndarray


def split_rows(dataset: LoggedDataset, fraction: float, seed: int) -> ValidationSplit:
    """Hold out about ``fraction`` of the logged visits (a visit's rows stay together).

    Visits are single rows for ranker-shown logs and ``logged_per_user`` consecutive rows
    for the paper's protocol. ``fraction`` in (0, 1); at least one visit on each side.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    n = len(dataset)
    visit = np.arange(n) // TwoStageView.of(dataset).rows_per_visit
    n_visits = int(visit[-1]) + 1
    if n_visits < 2:
        raise ValueError("a validation split needs at least two logged visits")
    n_valid = min(max(1, round(fraction * n_visits)), n_visits - 1)
    held = np.random.default_rng(seed).permutation(n_visits)[:n_valid]
    mask = np.isin(visit, held)
    return ValidationSplit(np.flatnonzero(~mask), np.flatnonzero(mask))


class ShownItemSNIPS:
    """SNIPS of a deterministic generator's two-stage value on held-out rows (see module).

    Args:
        dataset: the log; its view's ``ranker_weights`` and ``item_features`` define the
            deployed greedy ranker.
        rows: (m,) the validation rows.
    """

    def __init__(self, dataset: LoggedDataset, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.context = np.asarray(dataset.context[rows], dtype=np.float32)
        self.action = np.asarray(dataset.action[rows], dtype=np.int64)
        self.reward = np.asarray(dataset.reward[rows], dtype=np.float64)
        self.inv_pscore = 1.0 / np.asarray(dataset.pscore[rows], dtype=np.float64)
        view = TwoStageView.of(dataset)
        items = with_bias_column(np.asarray(view.item_features, dtype=np.float32))
        item_side = items @ np.asarray(view.ranker_weights, dtype=np.float32).T
        self._ranker = with_bias_column(self.context) @ item_side.T  # (m, N) ranker scores

    def picks(self, nominated: np.ndarray) -> np.ndarray:
        """The ranker's pick (m,) among each row's nominated items (m, k)."""
        nominated = np.asarray(nominated, dtype=np.int64)
        scores = np.take_along_axis(self._ranker, nominated, axis=1)
        return greedy_slate(scores, nominated, 1)[:, 0]

    def value(self, nominated: np.ndarray) -> tuple[float, int]:
        """(V_SNIPS, number of rows where the pick is the logged item); V is nan when no
        row matches (the estimate has no support)."""
        match = self.picks(nominated) == self.action
        w = match * self.inv_pscore
        total = float(w.sum())
        if total == 0.0:
            return math.nan, 0
        return float((w * self.reward).sum() / total), int(match.sum())


def better(candidate: float, best: float) -> bool:
    """Strictly better validation value (nan never wins; ties keep the earlier model)."""
    return not math.isnan(candidate) and (math.isnan(best) or candidate > best)
