"""Fitted-Q evaluation (FQE; Le, Voloshin and Yue, "Batch Policy Learning under Constraints",
ICML 2019): the Q-function of a target policy from logged transitions, for sequential DM/DR.

Iteration k regresses ``Q_{k+1}(s, a)`` on ``y = r + gamma (1 - done) sum_a' pi(a'|s') Q_k(s', a')``
over the logged transitions (s, a, r, s', done), starting from Q_0 = 0. On a finite horizon H,
``n_iterations >= H`` iterations of an exact (tabular) regression give the exact Q^pi.

Q-models follow one small protocol (:class:`QModel`): ``fit(states, actions, targets)`` and
``predict(states) -> (n, A)``. Two are provided: :class:`LinearQ` (per-action ridge regression;
tabular and exact with one-hot states) and :class:`MLPQ` (a small torch network).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch


class QModel(Protocol):
    """A regression model of Q(s, a) for every action at once."""

    def fit(self, states: np.ndarray, actions: np.ndarray, targets: np.ndarray) -> Any:
        """Regress targets (N,) on (states (N, d), actions (N,))."""

    def predict(self, states: np.ndarray) -> np.ndarray:
        """(n, d) states -> (n, A) predicted Q for every action."""


@dataclass
class FQEConfig:
    """Settings of :class:`FittedQEvaluation`.

    Attributes:
        n_iterations: Bellman backups (>= the horizon for an exact finite-horizon answer).
        gamma: discount in [0, 1].
        tol: stop early once no regression target moves by more than tol (0: run them all).
    """

    n_iterations: int = 50
    gamma: float = 1.0
    tol: float = 0.0

    def __post_init__(self) -> None:
        if int(self.n_iterations) != self.n_iterations or self.n_iterations < 1:
            raise ValueError(f"n_iterations must be a positive int, got {self.n_iterations}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma}")
        if not self.tol >= 0.0:
            raise ValueError(f"tol must be >= 0, got {self.tol}")


def _matrix(name: str, x: Any, n: int | None = None) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or (n is not None and arr.shape[0] != n):
        want = f"({n}, d)" if n is not None else "(n, d)"
        raise ValueError(f"{name} has shape {arr.shape}; expected {want}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _actions(actions: Any, n: int, n_actions: int) -> np.ndarray:
    arr = np.asarray(actions)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"actions must be ({n},) integers, got {arr.shape} {arr.dtype}")
    if np.any((arr < 0) | (arr >= n_actions)):
        raise ValueError(f"actions must lie in [0, {n_actions})")
    return arr.astype(np.int64)


class LinearQ:
    """Per-action ridge regression of Q on state features: Q(s, a) = phi(s) . beta_a.

    With one-hot state features this is the tabular estimate (each (s, a) the mean of its
    targets; with ridge=0 exactly, unvisited pairs predict 0 via the pseudo-inverse).

    Args:
        n_actions: A.
        featuriser: ``(n, d) states -> (n, k)`` features; None uses the states as they are.
        ridge: L2 penalty (0: minimum-norm least squares).
    """

    def __init__(self, n_actions: int, featuriser: Callable[[np.ndarray], np.ndarray] | None
                 = None, ridge: float = 1e-6) -> None:
        if n_actions < 1:
            raise ValueError(f"n_actions must be >= 1, got {n_actions}")
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        self.n_actions, self.featuriser, self.ridge = int(n_actions), featuriser, float(ridge)
        self.coef: np.ndarray | None = None  # (A, k)

    def _features(self, states: np.ndarray) -> np.ndarray:
        states = _matrix("states", states)
        return states if self.featuriser is None else _matrix("features",
                                                               self.featuriser(states))

    def fit(self, states: np.ndarray, actions: np.ndarray, targets: np.ndarray) -> LinearQ:
        x = self._features(states)
        a = _actions(actions, len(x), self.n_actions)
        onehot = np.eye(self.n_actions)[a]  # (N, A)
        # One Gram matrix per action in a single einsum: (A, k, k) and (A, k).
        gram = np.einsum("na,ni,nj->aij", onehot, x, x)
        rhs = np.einsum("na,ni,n->ai", onehot, x, np.asarray(targets, dtype=np.float64))
        if self.ridge > 0:
            gram = gram + self.ridge * np.eye(x.shape[1])
            self.coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
        else:
            self.coef = np.einsum("aij,aj->ai", np.linalg.pinv(gram, hermitian=True), rhs)
        return self

    def predict(self, states: np.ndarray) -> np.ndarray:
        if self.coef is None:
            raise RuntimeError("LinearQ.predict before fit")
        return self._features(states) @ self.coef.T


class MLPQ:
    """A two-hidden-layer ReLU network state -> Q for all actions, trained on the taken action.

    Deterministic: initial weights and minibatch order come from a ``torch.Generator`` seeded
    with ``seed``; the network is kept across :meth:`fit` calls, so FQE's iterations warm-start
    from the previous Q (as in Le et al.'s implementation). Runs on CPU; the caller sets the
    torch thread count.

    Args:
        n_actions: A.
        hidden: units per hidden layer.
        epochs: passes over the data per fit call.
        lr: Adam learning rate.
        batch_size: minibatch size.
        seed: seed of the network's torch.Generator.
    """

    def __init__(self, n_actions: int, hidden: int = 64, epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 256, seed: int = 0) -> None:
        for name, value in (("n_actions", n_actions), ("hidden", hidden), ("epochs", epochs),
                            ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.n_actions, self.hidden, self.epochs = int(n_actions), int(hidden), int(epochs)
        self.lr, self.batch_size = float(lr), int(batch_size)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.net: torch.nn.Sequential | None = None
        self.optimiser: torch.optim.Optimizer | None = None

    def _build(self, dim: int) -> None:
        sizes = [dim, self.hidden, self.hidden, self.n_actions]
        layers: list[torch.nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            # skip_init + our generator: no draw from torch's global generator.
            lin = torch.nn.utils.skip_init(torch.nn.Linear, d_in, d_out, dtype=torch.float32)
            bound = 1.0 / d_in**0.5  # PyTorch's default fan-in uniform range
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=self.generator)
                lin.bias.uniform_(-bound, bound, generator=self.generator)
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*layers)
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=self.lr)

    def fit(self, states: np.ndarray, actions: np.ndarray, targets: np.ndarray) -> MLPQ:
        states = _matrix("states", states)
        a = torch.as_tensor(_actions(actions, len(states), self.n_actions))
        x = torch.as_tensor(states, dtype=torch.float32)
        y = torch.as_tensor(np.asarray(targets, dtype=np.float64), dtype=torch.float32)
        if self.net is None:
            self._build(x.shape[1])
        n = len(x)
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=self.generator)
            for start in range(0, n, self.batch_size):
                idx = perm[start:start + self.batch_size]
                q = self.net(x[idx]).gather(1, a[idx, None])[:, 0]
                loss = torch.nn.functional.mse_loss(q, y[idx])
                self.optimiser.zero_grad()
                loss.backward()
                self.optimiser.step()
        return self

    def predict(self, states: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("MLPQ.predict before fit")
        with torch.no_grad():
            x = torch.as_tensor(_matrix("states", states), dtype=torch.float32)
            return self.net(x).double().numpy()


class FittedQEvaluation:
    """FQE of a target policy pi (Le, Voloshin and Yue, ICML 2019).

    Args:
        q_model: a :class:`QModel` (refit in place at every iteration).
        config: :class:`FQEConfig`.
    """

    def __init__(self, q_model: QModel, config: FQEConfig | None = None) -> None:
        self.q_model = q_model
        self.config = config or FQEConfig()
        self.n_actions: int | None = None
        self.n_iterations_run = 0

    def fit(self, states: Any, actions: Any, rewards: Any, next_states: Any, done: Any,
            next_target_probs: Any) -> FittedQEvaluation:
        """Iterate ``y = r + gamma (1 - done) sum_a' pi(a'|s') Q_k(s', a')`` and refit Q.

        Args:
            states, next_states: (N, d) logged states s and s'.
            actions: (N,) logged actions a in [0, A).
            rewards: (N,) rewards r.
            done: (N,) bool, True where s' is terminal (no value after it).
            next_target_probs: (N, A) the target's pi(.|s').
        """
        states = _matrix("states", states)
        n = len(states)
        next_states = _matrix("next_states", next_states, n)
        probs = _matrix("next_target_probs", next_target_probs, n)
        if np.any((probs < 0) | (probs > 1)) or not np.allclose(probs.sum(1), 1.0, atol=1e-6):
            raise ValueError("next_target_probs rows must be probabilities summing to 1")
        actions = _actions(actions, n, probs.shape[1])
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.shape != (n,) or not np.all(np.isfinite(rewards)):
            raise ValueError(f"rewards must be finite with shape ({n},), got {rewards.shape}")
        done = np.asarray(done)
        if done.shape != (n,) or done.dtype != bool:
            raise ValueError(f"done must be a bool array of shape ({n},)")
        self.n_actions = probs.shape[1]
        continues = self.config.gamma * (~done)
        targets = rewards.copy()  # Q_0 = 0
        self.n_iterations_run = 0
        for _ in range(self.config.n_iterations):
            self.q_model.fit(states, actions, targets)
            self.n_iterations_run += 1
            q_next = self._predict(next_states)
            new = rewards + continues * np.einsum("na,na->n", probs, q_next)
            moved = float(np.max(np.abs(new - targets)))
            targets = new
            if moved <= self.config.tol:
                break
        return self

    def _predict(self, states: np.ndarray) -> np.ndarray:
        q = np.asarray(self.q_model.predict(states), dtype=np.float64)
        if q.shape != (len(states), self.n_actions):
            raise ValueError(f"q_model.predict returned {q.shape}; expected "
                             f"({len(states)}, {self.n_actions})")
        return q

    def q_values(self, states: Any) -> np.ndarray:
        """(n, d) states -> (n, A) Q^pi estimates."""
        if self.n_actions is None:
            raise RuntimeError("FittedQEvaluation.q_values before fit")
        return self._predict(_matrix("states", states))

    def value(self, states: Any, target_probs: Any) -> np.ndarray:
        """V^pi(s) = sum_a pi(a|s) Q(s, a): states (n, d), target_probs (n, A) -> (n,)."""
        q = self.q_values(states)
        probs = _matrix("target_probs", target_probs, len(q))
        if probs.shape != q.shape:
            raise ValueError(f"target_probs has shape {probs.shape}; expected {q.shape}")
        return np.einsum("na,na->n", probs, q)


def linear_fqe(features: np.ndarray, next_features: np.ndarray, rewards: np.ndarray,
               continues: np.ndarray, row_weights: np.ndarray, *, ridge: float,
               n_iterations: int) -> np.ndarray:
    """FQE with a linear Q(s, a) = phi(s, a) . w in closed form per iteration.

    Iterates ``w_{k+1} = argmin_w sum_i c_i (phi_i . w - y_i)^2 + ridge |w|^2`` with
    ``y_i = r_i + continues_i * psi_i . w_k`` (Le, Voloshin and Yue, ICML 2019, with a
    linear class), starting from w_0 = 0; ``psi_i = sum_a' pi(a'|s'_i) phi(s'_i, a')``
    makes ``psi_i . w`` the target's value at the next state. ``c_i`` are row weights
    (0 leaves a row out: the other folds of cross-fitting; bootstrap counts).

    Args:
        features: (N, D) phi(s_i, a_i) of the logged transitions.
        next_features: (N, D) psi_i (anything where ``continues_i`` is 0).
        rewards: (N,) r_i.
        continues: (N,) gamma * (1 - done_i): 0 where the session ended at row i.
        row_weights: (N,) c_i >= 0.
        ridge: L2 penalty (> 0 keeps the system solvable when rows are left out).
        n_iterations: Bellman backups (>= the horizon: exact for a finite horizon when the
            class holds every Q_k).

    Returns:
        (D,) w.
    """
    x = np.asarray(features, np.float64)
    xw = x * np.asarray(row_weights, np.float64)[:, None]
    gram = x.T @ xw + ridge * np.eye(x.shape[1])
    solve = np.linalg.solve(gram, xw.T)  # (D, N): w = solve @ y
    w = np.zeros(x.shape[1])
    for _ in range(int(n_iterations)):
        w = solve @ (rewards + continues * (next_features @ w))
    return w
