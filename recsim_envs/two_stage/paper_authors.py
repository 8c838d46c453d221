"""``TwoStagePaper-v0(regime="authors")``: the parts of the authors' code that change the result.

Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020), public code
(jiaqima/Off-Policy-2-Stage: run.py, model.py). Issue 18 measured, against the authors' own
checkpoints, that the order of 2-IPS and CE follows how often the ranker's favourites are
positives (authors' ranker: 97% of its top-5 over the catalogue, 95.7% of its picks among
the logging top-30), and that the authors' ranker gets there with movie-id parameters
trained on the very log the generator learns from. This module rebuilds those parts:

- logging model: a bilinear logistic model over the observable features **plus a learned
  per-movie bias** (the movie-id part of the authors' two-tower logging model), fitted on
  ``behaviour_cells`` random cells of the truth, used as a softmax (scaled to the median
  top-1 probability ``behaviour_top1``);
- ranker: the same form (bilinear + per-movie bias), fitted with BCE on the world log;
- the generator's training log **is** that world log (``log_paper_rounds`` returns its
  rows, with their exact inclusion probabilities), so the logged positives excluded at
  evaluation are the generator's own training positives, as in the code.

Not rebuilt: user-id embeddings (the observation stays the user's demographics), the
simulator's timestamp input, the authors' single-draw propensities (the exact inclusion
probability is kept) and their epoch selection on ground truth.

Each movie bias is published as an item feature column (``item_features`` gains two
columns: the logging model's bias, then the ranker's), so the ranker and the logging scorer
stay bilinear in public features ([x, 1] W [f, 1]^T) and agents can compute the ranker's
scores from ``system["ranker_weights"]``, as with the project's regime.

``ranker_bias_noise`` (the ranker-quality knob of experiments/two_stage_ranker_quality.toml)
adds N(0, (noise * sd(b))^2) to the ranker's movie biases, drawn from ``world_seed``: 0 is
the fitted ranker, larger values make its favourites less often positives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recsim_envs.two_stage.paper_world import (
    draw_without_replacement,
    inclusion_probabilities,
    scale_for_top1,
    softmax_rows,
)

BIAS_L2 = 1e-3
"""Penalty on the movie biases, sum(b^2) / n_rows: keeps a movie seen only as a positive
finite. Chosen from {1, 0.1, 0.01, 0.001} on generated ML-100K-format files (issue 18) as
the weakest, i.e. closest to the authors' unpenalised movie-id parameters: the ranker's
top-5 over the catalogue is then 0.97 positive (0.30 / 0.35 / 0.69 with the stronger
penalties; the authors' world 0.97), its pick among the logging top-30 1.00 (0.957) and
the logged movies 0.89 positive (0.76)."""


def fit_logistic_bilinear_bias(
    user_features: np.ndarray, item_features: np.ndarray, items: np.ndarray,
    labels: np.ndarray, n_items: int, l2: float = 1e-3, max_iter: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """BCE fit of sigmoid([x, 1] W [f, 1]^T + b_item) (full-batch L-BFGS, float64).

    Args:
        user_features: (n, d_u); item_features: (n, d_i) of each row's item; items: (n,)
            item ids; labels: (n,) in {0, 1}; n_items: catalogue size.

    Returns:
        W (d_u + 1, d_i + 1) and b (n_items,), both float64; movies without rows get b = 0.
    """
    import torch

    x = torch.from_numpy(np.hstack([user_features, np.ones((len(user_features), 1))]))
    f = torch.from_numpy(np.hstack([item_features, np.ones((len(item_features), 1))]))
    ids = torch.from_numpy(np.asarray(items, dtype=np.int64))
    y = torch.from_numpy(np.asarray(labels, dtype=np.float64))
    w = torch.zeros((x.shape[1], f.shape[1]), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_items, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = ((x @ w) * f).sum(dim=1) + b[ids]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        loss = loss + l2 * (w**2).mean() + BIAS_L2 * (b**2).sum() / len(y)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def _with_bias_columns(w: np.ndarray, column: int) -> np.ndarray:
    """W (d_u + 1, d_f + 1) -> (d_u + 1, d_f + 3) over items [f, b_logging, b_ranker, 1]:
    the user's constant picks item column ``column`` (0: logging bias, 1: ranker bias)."""
    d_f = w.shape[1] - 1
    out = np.zeros((w.shape[0], d_f + 3))
    out[:, :d_f] = w[:, :d_f]
    out[:, -1] = w[:, -1]
    out[-1, d_f + column] = 1.0
    return out


def fit_authors_system(config: Any, truth: np.ndarray, users: np.ndarray,
                       items: np.ndarray) -> dict[str, np.ndarray]:
    """Logging model, world log (with exact pscore), ranker of the authors' regime.

    Returns the arrays of ``_fit_paper_system`` plus ``item_features`` (n_items, d_f + 2)
    (the two bias columns appended) and ``log_pscore``.
    """
    rng = np.random.default_rng(config.world_seed)
    n_users, n_items = truth.shape
    cu = rng.integers(0, n_users, size=config.behaviour_cells)
    ci = rng.integers(0, n_items, size=config.behaviour_cells)
    w_b, b_b = fit_logistic_bilinear_bias(users[cu], items[ci], ci, truth[cu, ci], n_items)
    feats = np.hstack([items, b_b[:, None], np.zeros((n_items, 1))]).astype(np.float32)
    f1 = np.hstack([feats, np.ones((n_items, 1), np.float32)])
    w_b = _with_bias_columns(w_b, 0)
    probe = rng.choice(n_users, size=min(n_users, 1000), replace=False)
    x1 = np.hstack([users[probe], np.ones((len(probe), 1), np.float32)])
    w_b = (scale_for_top1(x1 @ w_b @ f1.T, config.behaviour_top1) * w_b).astype(np.float32)
    # The world log: every user once, k distinct movies each (the ranker's and, in this
    # regime, the generator's training data).
    k = config.logged_per_user
    visit = rng.permutation(n_users)
    probs = softmax_rows(np.hstack([users[visit], np.ones((n_users, 1), np.float32)]) @ w_b
                         @ f1.T)
    drawn = draw_without_replacement(probs, k, rng)
    pscore = inclusion_probabilities(probs, drawn, k)
    log_users, log_items = np.repeat(visit, k), drawn.ravel()
    labels = truth[log_users, log_items]
    w_r, b_r = fit_logistic_bilinear_bias(users[log_users], items[log_items], log_items,
                                          labels, n_items)
    if config.ranker_bias_noise > 0:
        b_r = b_r + config.ranker_bias_noise * b_r.std() * rng.normal(size=n_items)
    feats[:, -1] = b_r
    return {"behaviour_weights": w_b, "ranker_weights": _with_bias_columns(w_r, 1)
            .astype(np.float32), "log_users": log_users.astype(np.int64),
            "log_items": log_items.astype(np.int64), "log_labels": labels.astype(np.float32),
            "log_pscore": pscore.ravel(), "item_features": feats}
