"""A neural user simulator learned from ratings, its ground-truth table and its disk cache.

Ma et al., "Off-policy Learning in Two-stage Recommender Systems" (WWW 2020) simulate users
on MovieLens with an MLP trained on real ratings (label: rating > 3) and use its
probability for every user x item pair as the ground truth. :func:`train_simulator` fits
such a model (user id embedding + user features, item id embedding + item features,
MLP -> click logit, BCE), :func:`predict_matrix` evaluates it on every pair, and
:class:`recsim_envs.two_stage.response.LookupResponse` serves the resulting table as a
response model. Training is seeded by a ``torch.Generator`` (no global torch state is read
or changed); :func:`fit_params` is the training loop, shared with
:func:`recsim_envs.worlds.fit.train`. :func:`cache_key` and :func:`load_npz` (with
:func:`recsim_envs.core.io.save_npz_atomic`) store what a world needs so that it is trained
once per input and settings.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsim_envs.core.threads import torch_threads

CACHE_ENV_VAR = "RECSIM_ENVS_CACHE"


@dataclass(frozen=True)
class SimulatorConfig:
    """Training settings of the reward simulator (defaults follow the reference code, smaller).

    Attributes:
        id_dim: size of the user and of the item id embeddings (reference: 10).
        user_proj_dim: user features are projected to this size (reference: 4 x 5).
        item_proj_dim: item features (year, genres, popularity) projected to this size.
        hidden: sizes of the MLP's hidden layers (reference: 100, 50).
        epochs: passes over the training ratings (reference: up to 4).
        batch_size: ratings per Adagrad step (reference: 128).
        lr: Adagrad learning rate (reference: 0.05).
        weight_decay: L2 penalty (reference: 1e-4).
        valid_fraction: share of ratings held out to report the simulator's AUC.
    """

    id_dim: int = 10
    user_proj_dim: int = 20
    item_proj_dim: int = 10
    hidden: tuple[int, ...] = (100, 50)
    epochs: int = 4
    batch_size: int = 128
    lr: float = 0.05
    weight_decay: float = 1e-4
    valid_fraction: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("id_dim", "user_proj_dim", "item_proj_dim", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"simulator {name} must be >= 1, got {getattr(self, name)}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"simulator hidden sizes must be >= 1, got {self.hidden}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"simulator lr must be a finite number > 0, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueError(f"simulator weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.valid_fraction < 0.5:
            raise ValueError(
                f"simulator valid_fraction must be in [0, 0.5), got {self.valid_fraction}"
            )

    @classmethod
    def from_any(cls, value: SimulatorConfig | dict[str, Any] | None) -> SimulatorConfig:
        """Accept a config, a dict of its fields (as ``gymnasium.make`` kwargs) or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            known = set(cls.__dataclass_fields__)
            unknown = sorted(set(value) - known)
            if unknown:
                raise TypeError(f"unknown simulator setting(s) {unknown}; known: {sorted(known)}")
            return cls(**value)
        raise TypeError(
            f"simulator must be a SimulatorConfig or a dict, got {type(value).__name__}"
        )


@dataclass(frozen=True)
class TrainedSimulator:
    """The fitted simulator as numpy arrays (no torch objects: worlds stay picklable).

    Attributes:
        params: name -> float32 array (see :func:`train_simulator` for the architecture).
        valid_auc: ROC AUC of rating > 3 on the held-out ratings (nan without a hold-out).
        train_loss: mean BCE of the last epoch.
    """

    params: dict[str, np.ndarray]
    valid_auc: float
    train_loss: float


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties get average ranks).

    scores (n,), labels (n,) in {0, 1} -> AUC in [0, 1]; nan if one class is absent.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct score
    rank_sum = avg_rank[inverse][labels].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def init_params(
    n_users: int, n_items: int, user_dim: int, item_dim: int, config: SimulatorConfig,
    generator: Any,
) -> dict[str, Any]:
    """Parameters drawn from ``generator``: PyTorch's default Linear init, N(0, 0.1) embeddings.

    Not :func:`recsim_envs.core.nn.init_from_generator`: the weights here are (n_in, n_out)
    tensors drawn as ``(rand * 2 - 1) * bound`` in a fixed order (embeddings first), so
    trained simulators and their cache files stay what they were.
    """
    import torch

    def linear(n_in: int, n_out: int) -> tuple[Any, Any]:
        bound = 1.0 / math.sqrt(n_in)
        w = (torch.rand((n_in, n_out), generator=generator) * 2 - 1) * bound
        b = (torch.rand((n_out,), generator=generator) * 2 - 1) * bound
        return w, b

    params = {
        "user_emb": 0.1 * torch.randn((n_users, config.id_dim), generator=generator),
        "item_emb": 0.1 * torch.randn((n_items, config.id_dim), generator=generator),
    }
    params["user_w"], params["user_b"] = linear(user_dim, config.user_proj_dim)
    params["item_w"], params["item_b"] = linear(item_dim, config.item_proj_dim)
    sizes = [2 * config.id_dim + config.user_proj_dim + config.item_proj_dim, *config.hidden, 1]
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        params[f"w{layer}"], params[f"b{layer}"] = linear(n_in, n_out)
    return {k: v.requires_grad_(True) for k, v in params.items()}


