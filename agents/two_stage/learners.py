"""Offline candidate generators for two-stage recommenders: CE, 1-IPS, 2-IPS, top-k correction.

Ma, Zhao, Yi, Yang, Chen, Tang, Hong, Chi. "Off-policy Learning in Two-stage Recommender
Systems", WWW 2020. A candidate generator p_theta(a|s) (a softmax over the catalogue)
nominates k items; a fixed ranker q(a|s,A) picks the item shown. The four agents here share
one two-tower generator (:class:`agents.networks.TwoTower`) and one training loop over the
logged positives; they differ only in the per-row weight of -log p_theta(a_i|s_i) and, for
2-IPS, one extra term (see :meth:`CandidateGenerator.row_terms`):

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


class TwoStageShapes(NamedTuple):
    """What a two-stage dataset says about the system it was logged from."""

    n_items: int
    obs_dim: int
    item_dim: int
    n_candidates: int


def check_two_stage_dataset(
    dataset: LoggedDataset, n_candidates: int | None = None
) -> TwoStageShapes:
    """Validate a dataset for two-stage agents; raise :class:`AgentError` naming the problem.

    Checks: the two-stage family; ``candidates``, ``item_features`` and ``ranker_weights``
    present; consistent catalogue size and feature shapes between the metadata, the
    context, the item features and the ranker (a mismatch means the rows were logged from
    another environment); propensities in (0, 1]; item ids inside the catalogue; at least
    one positive reward.
    """
    if not isinstance(dataset, LoggedDataset):
        raise AgentError(f"fit needs a LoggedDataset, got {type(dataset).__name__}")
    family = dataset.meta.info.get("family")
    if family != "two_stage":
        raise AgentError(
            f"two-stage agents learn from two-stage data; this dataset's family is {family!r} "
            f"(env {dataset.meta.env_id!r})"
        )
    missing = [n for n in ("candidates",) if n not in dataset.extras]
    missing += [n for n in ("item_features", "ranker_weights") if n not in dataset.system]
    if missing:
        raise AgentError(
            f"the dataset lacks {missing}; collect it with recsim_envs.data.collect from a "
            "two-stage environment"
        )
    n = len(dataset)
    if n == 0:
        raise AgentError("the dataset has no rows")
    items = np.asarray(dataset.system["item_features"])
    ranker = np.asarray(dataset.system["ranker_weights"])
    n_items, obs_dim = int(dataset.meta.n_actions), dataset.context.shape[1]
    if items.ndim != 2 or items.shape[0] != n_items:
        raise AgentError(
            f"item_features has shape {items.shape} but the metadata says {n_items} items: "
            "the system arrays come from another environment (mismatched catalogue size)"
        )
    info_dim = dataset.meta.info.get("obs_dim", obs_dim)
    if info_dim != obs_dim:
        raise AgentError(
            f"context has {obs_dim} features but the metadata says obs_dim={info_dim}: the "
            "rows were logged from another environment (mismatched feature shape)"
        )
    if ranker.shape != (obs_dim + 1, items.shape[1] + 1):
        raise AgentError(
            f"ranker_weights has shape {ranker.shape}; a ranker over {obs_dim} user and "
            f"{items.shape[1]} item features needs {(obs_dim + 1, items.shape[1] + 1)}: the "
            "system arrays come from another environment (mismatched feature shape)"
        )
    if not (np.all(np.isfinite(items)) and np.all(np.isfinite(ranker))):
        raise AgentError("item_features or ranker_weights hold NaN or infinite values")
    cands = np.asarray(dataset.extras["candidates"])
    k = int(dataset.meta.info.get("n_candidates", cands.shape[1] if cands.ndim == 2 else -1))
    # Logs drawn without replacement (the paper's protocol) carry the visit's logged items,
    # not a candidate set of size k.
    width = (int(dataset.meta.info.get("logged_per_user", k))
             if dataset.meta.info.get("protocol") == "without_replacement" else k)
    if cands.ndim != 2 or cands.shape[1] != width:
        raise AgentError(
            f"candidates has shape {cands.shape}; expected (n, {width}) (n_candidates={k})")
    if n_candidates is not None and n_candidates != k:
        raise AgentError(
            f"the agent is configured for n_candidates={n_candidates} but the data were "
            f"logged with k={k}; drop the setting or log with the same k"
        )
    pscore = np.asarray(dataset.pscore, dtype=np.float64)
    bad = ~(np.isfinite(pscore) & (pscore > 0) & (pscore <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AgentError(
            f"{int(bad.sum())} propensities are zero, missing or outside (0, 1] (first: row "
            f"{row}, pscore={pscore[row]!r}); importance weights need the logging policy's "
            "exact positive probability of every logged item"
        )
    for name, ids in (("action", dataset.action), ("candidates", cands)):
        if ids.size and (ids.min() < 0 or ids.max() >= n_items):
            raise AgentError(
                f"'{name}' holds item ids in [{ids.min()}, {ids.max()}], outside the catalogue "
                f"[0, {n_items})"
            )
    reward = np.asarray(dataset.reward)
    if not np.all(np.isfinite(reward)):
        raise AgentError("reward holds NaN or infinite values")
    if not np.any(reward > 0):
        raise AgentError(
            f"the dataset's {n} rows have no positive reward; these agents learn from logged "
            "positives (clicks): log more rounds or a better behaviour policy"
        )
    return TwoStageShapes(n_items, obs_dim, int(items.shape[1]), k)


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


def two_ips_terms(
    log_p: torch.Tensor,
    ranker_scores: torch.Tensor,
    a_col: torch.Tensor,
    sets: torch.Tensor,
    weights: torch.Tensor,
    ranker_temperature: float,
    sets_sorted: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two 2-IPS terms for given candidate sets, vectorised over rows and sets.

    Args:
        log_p: (b, P) log p_theta over the pool (carries gradient).
        ranker_scores: (b, P) the ranker's scores of the pool items.
        a_col: (b,) pool column of each row's logged item.
        sets: (b, tau, k) pool columns drawn from the tempered policy (repeats allowed; the
            logged item is added by this function).
        weights: (b,) importance weights w_i (detached).
        ranker_temperature: T_q of the restricted ranker softmax.
        sets_sorted: the caller guarantees each set is sorted (skips a sort).

    Returns:
        coef (b,) = mean_m w_i q_m(a_i), and slate (b,) = mean_m w_i q_m(a_i) sum_{j in A_m,
        j != a_i} log p(j|s_i), with A_m = {a_i} united with the distinct items of set m and
        q_m(a_i) = exp(r_a / T_q) / sum_{j in A_m} exp(r_j / T_q) (Ma et al. 2020, Eq. 9 with
        the authors' sampled approximation).
    """
    b, tau, k = sets.shape
    if not sets_sorted:
        sets = sets.sort(dim=2).values
    # In a sorted set, repeats are adjacent: keep the first of each run, and drop the logged
    # item (it is counted once, separately).
    co = torch.ones_like(sets, dtype=torch.bool)
    co[:, :, 1:] = sets[:, :, 1:] != sets[:, :, :-1]
    co &= sets != a_col.view(b, 1, 1)
    flat = sets.reshape(b, -1)
    r = ranker_scores.gather(1, flat).view(b, tau, k) / ranker_temperature
    r_a = ranker_scores.gather(1, a_col[:, None]) / ranker_temperature  # (b, 1)
    top = torch.maximum(r.amax(dim=2), r_a)  # (b, tau), for a stable softmax
    norm = ((r - top[:, :, None]).exp() * co).sum(dim=2) + (r_a - top).exp()
    wq = weights[:, None] * (r_a - top).exp() / norm  # (b, tau): w_i q_m(a_i)
    # sum_m wq_m sum_{j in co_m} log p_j = sum_j log p_j * (sum_m wq_m [j in co_m]): scatter the
    # detached coefficients onto the pool first, so the gradient path is one (b, P) product.
    coeff = torch.zeros_like(log_p, dtype=wq.dtype)
    coeff.scatter_add_(1, flat, (wq[:, :, None] * co).view(b, -1))
    slate = (coeff * log_p).sum(dim=1) / tau
    return wq.mean(dim=1), slate


