"""``linear_ips``: importance-weighted ridge of the click on user x item features, top-k.

The floor a learned candidate generator must clear (issue 18): a direct-method click model
in the spirit of the bilinear reward models of contextual-bandit off-policy learning
(Dudik, Langford, Li, "Doubly Robust Policy Evaluation and Learning", ICML 2011, the DM
part), fitted with importance weights toward the uniform item distribution so that items
the logging policy rarely shows count as much as its favourites, then a deterministic
top-k of the predicted click probability.

Model: r_i ~ [x_i, 1] W [f_{a_i}, 1]^T, with x_i (d_u,) the logged context, f_a (d_f,) the
public ``item_features`` of the logged item a_i, and W (d_u + 1, d_f + 1) minimising

    sum_i w_i (r_i - [x_i, 1] W [f_{a_i}, 1]^T)^2 + ridge ||W||^2,
    w_i = min(1 / pscore_i, c), divided by the mean of w,

the inverse-propensity weight clipped at c (c = 1 gives equal weights: plain ridge; a large
c weights rows toward the uniform item distribution). c is chosen from ``clip_grid`` by the
SNIPS estimate of the two-stage value on a validation split of the log
(:mod:`agents.two_stage.selection`; reads no ground truth), then W is refit on every row.
It reads ``context``, ``action``, ``pscore``, ``reward``, ``item_features`` and, for the
selection only, ``ranker_weights``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from agents.base import BaseAgent, as_batch
from agents.two_stage.data import TwoStageShapes, two_stage_view
from agents.two_stage.selection import ShownItemSNIPS, better, split_rows
from recsim_envs.data import LoggedDataset
from recsim_envs.two_stage.ranker import with_bias_column


@dataclass
class LinearIPSConfig:
    """Settings of :class:`LinearIPS`.

    Attributes:
        ridge: L2 penalty on W (the weights are normalised to mean 1, so it is on the scale
            of one logged row).
        clip_grid: candidate upper clips c of the importance weight 1 / pscore (bounds the
            variance that rarely logged items bring); one value skips the selection.
        validation_fraction: share of the logged visits held out to choose c.
        seed: seeds the validation split.
    """

    ridge: float = 1.0
    clip_grid: tuple[float, ...] = (10.0,)
    validation_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.ridge > 0:
            raise ValueError(f"ridge must be > 0, got {self.ridge}")
        self.clip_grid = tuple(float(c) for c in self.clip_grid)
        if not self.clip_grid or not all(c >= 1 for c in self.clip_grid):
            raise ValueError(f"clip_grid must hold clips >= 1, got {self.clip_grid}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}")


def weighted_bilinear_ridge(
    x: np.ndarray, f: np.ndarray, action: np.ndarray, reward: np.ndarray,
    weights: np.ndarray, ridge: float,
) -> np.ndarray:
    """argmin_W sum_i w_i (r_i - x_i W f_{a_i})^2 + ridge ||W||^2 (features already biased).

    Rows of one item share f, so the Gram matrix is a sum over items of weighted user
    moments: O(N d_u^2 d_f^2) instead of O(n d_u^2 d_f^2).

    Args:
        x: (n, d_u) contexts; f: (N, d_f) item features; action: (n,) item ids;
        reward: (n,); weights: (n,) row weights.

    Returns:
        W (d_u, d_f) float64.
    """
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
    ft = torch.from_numpy(np.asarray(f, dtype=np.float64))
    act = torch.from_numpy(np.asarray(action, dtype=np.int64))
    w = torch.from_numpy(np.asarray(weights, dtype=np.float64))
    r = torch.from_numpy(np.asarray(reward, dtype=np.float64))
    n_items, du, df = len(ft), xt.shape[1], ft.shape[1]
    moments = torch.zeros((n_items, du * du), dtype=torch.float64)
    moments.index_add_(0, act, w[:, None] * (xt[:, :, None] * xt[:, None, :]).reshape(-1, du * du))
    xr = torch.zeros((n_items, du), dtype=torch.float64)
    xr.index_add_(0, act, (w * r)[:, None] * xt)
    outer_f = (ft[:, :, None] * ft[:, None, :]).reshape(n_items, df * df)
    gram = (moments.T @ outer_f).reshape(du, du, df, df).permute(0, 2, 1, 3).reshape(du * df, -1)
    rhs = torch.einsum("ai,ak->ik", xr, ft).reshape(-1)
    eye = ridge * torch.eye(du * df, dtype=torch.float64)
    return torch.linalg.solve(gram + eye, rhs).numpy().reshape(du, df)


class LinearIPS(BaseAgent):
    """Importance-weighted clipped ridge of the click on [x, 1] (x) [f, 1]; deterministic
    top-k of the predicted click (see the module docstring).

    ``act(obs)`` returns (k,) or (n, k) item ids, best first; ``rank_items(obs, k)`` the k
    best for ranking metrics; ``predict(obs)`` the (n, N) predicted click probabilities.
    """

    name: ClassVar[str] = "linear_ips"
    Config: ClassVar[type] = LinearIPSConfig
    config: LinearIPSConfig

    def __init__(self, config: LinearIPSConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.shapes: TwoStageShapes | None = None
        self.weights: np.ndarray | None = None
        self.item_features: np.ndarray | None = None

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> LinearIPS:
        """Choose the clip on a validation split, refit W on every logged row (clicks and
        non-clicks); returns self. ``self.selection`` records each clip's estimate."""
        view = two_stage_view(dataset)
        self.shapes = TwoStageShapes.of(view)
        cfg = self.config
        self.item_features = with_bias_column(np.asarray(view.item_features, dtype=np.float64))
        clip = cfg.clip_grid[0]
        self.selection = {"clip": clip, "validation_snips": {}}
        if len(cfg.clip_grid) > 1:
            split = split_rows(dataset, cfg.validation_fraction, cfg.seed)
            estimator = ShownItemSNIPS(dataset, split.valid)
            best = math.nan
            for c in cfg.clip_grid:
                self.weights = self._solve(dataset, split.train, c)
                top = self.rank_items(estimator.context, self.shapes.n_candidates, False)
                value, _ = estimator.value(top)
                self.selection["validation_snips"][c] = value
                if better(value, best):
                    best, clip = value, c
            self.selection["clip"] = clip
        self.weights = self._solve(dataset, np.arange(len(dataset)), clip)
        self.fitted = True
        return self

    def _solve(self, dataset: LoggedDataset, rows: np.ndarray, clip: float) -> np.ndarray:
        w = np.minimum(1.0 / np.asarray(dataset.pscore[rows], dtype=np.float64), clip)
        return weighted_bilinear_ridge(
            with_bias_column(np.asarray(dataset.context[rows], dtype=np.float64)),
            self.item_features, dataset.action[rows],
            np.asarray(dataset.reward[rows], dtype=np.float64), w / w.mean(), self.config.ridge)

    def predict(self, obs: np.ndarray, check: bool = True) -> np.ndarray:
        """Predicted click of every item, (n, N) float64 (not clipped to [0, 1])."""
        if check:
            self._require_fitted()
        x, _ = as_batch(obs, self.shapes.obs_dim)
        return with_bias_column(np.asarray(x, dtype=np.float64)) @ (
            self.weights @ self.item_features.T)

    def rank_items(self, obs: np.ndarray, k: int, check: bool = True) -> np.ndarray:
        """The k items of highest predicted click, best first (ties: lower id)."""
        if check:
            self._require_fitted()
        _, single = as_batch(obs, self.shapes.obs_dim)
        scores = self.predict(obs, check)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
        return top[0] if single else top

    def act(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        return self.rank_items(obs, self.shapes.n_candidates)

    def state_dict(self) -> dict[str, Any]:
        if self.weights is None:
            return {}
        return {"shapes": dict(self.shapes._asdict()), "weights": self.weights,
                "item_features": self.item_features}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.shapes = TwoStageShapes(**{k: int(v) for k, v in state["shapes"].items()})
        self.weights = np.asarray(state["weights"], dtype=np.float64)
        self.item_features = np.asarray(state["item_features"], dtype=np.float64)
        self.fitted = True
