"""The base of the two-stage candidate generators: settings, data, training loop and policy.

Ma, Zhao, Yi, Yang, Chen, Tang, Hong, Chi. "Off-policy Learning in Two-stage Recommender
Systems", WWW 2020. A candidate generator p_theta(a|s) (a softmax over the catalogue)
nominates k items; a fixed ranker q(a|s,A) picks the item shown. The four agents here share
one two-tower generator (:class:`agents.networks.TwoTower`) and one training loop over the
logged positives; they differ only in the per-row weight of -log p_theta(a_i|s_i) and, for
2-IPS, one extra term (see :meth:`CandidateGenerator.row_terms`); each is a thin leaf
module (:mod:`~agents.two_stage.ce`, :mod:`~agents.two_stage.ips`,
:mod:`~agents.two_stage.topk_correction`, :mod:`~agents.two_stage.two_ips`):

    CE                 coef_i = 1
    1-IPS              coef_i = w_i,   w_i = snorm(clip(p(a_i|s_i) / beta_i, 0.01, 10))
    top-k correction   coef_i = snorm(clip(...) * K (1 - p(a_i|s_i))^(K-1))    (Chen et al. 2019)
    2-IPS              coef_i = mean_m w_i q(a_i|s_i,A_m),
                       extra  = -alpha mean_i mean_m w_i q(a_i|s_i,A_m)
                                       * sum_{j in A_m, j != a_i} log p(j|s_i)

where beta_i is the logged propensity (``pscore``), snorm divides by the batch mean, A_m
(m = 1..tau) are sets of k draws with replacement from the tempered current policy
softmax(logits / e) with the logged item added, and q is the ranker's softmax restricted
to the set. Everything but log p_theta is detached, as in the authors' code.

What an agent reads from the :class:`~recsim_envs.data.LoggedDataset`: ``context``,
``action`` (the item the ranker showed first), ``pscore``, ``reward``, ``extras["candidates"]``
(only its width k), ``system["item_features"]`` and ``system["ranker_weights"]`` (the deployed
ranker is known to the system's owners), ``meta.info`` (family, n_candidates, obs_dim). It
never reads ``expected_reward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from agents.base import AgentError, BaseAgent, as_batch
from agents.networks import TwoTower, init_from_generator
from agents.two_stage.data import TwoStageShapes, check_two_stage_dataset
from recsim_envs.data import LoggedDataset

_OPTIMIZERS = ("adagrad", "adam")


@dataclass
class GeneratorConfig:
    """Settings shared by the two-stage generator agents (defaults follow the authors' code).

    Attributes:
        seed: seeds the weight initialisation, the batch order and 2-IPS's set draws.
        epochs: passes over the logged positives.
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
        if self.sampled_softmax < 0:
            raise ValueError(f"sampled_softmax must be >= 0, got {self.sampled_softmax}")



class PolicyView(NamedTuple):
    """The generator's log-probabilities over a pool of items for one batch.

    Full softmax: ``pool`` is the whole catalogue. Sampled softmax: the logged items of the
    batch followed by uniform negatives; ``log_p`` is then the sampled-softmax estimate.

    Attributes:
        pool: (P,) item ids.
        logits: (b, P) generator logits (with gradient).
        log_p: (b, P) log p_theta(j|s) (with gradient).
        a_col: (b,) column of each row's logged item in ``pool``.
        draw_from: 2-IPS draws sets from columns ``draw_from:`` of the pool.
    """

    pool: torch.Tensor
    logits: torch.Tensor
    log_p: torch.Tensor
    a_col: torch.Tensor
    draw_from: int


class Batch(NamedTuple):
    """Logged positives of one step: x (b, d_u), action (b,) item ids, pscore (b,)."""

    x: torch.Tensor
    action: torch.Tensor
    pscore: torch.Tensor


def importance_weights(
    log_p_a: torch.Tensor, pscore: torch.Tensor, clip: tuple[float, float], self_normalise: bool
) -> torch.Tensor:
    """w_i = clip(p_theta(a_i|s_i) / pscore_i, low, high), divided by its batch mean (detached).

    Args:
        log_p_a: (b,) log p_theta of the logged items.
        pscore: (b,) logged propensities.
    """
    w = (log_p_a.detach().double().exp() / pscore).clamp(*clip).float()
    return w / w.mean() if self_normalise else w



class CandidateGenerator(BaseAgent):
    """A two-tower candidate generator trained on logged positives; subclasses set the loss.

    ``act(obs)`` returns the generator's top-k item ids, best first: (k,) for one
    observation, (n, k) for (n, obs_dim). ``item_probs(obs)`` returns p_theta(.|s)
    (n, n_items). ``rank_items(obs, k)`` gives the k best ids for one-stage ranking metrics.
    """

    Config: ClassVar[type] = GeneratorConfig
    config: GeneratorConfig

    def __init__(self, config: GeneratorConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.model: TwoTower | None = None
        self.shapes: TwoStageShapes | None = None
        self._ranker_item_side: torch.Tensor | None = None
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------------ the loss
    def row_terms(
        self, batch: Batch, view: PolicyView, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-row coefficient of -log p(a_i|s_i) (b,, detached) and an optional extra loss."""
        raise NotImplementedError

    def loss(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """-mean_i coef_i log p(a_i|s_i) + extra, for one batch of logged positives."""
        view = self.policy_view(batch, generator)
        log_p_a = view.log_p.gather(1, view.a_col[:, None])[:, 0]
        coef, extra = self.row_terms(batch, view, generator)
        loss = -(coef.detach() * log_p_a).mean()
        return loss if extra is None else loss + extra

    def policy_view(self, batch: Batch, generator: torch.Generator) -> PolicyView:
        """Logits and log-probabilities of the pool the loss needs (see :class:`PolicyView`)."""
        assert self.model is not None and self.shapes is not None
        m = self.config.sampled_softmax
        n_items = self.shapes.n_items
        if m == 0:
            logits = self.model(batch.x)
            pool = torch.arange(n_items)
            return PolicyView(pool, logits, logits.log_softmax(dim=1), batch.action, 0)
        # Sampled softmax with a uniform proposal: Z ~ exp(s_a) + (N / m) sum_neg exp(s_j).
        b = len(batch.action)
        negatives = torch.randint(n_items, (m,), generator=generator)
        pool = torch.cat([batch.action, negatives])
        logits = self.model(batch.x, pool)
        a_col = torch.arange(b)
        s_a = logits.gather(1, a_col[:, None])
        log_z = torch.cat([s_a, logits[:, b:] + math.log(n_items / m)], dim=1).logsumexp(dim=1)
        return PolicyView(pool, logits, logits - log_z[:, None], a_col, b)

    def ranker_scores(self, x: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        """The deployed ranker's scores [x, 1] W [f_j, 1]^T of pool items: (b, P)."""
        assert self._ranker_item_side is not None
        x1 = torch.cat([x, torch.ones(len(x), 1)], dim=1)
        return x1 @ self._ranker_item_side[pool].T

    def weights(self, batch: Batch, view: PolicyView) -> torch.Tensor:
        log_p_a = view.log_p.gather(1, view.a_col[:, None])[:, 0]
        return importance_weights(
            log_p_a, batch.pscore, self.config.weight_clip, self.config.self_normalise
        )

    # ------------------------------------------------------------------ training
    def begin_fit(self, dataset: LoggedDataset) -> torch.Generator:
        """Validate the data, build the model and optimizer; return the training generator."""
        cfg = self.config
        shapes = check_two_stage_dataset(dataset, cfg.n_candidates)
        pos = np.flatnonzero(np.asarray(dataset.reward) > 0)
        self._x = torch.from_numpy(np.ascontiguousarray(dataset.context[pos], dtype=np.float32))
        self._action = torch.from_numpy(dataset.action[pos].astype(np.int64))
        self._pscore = torch.from_numpy(dataset.pscore[pos].astype(np.float64))
        generator = torch.Generator().manual_seed(int(cfg.seed))
        self.shapes = shapes
        self.model = init_from_generator(
            TwoTower(
                shapes.obs_dim,
                torch.from_numpy(np.asarray(dataset.system["item_features"], dtype=np.float32)),
                cfg.embed_dim,
                cfg.hidden,
                cfg.id_embedding,
            ),
            generator,
        )
        self._set_ranker(np.asarray(dataset.system["ranker_weights"], dtype=np.float32))
        params = self.model.parameters()
        if cfg.optimizer == "adagrad":
            self._optimizer = torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self._optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self._cache = None
        self.fitted = False
        return generator

    def train_step(self, rows: torch.Tensor, generator: torch.Generator, where: str = "") -> float:
        """One optimizer step on logged positives ``rows`` (indices); returns the loss.

        Raises :class:`AgentError` naming ``where`` if the loss is not finite.
        """
        assert self.model is not None
        batch = Batch(self._x[rows], self._action[rows], self._pscore[rows])
        loss = self.loss(batch, generator)
        if not torch.isfinite(loss):
            raise AgentError(
                f"{type(self).__name__}: non-finite loss ({loss.item()}) at {where or 'a step'}; "
                "lower the learning rate or check the data (the weights were not updated)"
            )
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        return float(loss.detach())

    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> CandidateGenerator:
        """Train on the logged positives of ``dataset`` (see module docstring); returns self."""
        generator = self.begin_fit(dataset)
        n = len(self._action)
        bs = self.config.batch_size
        self.model.train()
        for epoch in range(self.config.epochs):
            order = torch.randperm(n, generator=generator)
            for step, start in enumerate(range(0, n, bs)):
                self.train_step(order[start : start + bs], generator, f"epoch {epoch}, step {step}")
        self._end_fit()
        return self

    def _end_fit(self) -> None:
        for name, p in self.model.named_parameters():
            if not torch.all(torch.isfinite(p)):
                raise AgentError(
                    f"{type(self).__name__}: parameter {name} is not finite after training"
                )
        self.model.eval()
        del self._x, self._action, self._pscore, self._optimizer
        self.fitted = True
        self._cache = None

    def _set_ranker(self, weights: np.ndarray) -> None:
        assert self.model is not None
        f1 = torch.cat([self.model.item_features, torch.ones(self.model.n_items, 1)], dim=1)
        self._ranker_weights = torch.from_numpy(weights)
        self._ranker_item_side = f1 @ self._ranker_weights.T  # (n_items, d_u + 1)

    # ------------------------------------------------------------------ acting
    def _logits(self, obs: np.ndarray) -> tuple[torch.Tensor, bool]:
        self._require_fitted()
        x, single = as_batch(obs, self.shapes.obs_dim)
        with torch.no_grad():
            if self._cache is None:
                self._cache = self.model.item_embedding()
            v, bias = self._cache
            logits = self.model.user_embedding(torch.from_numpy(x)) @ v.T + bias
        return logits, single

    def rank_items(self, obs: np.ndarray, k: int) -> np.ndarray:
        """The generator's k highest-scoring item ids, best first: (k,) or (n, k) int64."""
        logits, single = self._logits(obs)
        top = logits.topk(k, dim=1).indices.numpy().astype(np.int64)
        return top[0] if single else top

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The candidate set: top-k item ids by the generator, k = the logged n_candidates."""
        self._require_fitted()
        return self.rank_items(obs, self.shapes.n_candidates)

    def item_probs(self, obs: np.ndarray) -> np.ndarray:
        """p_theta(.|s): (n, n_items) float64 (a single observation gives (1, n_items))."""
        logits, _ = self._logits(obs)
        return logits.double().softmax(dim=1).numpy()

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {
            "shapes": dict(self.shapes._asdict()),
            "model": dict(self.model.state_dict()),
            "ranker_weights": self._ranker_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        shapes = TwoStageShapes(**{k: int(v) for k, v in state["shapes"].items()})
        model = TwoTower(
            shapes.obs_dim,
            state["model"]["item_features"],
            self.config.embed_dim,
            self.config.hidden,
            self.config.id_embedding,
        )
        model.load_state_dict(state["model"])
        model.eval()
        self.model, self.shapes = model, shapes
        self._set_ranker(np.asarray(state["ranker_weights"], dtype=np.float32))
        self._cache = None