def sample_sets(
    probs: torch.Tensor, n_sets: int, set_size: int, generator: torch.Generator
) -> torch.Tensor:
    """``n_sets`` sets of ``set_size`` i.i.d. draws from each row of ``probs`` (b, P).

    Returns (b, n_sets, set_size) int64 column indices, each set sorted. Inverse-CDF
    sampling with sorted uniforms: the order statistics of k uniforms are the normalised
    cumulative sums of k + 1 exponentials (no sort needed), and the inverse CDF is monotone,
    so every set comes out sorted (repeats adjacent) and the search visits the CDF in order.
    A set of i.i.d. draws is unordered, so sorting it changes nothing. Exact up to float
    rounding of the cumulative sums; faster than ``torch.multinomial`` for many draws.
    """
    b, n_cols = probs.shape
    cdf = probs.double().cumsum(dim=1)
    uniforms = torch.rand(b, n_sets, set_size + 1, generator=generator, dtype=torch.float64)
    spacings = -uniforms.clamp_min_(1e-300).log_()  # rand may return exactly 0
    stats = spacings.cumsum(dim=2)
    u = (stats[:, :, :-1] / stats[:, :, -1:]) * cdf[:, -1:, None]
    idx = torch.searchsorted(cdf, u.view(b, -1), right=True)
    return idx.clamp_max_(n_cols - 1).view(b, n_sets, set_size)


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
        g = torch.Generator().manual_seed(int(cfg.seed))
        self.shapes = shapes
        self.model = init_from_generator(
            TwoTower(
                shapes.obs_dim,
                torch.from_numpy(np.asarray(dataset.system["item_features"], dtype=np.float32)),
                cfg.embed_dim,
                cfg.hidden,
                cfg.id_embedding,
            ),
            g,
        )
        self._set_ranker(np.asarray(dataset.system["ranker_weights"], dtype=np.float32))
        params = self.model.parameters()
        if cfg.optimizer == "adagrad":
            self._optimizer = torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self._optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self._cache = None
        self.fitted = False
        return g

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
        g = self.begin_fit(dataset)
        n = len(self._action)
        bs = self.config.batch_size
        self.model.train()
        for epoch in range(self.config.epochs):
            order = torch.randperm(n, generator=g)
            for step, start in enumerate(range(0, n, bs)):
                self.train_step(order[start : start + bs], g, f"epoch {epoch}, step {step}")
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