def _n_layers(params: dict[str, Any]) -> int:
    return sum(1 for k in params if k.startswith("w") and k[1:].isdigit())


def _user_side(params: dict[str, Any], idx: Any, features: Any) -> Any:
    import torch

    return torch.cat([params["user_emb"][idx], features @ params["user_w"] + params["user_b"]], 1)


def _item_side(params: dict[str, Any], idx: Any, features: Any) -> Any:
    import torch

    return torch.cat([params["item_emb"][idx], features @ params["item_w"] + params["item_b"]], 1)


def _logits(params: dict[str, Any], users: Any, items: Any) -> Any:
    """users (m, d_u_side), items (m, d_i_side) -> logits (m,)."""
    import torch

    h = torch.cat([users, items], 1)
    n = _n_layers(params)
    for layer in range(n):
        h = h @ params[f"w{layer}"] + params[f"b{layer}"]
        if layer < n - 1:
            h = torch.relu(h)
    return h[:, 0]


def train_simulator(
    user_features: np.ndarray,
    item_features: np.ndarray,
    rating_user: np.ndarray,
    rating_item: np.ndarray,
    labels: np.ndarray,
    config: SimulatorConfig,
    seed: int,
) -> TrainedSimulator:
    """Fit the reward simulator with BCE on rating labels (Ma et al. 2020, reference code).

    Architecture: user side = [id embedding (id_dim), Linear(user features -> user_proj_dim)],
    item side = [id embedding (id_dim), Linear(item features -> item_proj_dim)], then an MLP
    over their concatenation (``hidden`` sizes, ReLU) to one logit. Adagrad with weight decay;
    the reference's timestamp input is left out so that the ground truth does not depend on
    time. A share ``valid_fraction`` of ratings is held out and only used for ``valid_auc``.

    Args:
        user_features: (n_users, d_u) float32.
        item_features: (n_items, d_i) float32.
        rating_user, rating_item: (n_ratings,) int indices of the rated cells.
        labels: (n_ratings,) {0, 1}, e.g. rating > 3.
        config: training settings.
        seed: seeds the torch.Generator (initialisation, hold-out split, batch order).
    """
    import torch

    for name, arr in (("user features", user_features), ("item features", item_features)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} hold NaN or infinite values; the simulator cannot train")
    n = len(labels)
    if n < 2:
        raise ValueError(f"the simulator needs ratings to train on, got {n}")
    # One thread: this small MLP gains nothing from more, two threads on a busy 2-core
    # machine slow every optimiser step by ~50x, and a fixed count keeps results identical.
    with torch_threads(1):
        generator = torch.Generator().manual_seed(int(seed))
        xu = torch.as_tensor(np.asarray(user_features, dtype=np.float32))
        xi = torch.as_tensor(np.asarray(item_features, dtype=np.float32))
        ru = torch.as_tensor(np.asarray(rating_user, dtype=np.int64))
        ri = torch.as_tensor(np.asarray(rating_item, dtype=np.int64))
        y = torch.as_tensor(np.asarray(labels, dtype=np.float32))
        params = init_params(len(xu), len(xi), xu.shape[1], xi.shape[1], config, generator)
        perm = torch.randperm(n, generator=generator)
        n_valid = int(round(config.valid_fraction * n))
        valid, train = perm[:n_valid], perm[n_valid:]
        last_loss = fit_params(params, (xu, xi, ru, ri, y), train, config, generator)
        numpy_params = {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}
        auc = float("nan")
        if n_valid:
            with torch.no_grad():
                u, i = ru[valid], ri[valid]
                scores = _logits(params, _user_side(params, u, xu[u]),
                                 _item_side(params, i, xi[i]))
            auc = roc_auc(scores.numpy(), y[valid].numpy())
    return TrainedSimulator(numpy_params, auc, last_loss)


