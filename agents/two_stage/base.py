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
``action`` (the item the ranker showed first), ``pscore``, ``reward`` and, through its
:class:`~recsim_envs.two_stage.view.TwoStageView`, ``n_candidates`` (k), ``item_features``
and ``ranker_weights`` (the deployed ranker is known to the system's owners). It never reads
``expected_reward``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from agents.base import AgentError, BaseAgent, as_batch
from agents.networks import TwoTower, init_from_generator
from agents.two_stage.config import GeneratorConfig  # noqa: F401  (re-exported)
from agents.two_stage.data import TwoStageShapes, two_stage_view
from agents.two_stage.selection import ShownItemSNIPS, better, split_rows
from recsim_envs.data import LoggedDataset


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
    def begin_fit(self, dataset: LoggedDataset, rows: np.ndarray | None = None) -> torch.Generator:
        """Validate the data, build the model and optimizer; return the training generator.

        ``rows``: the logged rows to train on (default all); their positives are used.
        """
        cfg = self.config
        view = two_stage_view(dataset, cfg.n_candidates)
        shapes = TwoStageShapes.of(view)
        rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
        pos = rows[np.asarray(dataset.reward)[rows] > 0]
        if len(pos) == 0:
            raise AgentError("the training part of the log holds no positive reward; log more "
                             "rounds or set validation_fraction = 0")
        self._x = torch.from_numpy(np.ascontiguousarray(dataset.context[pos], dtype=np.float32))
        self._action = torch.from_numpy(dataset.action[pos].astype(np.int64))
        self._pscore = torch.from_numpy(dataset.pscore[pos].astype(np.float64))
        generator = torch.Generator().manual_seed(int(cfg.seed))
        self.shapes = shapes
        self.model = init_from_generator(
            TwoTower(
                shapes.obs_dim,
                torch.from_numpy(np.asarray(view.item_features, dtype=np.float32)),
                cfg.embed_dim,
                cfg.hidden,
                cfg.id_embedding,
            ),
            generator,
        )
        self._set_ranker(np.asarray(view.ranker_weights, dtype=np.float32))
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
        """Train on the logged positives of ``dataset`` (see module docstring); returns self.

        With ``validation_fraction > 0`` the epoch kept is the one with the best SNIPS
        value on the held-out visits (ties: the earlier; no support in any epoch: the
        last); ``self.selection`` records the epoch and every epoch's estimate.
        ``self.on_epoch(agent, epoch)``, if set, is called after every epoch with the
        agent ready to act (used to measure learning curves).
        """
        cfg = self.config
        two_stage_view(dataset, cfg.n_candidates)  # before the split reads it
        rows, estimator = None, None
        if cfg.validation_fraction > 0:
            split = split_rows(dataset, cfg.validation_fraction, cfg.seed)
            rows, estimator = split.train, ShownItemSNIPS(dataset, split.valid)
        generator = self.begin_fit(dataset, rows)
        n = len(self._action)
        bs = cfg.batch_size
        best, best_state, best_epoch, values, supports = math.nan, None, cfg.epochs - 1, [], []
        for epoch in range(cfg.epochs):
            self.model.train()
            order = torch.randperm(n, generator=generator)
            for step, start in enumerate(range(0, n, bs)):
                self.train_step(order[start : start + bs], generator, f"epoch {epoch}, step {step}")
            self.model.eval()
            if estimator is not None:
                value, support = estimator.value(self._top_k(estimator.context))
                values.append(value)
                supports.append(support)
                if better(value, best):
                    best, best_state = value, copy.deepcopy(self.model.state_dict())
                    best_epoch = epoch
            if getattr(self, "on_epoch", None) is not None:
                self.fitted, self._cache = True, None
                self.on_epoch(self, epoch)
                self.fitted, self._cache = False, None
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.selection = {"epoch": best_epoch + 1, "validation_snips": values,
                          "validation_support": supports}
        self._end_fit()
        return self

    def _top_k(self, x: np.ndarray) -> np.ndarray:
        """The current model's top-k item ids for contexts x (m, d_u), (m, k)."""
        with torch.no_grad():
            v, bias = self.model.item_embedding()
            logits = self.model.user_embedding(torch.from_numpy(x)) @ v.T + bias
        return logits.topk(self.shapes.n_candidates, dim=1).indices.numpy()

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