class CE(CandidateGenerator):
    """Cross-entropy on logged positives: coef_i = 1 (ignores propensities and the ranker)."""

    name: ClassVar[str] = "ce"

    def row_terms(self, batch, view, generator):
        return torch.ones(len(batch.action)), None


class OneIPS(CandidateGenerator):
    """1-IPS: coef_i = w_i, the clipped, self-normalised p_theta(a_i|s_i) / pscore_i.

    Treats the generator as if it were the whole system (Ma et al. 2020, Sec. 3).
    """

    name: ClassVar[str] = "ips"

    def row_terms(self, batch, view, generator):
        return self.weights(batch, view), None


class TopKCorrection(CandidateGenerator):
    """Top-K off-policy correction (Chen et al., "Top-K Off-Policy Correction for a REINFORCE
    Recommender System", WSDM 2019): the 1-IPS weight times lambda_K = K (1 - p(a|s))^(K-1),
    with K = n_candidates, then self-normalised (lambda_K treated as a constant)."""

    name: ClassVar[str] = "topk_correction"

    def row_terms(self, batch, view, generator):
        cfg = self.config
        log_p_a = view.log_p.gather(1, view.a_col[:, None])[:, 0].detach()
        k = self.shapes.n_candidates
        lam = k * (1.0 - log_p_a.exp()).clamp_min(0.0).pow(k - 1)
        w = importance_weights(log_p_a, batch.pscore, cfg.weight_clip, False) * lam
        return (w / w.mean().clamp_min(1e-12) if cfg.self_normalise else w), None


class TwoIPS(CandidateGenerator):
    """2-IPS (Ma et al., WWW 2020, Eq. 9 and the authors' sampled estimator).

    For each logged positive, tau = ``n_sets`` sets of k = ``n_candidates`` draws with
    replacement from softmax(logits / ``policy_temperature``) are drawn in one
    inverse-CDF search over b rows x (tau k) draws (see :func:`sample_sets`); the logged
    item is added to every set.
    See :func:`two_ips_terms` for the weights.
    """

    name: ClassVar[str] = "two_ips"

    def row_terms(self, batch, view, generator):
        cfg = self.config
        w = self.weights(batch, view)
        k, tau = self.shapes.n_candidates, cfg.n_sets
        with torch.no_grad():
            tempered = (view.logits[:, view.draw_from :] / cfg.policy_temperature).softmax(dim=1)
            sets = sample_sets(tempered, tau, k, generator) + view.draw_from
            scores = self.ranker_scores(batch.x, view.pool)
        coef, slate = two_ips_terms(
            view.log_p, scores, view.a_col, sets, w, cfg.ranker_temperature, sets_sorted=True
        )
        return coef, -cfg.alpha * slate.mean()