def fit_params(
    params: dict[str, Any],
    tensors: tuple[Any, Any, Any, Any, Any],
    rows: Any,
    config: SimulatorConfig,
    generator: Any,
    on_batch: Callable[[], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> float:
    """Train ``params`` in place: ``config.epochs`` passes of Adagrad on the BCE of ``rows``.

    Args:
        params: from :func:`init_params` (requires grad).
        tensors: (user features (n_users, d_u), item features (n_items, d_i), rated users
            (n,), rated items (n,), labels (n,)).
        rows: (m,) int64 indices into the ratings to train on; each epoch visits them in the
            order ``rows[randperm(m, generator)]``, in batches of ``config.batch_size``.
        on_batch, on_epoch: progress hooks (after each step; after each epoch with its loss).

    Returns:
        the mean BCE of the last epoch.

    Raises:
        FloatingPointError: an epoch's loss is not finite.
    """
    import torch

    xu, xi, ru, ri, y = tensors
    opt = torch.optim.Adagrad(list(params.values()), lr=config.lr,
                              weight_decay=config.weight_decay)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    last_loss = float("nan")
    for epoch in range(config.epochs):
        order = rows[torch.randperm(len(rows), generator=generator)]
        total, count = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            b = order[start : start + config.batch_size]
            u, i = ru[b], ri[b]
            loss = bce(_logits(params, _user_side(params, u, xu[u]),
                               _item_side(params, i, xi[i])), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
            count += len(b)
            if on_batch is not None:
                on_batch()
        last_loss = total / max(count, 1)
        if on_epoch is not None:
            on_epoch(epoch, last_loss)
        if not math.isfinite(last_loss):
            raise FloatingPointError(
                f"simulator training diverged (loss {last_loss}); lower the simulator lr "
                f"(now {config.lr})"
            )
    return last_loss


def predict_matrix(
    sim: TrainedSimulator,
    user_features: np.ndarray,
    item_features: np.ndarray,
    chunk_cells: int = 1_000_000,
) -> np.ndarray:
    """The simulator's click probability for every user x item pair, (n_users, n_items) float32.

    The first layer is linear in [user side, item side], so its pre-activation splits into a
    per-user and a per-item part computed once; only the remaining layers run per pair, in
    chunks of about ``chunk_cells`` pairs.
    """
    import torch

    p = {k: torch.as_tensor(v) for k, v in sim.params.items()}
    n_users, n_items = len(user_features), len(item_features)
    with torch.no_grad():
        xu = torch.as_tensor(user_features, dtype=torch.float32)
        xi = torch.as_tensor(item_features, dtype=torch.float32)
        us = _user_side(p, torch.arange(n_users), xu)
        its = _item_side(p, torch.arange(n_items), xi)
        w0 = p["w0"]
        a = us @ w0[: us.shape[1]] + p["b0"]  # (n_users, h1)
        b = its @ w0[us.shape[1] :]  # (n_items, h1)
        n_layers = _n_layers(p)
        out = np.empty((n_users, n_items), dtype=np.float32)
        rows = max(1, chunk_cells // max(n_items, 1))
        for start in range(0, n_users, rows):
            h = torch.relu(a[start : start + rows, None, :] + b[None, :, :])
            for layer in range(1, n_layers):
                h = h @ p[f"w{layer}"] + p[f"b{layer}"]
                if layer < n_layers - 1:
                    h = torch.relu(h)
            out[start : start + rows] = torch.sigmoid(h[..., 0]).numpy()
    if not np.all(np.isfinite(out)):
        raise FloatingPointError("the simulator produced NaN probabilities; retrain with lower lr")
    return out


# ---------------------------------------------------------------------------- the cache
def default_cache_dir() -> Path:
    """``$RECSIM_ENVS_CACHE`` or ``~/.cache/recsim_envs``."""
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "recsim_envs"


def cache_key(files: Sequence[Path], settings: dict[str, Any]) -> str:
    """sha256 of the input files' names and bytes plus the JSON of ``settings`` (hex)."""
    h = hashlib.sha256()
    for path in files:
        h.update(Path(path).name.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None if it is missing or unreadable (then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
