"""Settings of the two-stage candidate generators (:mod:`agents.two_stage.base`).

Defaults follow the authors' code of Ma et al., "Off-policy Learning in Two-stage
Recommender Systems", WWW 2020, except the validation split used to choose the epoch
(issue 18; :mod:`agents.two_stage.selection`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_OPTIMIZERS = ("adagrad", "adam")


@dataclass
class GeneratorConfig:
    """Settings shared by the two-stage generator agents (defaults follow the authors' code).

    Attributes:
        seed: seeds the weight initialisation, the batch order, 2-IPS's set draws and the
            validation split.
        epochs: passes over the logged positives (with a validation split: the most; the
            epoch kept is the one of best validation value).
        validation_fraction: share of the logged visits held out to choose the epoch by
            the SNIPS estimate of the two-stage value (:mod:`agents.two_stage.selection`;
            reads no ground truth); 0 trains on every row and keeps the last epoch.
        batch_size: logged positives per step.
        lr: learning rate.
        optimizer: "adagrad" (the authors' choice) or "adam".
        weight_decay: L2 penalty of the optimizer.
        embed_dim: width of the two-tower dot product.
        hidden: hidden widths of each tower.
        id_embedding: add a learned per-item embedding to the item tower.
        weight_clip: (low, high) clip of the importance ratio p_theta / pscore.
        self_normalise: divide the clipped weights by their batch mean.
        n_candidates: k, the size of the nominated set; None takes the dataset's, a value
            that differs from the dataset's raises (the deployed system fixes k).
        n_sets: tau, candidate sets sampled per logged row by 2-IPS.
        policy_temperature: e, 2-IPS samples sets from softmax(logits / e) (code: 2.718).
        ranker_temperature: T_q; q(a|s,A) = softmax over the set of ranker_score / T_q. The
            environment's ranker is greedy (T_q -> 0); a positive temperature smooths the
            indicator "a is the ranker's pick", as the paper's softmax ranker does.
        alpha: weight of 2-IPS's co-candidate term (code: 1e-3).
        sampled_softmax: 0 for the exact softmax over the catalogue; m > 0 estimates it from
            m uniform negatives per step (and 2-IPS draws its sets from those m items by
            importance resampling), so a step costs O(batch * m) for any catalogue size.
            Pool entries are told apart by position, so a negative that happens to repeat
            the logged item counts as another co-candidate (rare when m << n_items).
    """

    seed: int = 0
    epochs: int = 10
    validation_fraction: float = 0.2
    batch_size: int = 128
    lr: float = 0.05
    optimizer: str = "adagrad"
    weight_decay: float = 0.0
    embed_dim: int = 32
    hidden: tuple[int, ...] = (64,)
    id_embedding: bool = True
    weight_clip: tuple[float, float] = (0.01, 10.0)
    self_normalise: bool = True
    n_candidates: int | None = None
    n_sets: int = 100
    policy_temperature: float = math.e
    ranker_temperature: float = 1.0
    alpha: float = 1e-3
    sampled_softmax: int = 0

    def __post_init__(self) -> None:
        # Checkpoints store tuples as lists; accept either.
        self.hidden = tuple(int(h) for h in self.hidden)
        self.weight_clip = tuple(float(c) for c in self.weight_clip)
        for name in ("epochs", "batch_size", "embed_dim", "n_sets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {self.hidden}")
        for name in ("lr", "policy_temperature", "ranker_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.weight_decay >= 0 or not self.alpha >= 0:
            raise ValueError("weight_decay and alpha must be >= 0")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {_OPTIMIZERS}, got {self.optimizer!r}")
        low, high = self.weight_clip if len(self.weight_clip) == 2 else (0.0, -1.0)
        if not 0 < low <= high:
            raise ValueError(
                f"weight_clip must be (low, high) with 0 < low <= high, got {self.weight_clip}"
            )
        if self.n_candidates is not None and self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1 or None, got {self.n_candidates}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        if self.sampled_softmax < 0:
            raise ValueError(f"sampled_softmax must be >= 0, got {self.sampled_softmax}")
