"""iALP and A-iALP: language-model-driven policy pre-training and online adaptation.

Paper: Wang, Karatzoglou, Arapakis, Jose, "Large Language Model driven Policy Exploration
for Recommender Systems", WSDM 2025 (arXiv 2501.13816). The paper's code is not public;
the design below is ours, following ``/work/shared/reference/ialp.md`` (see
``docs/sequential.md``):

- :class:`IALP` (offline, no access to true ratings): imagine sessions in which a simulated
  user that speaks text (:class:`recsim_envs.llm.LLMUser`) states which candidates it
  prefers; fit a Bradley-Terry reward model on (preferred, not preferred) pairs; train an
  actor-critic over a state encoder of the recent history on the imagined transitions
  (rewards from the reward model) and on any logged rollouts given.
- :class:`AIALPFineTune` (A-iALP_ft): iALP, then the same actor-critic updates online.
- :class:`AIALPAdaptive` (A-iALP_ap, our reading of the paper's adaptive variant, in the
  spirit of Policy Expansion, Zhang et al., ICLR 2023): the pre-trained actor is kept
  frozen beside an online actor (initialised as a copy); each step both propose an item
  and one is drawn from softmax(beta * [Q(s, a_pre), Q(s, a_on)]); only the online actor
  and the critic learn.
- :class:`LLMGreedy`: the language model's top choice among all items.

Every agent acts on the flat observation of
:class:`~recsim_envs.envs.sequential.SequentialFlatObservation`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.data import LoggedDataset
from recsim_envs.envs.sequential import ObsLayout
from recsim_envs.threads import torch_threads

# ---------------------------------------------------------------------- networks


def single_threaded(fn: Callable) -> Callable:
    """Decorator: run ``fn`` under :func:`torch_threads` (1 thread)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapper



def init_params(module: nn.Module, gen: torch.Generator) -> None:
    """Re-initialise every parameter from ``gen`` (no global torch RNG).

    Linear weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default scale), biases
    0, embeddings ~ N(0, 0.1^2).
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / np.sqrt(m.in_features)
                m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.1)
        for name, p in module.named_parameters():
            if name.endswith("item_bias"):
                p.zero_()


def text_user_of(deployment: Any) -> Any:
    """The deployment's simulated text user (a fresh one), or None."""
    factory = getattr(deployment, "text_user", None)
    return None if factory is None else factory()


class ItemScorer(nn.Module):
    """State encoder of (user features, last k items with feedback) and one score per item.

    Encoder: each recent item is embedded as ``W_f f_j + e_j`` (public item features f
    plus a free embedding; the padding id gets a zero feature row), concatenated with its
    rating / rating_max; the k slots are flattened (so position matters), joined with the
    user features and passed through a 2-layer MLP -> h (n, hidden).
    Head: score(s, j) = q(h) . (V_f f_j + o_j) + b_j + g(x_sj), so items with similar
    attributes get similar scores; x_sj are per-(state, item) interaction features from
    public attributes - item j already in the history, how often its category occurs in
    the history and in the last two slots, whether the user states to like its category -
    and g is a small MLP (these make boredom and repeats easy to represent).
    Input (n, dim) flat observations; output (n, n_items).
    """

    def __init__(self, layout: ObsLayout, item_features: np.ndarray, item_category: np.ndarray,
                 d_emb: int = 16, hidden: int = 64, rating_max: float = 5.0) -> None:
        super().__init__()
        self.layout = layout
        self.rating_max = rating_max
        f = torch.as_tensor(np.asarray(item_features, np.float32))
        self.register_buffer("feats", torch.cat([f, torch.zeros(1, f.shape[1])]))
        n, d_f = layout.n_items, f.shape[1]
        self.feat_in = nn.Linear(d_f, d_emb, bias=False)
        self.emb_in = nn.Embedding(n + 1, d_emb)
        d_in = layout.d_user + layout.history_len * (d_emb + 1)
        self.mlp = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU())
        self.query = nn.Linear(hidden, d_emb)
        self.feat_out = nn.Linear(d_f, d_emb, bias=False)
        self.emb_out = nn.Embedding(n, d_emb)
        self.item_bias = nn.Parameter(torch.zeros(n))
        cat = torch.as_tensor(np.asarray(item_category, np.int64))
        n_cat = int(cat.max()) + 1 if len(cat) else 1
        onehot = F.one_hot(cat, n_cat).float()
        self.register_buffer("item_cat", cat)
        self.register_buffer("cat_onehot", torch.cat([onehot, torch.zeros(1, n_cat)]))
        self.n_cat = n_cat
        self.inter = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        lay = self.layout
        d, k = lay.d_user, lay.history_len
        user = obs[:, 1:1 + d]
        items = obs[:, 1 + d:1 + d + k].long().clamp(0, lay.n_items)
        fb = obs[:, 1 + d + k:1 + d + 2 * k] / self.rating_max
        vec = self.feat_in(self.feats) + self.emb_in.weight  # (n_items + 1, d_emb)
        hist = torch.cat([vec[items], fb.unsqueeze(-1)], dim=-1).flatten(1)
        h = self.mlp(torch.cat([user, hist], dim=1))
        out = self.feat_out(self.feats[:-1]) + self.emb_out.weight  # (n_items, d_emb)
        return self.query(h) @ out.T + self.item_bias + self._interactions(user, items)

    def _interactions(self, user: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        n, n_items = len(items), self.layout.n_items
        seen = torch.zeros(n, n_items + 1).scatter_(1, items, 1.0)[:, :n_items]
        cats = self.cat_onehot[items]  # (n, k, n_cat)
        count = cats.sum(1)[:, self.item_cat] / self.layout.history_len
        recent = cats[:, -2:].sum(1)[:, self.item_cat]
        likes = user[:, -self.n_cat:] if user.shape[1] >= self.n_cat else torch.zeros(n, 1)
        liked = likes[:, self.item_cat] if likes.shape[1] == self.n_cat else torch.zeros_like(seen)
        x = torch.stack([seen, count, recent, liked], dim=-1)  # (n, n_items, 4)
        return self.inter(x)[..., 0]


class ReplayBuffer:
    """Fixed-capacity ring buffer of (s, a, r, s', terminated) as numpy arrays."""

    def __init__(self, dim: int, capacity: int) -> None:
        self.s = np.zeros((capacity, dim), np.float32)
        self.s2 = np.zeros((capacity, dim), np.float32)
        self.a = np.zeros(capacity, np.int64)
        self.r = np.zeros(capacity, np.float32)
        self.d = np.zeros(capacity, np.float32)
        self.capacity, self.size, self.ptr = capacity, 0, 0

    def add(self, s, a, r, s2, d) -> None:
        i = self.ptr
        self.s[i], self.a[i], self.r[i], self.s2[i], self.d[i] = s, a, r, s2, d
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(self.size, size=n)
        return tuple(torch.as_tensor(x[idx]) for x in (self.s, self.a, self.r, self.s2, self.d))


# ---------------------------------------------------------------------- iALP


@dataclass
class IALPConfig:
    """Settings of :class:`IALP` (and the online variants).

    Attributes:
        seed: seeds numpy sampling and the torch generator.
        n_imagined_sessions, session_len: imagined rollouts with the language model.
        n_candidates: items listed in each prompt (drawn at random per turn).
        explore: probability that an imagined turn shows a random candidate instead of
            the model's top choice (so the reward model sees non-preferred items too).
        pairs_per_turn: (preferred, not preferred) pairs kept per imagined turn.
        gamma: discount.
        d_emb, hidden: network sizes.
        lr: Adam learning rate (offline).
        rm_updates, ac_updates, batch_size: offline optimisation steps.
        bc_weight: weight of the cross-entropy pull of the actor toward the logged or
            language-model action (TD3+BC-style regulariser for offline training).
        anchor_weight: weight of the reward-model anchor of the critic for the actions
            not taken (see :meth:`IALP._update`); ``online_anchor_weight`` online.
        entropy: entropy bonus of the actor.
        tau: Polyak rate of the target critic.
        use_logged: also train on the logged rollouts of the dataset given to ``fit``.
        online_lr, online_batch, updates_per_step, online_bc_weight, epsilon,
        buffer_size, learning_starts: online phase (A-iALP).
        beta: inverse temperature of A-iALP_ap's choice between the two proposals.
    """

    seed: int = 0
    n_imagined_sessions: int = 300
    session_len: int = 10
    n_candidates: int = 20
    explore: float = 0.3
    pairs_per_turn: int = 5
    gamma: float = 0.9
    d_emb: int = 16
    hidden: int = 64
    lr: float = 3e-3
    rm_updates: int = 600
    ac_updates: int = 1500
    batch_size: int = 256
    bc_weight: float = 0.1
    anchor_weight: float = 1.0
    entropy: float = 0.01
    tau: float = 0.02
    use_logged: bool = True
    online_lr: float = 1e-3
    online_batch: int = 64
    updates_per_step: int = 1
    online_bc_weight: float = 0.0
    online_anchor_weight: float = 1.0
    epsilon: float = 0.05
    buffer_size: int = 20_000
    learning_starts: int = 64
    beta: float = 1.0

    def __post_init__(self) -> None:
        for name in ("n_imagined_sessions", "session_len", "pairs_per_turn", "d_emb", "hidden",
                     "batch_size", "online_batch", "buffer_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_candidates < 2:
            raise ValueError(f"n_candidates must be >= 2, got {self.n_candidates}")
        for name in ("explore", "epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        for name in ("lr", "online_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("rm_updates", "ac_updates", "updates_per_step", "learning_starts",
                     "bc_weight", "online_bc_weight", "entropy", "beta", "anchor_weight",
                     "online_anchor_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


class IALP(BaseAgent):
    """iALP: offline actor-critic pre-training on a language model's stated preferences.

    ``fit(dataset, llm=...)`` needs the :class:`~recsim_envs.llm.LLMUser` handle from
    ``env.unwrapped.make_llm_user(alignment=...)``; the agent reads only the public
    catalogue and the model's text answers, never the rating matrix. The dataset supplies
    the observation layout and catalogue (``system``) and, with ``use_logged``, logged
    transitions (extras ``next_context``, ``terminated``).
    """

    name: ClassVar[str] = "ialp"
    Config: ClassVar[type] = IALPConfig

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        c = self.config
        self._rng = np.random.default_rng(c.seed)
        self._gen = torch.Generator().manual_seed(c.seed)
        self.layout: ObsLayout | None = None
        self.reward_scale = np.array([1.0, 0.0], np.float32)  # affine calibration (a, b)
        self.fit_info: dict[str, float] = {}

    # ------------------------------------------------------------ building
    def _build(self, layout: ObsLayout, item_features: np.ndarray, item_category: np.ndarray,
               rating_max: float) -> None:
        c = self.config
        self.layout = layout
        self.item_features = np.asarray(item_features, np.float32)
        self.item_category = np.asarray(item_category, np.int64)
        self.rating_max = float(rating_max)

        def net() -> ItemScorer:
            m = ItemScorer(layout, self.item_features, self.item_category, c.d_emb, c.hidden,
                           self.rating_max)
            init_params(m, self._gen)
            return m

        self.actor, self.critic, self.reward_model = net(), net(), net()
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self._make_optims(c.lr)

    def _make_optims(self, lr: float) -> None:
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)

    def _setup_from(self, dataset: LoggedDataset) -> None:
        dataset.require("obs_layout", "item_features", "item_category")
        layout = ObsLayout.from_array(dataset.system["obs_layout"])
        if dataset.context.shape[1] != layout.dim:
            raise AgentError(f"contexts have {dataset.context.shape[1]} columns; the layout "
                             f"says {layout.dim}: log with the sequential environment")
        rmax = float(dataset.meta.env_kwargs.get("rating_max", 5.0))
        self._build(layout, dataset.system["item_features"], dataset.system["item_category"],
                    rmax)

    # ------------------------------------------------------------ offline
    @single_threaded
    def fit(self, dataset: LoggedDataset, deployment: Any = None, *, llm: Any = None) -> IALP:
        """Pre-train from imagined sessions with ``llm`` (and logged rollouts if any).

        Args:
            dataset: logged sequential rollouts (may be small; see ``use_logged``).
            deployment: the deployed system; its ``text_user()`` is the language-model user.
            llm: an :class:`~recsim_envs.llm.LLMUser` given directly (overrides the
                deployment's).
        """
        llm = llm if llm is not None else text_user_of(deployment)
        if llm is None:
            raise AgentError("iALP needs the language-model user: fit(dataset, "
                             "llm=env.unwrapped.make_llm_user(alignment=...))")
        self._setup_from(dataset)
        before = dict(getattr(llm, "stats", {}))
        imagined = self._imagine(llm)
        after = getattr(llm, "stats", {})
        # Answers with no parseable candidate (documented fallback) and made-up names.
        self.fit_info.update({f"llm_{k}": after[k] - before.get(k, 0)
                              for k in ("calls", "fallbacks", "unknown_names") if k in after})
        self._fit_reward_model(imagined)
        s, a, r, s2, d, a_bc = self._offline_transitions(imagined, dataset)
        self._fit_actor_critic(s, a, r, s2, d, a_bc)
        self.fitted = True
        return self

    def _imagine(self, llm: Any) -> dict[str, np.ndarray]:
        """Roll out imagined sessions with the language model as the user.

        Per turn: ``n_candidates`` random items are listed; the model names preferred
        ones; the shown item is its top choice (or, with probability ``explore``, a random
        candidate). The imagined rating is 5 for the top two named items, 4 for the other
        named ones and 2 for items not named - it only drives the text history; rewards for
        learning come from the reward model. Sessions loop over turns and users because
        each language-model call is one prompt.
        """
        c, lay, rng = self.config, self.layout, self._rng
        n, t_max, n_items = c.n_imagined_sessions, c.session_len, lay.n_items
        users = llm.sample_users(n, rng)
        feats = llm.user_features(users)
        hist = np.full((n, lay.history_len), n_items, np.int64)
        fb = np.zeros((n, lay.history_len), np.float32)
        n_cand = min(c.n_candidates, n_items)
        states, actions, top, nexts, pref_s, pref_w, pref_l = [], [], [], [], [], [], []
        for t in range(t_max):
            s = _flat(users, feats, hist, fb)
            cand = self._candidates(hist, llm.catalogue.item_category, n_cand)
            act = np.empty(n, np.int64)
            best = np.empty(n, np.int64)
            rating = np.empty(n, np.float32)
            for i in range(n):
                parsed = llm.ask(int(users[i]), hist[i], fb[i], cand[i],
                                 seed=c.seed * 1_000_003 + t)
                named = parsed.items
                best[i] = named[0]
                act[i] = cand[i, rng.integers(n_cand)] if rng.random() < c.explore else named[0]
                pos = np.flatnonzero(named == act[i])
                rating[i] = (5.0 if pos[0] < 2 else 4.0) if pos.size else 2.0
                losers = np.setdiff1d(cand[i], named)
                if losers.size and not parsed.fallback:
                    k = min(c.pairs_per_turn, losers.size * named.size)
                    pref_s.append(np.full(k, len(states) * n + i))
                    pref_w.append(named[rng.integers(named.size, size=k)])
                    pref_l.append(losers[rng.integers(losers.size, size=k)])
            states.append(s)
            actions.append(act)
            top.append(best)
            hist = np.concatenate([hist[:, 1:], act[:, None]], axis=1)
            fb = np.concatenate([fb[:, 1:], rating[:, None]], axis=1)
            nexts.append(_flat(users, feats, hist, fb))
        if not pref_s:
            raise AgentError("the language model never named a candidate item; every answer "
                             "fell back. Check the backend's answers (llm.stats)")
        return {
            "s": np.concatenate(states), "a": np.concatenate(actions),
            "top": np.concatenate(top), "s2": np.concatenate(nexts),
            "pair_s": np.concatenate(pref_s), "pair_w": np.concatenate(pref_w),
            "pair_l": np.concatenate(pref_l),
        }

    def _candidates(self, hist: np.ndarray, item_category: np.ndarray, n_cand: int) -> np.ndarray:
        """(n, k) histories -> (n, n_cand) distinct candidate items for the prompts.

        Like a retrieval stage: half are "more of the same" (the history's items and items
        of its categories, drawn at random among them), half uniformly random others, so
        the language model's answers show the reward model both novelty and boredom.
        """
        n, n_items = len(hist), self.layout.n_items
        rng = self._rng
        seen = np.zeros((n, n_items + 1), bool)
        np.put_along_axis(seen, hist, True, axis=1)
        cat_seen = np.zeros((n, int(item_category.max()) + 2), bool)
        cat_hist = np.where(hist < n_items, np.append(item_category, -1)[hist], -1)
        np.put_along_axis(cat_seen, cat_hist, True, axis=1)  # -1 lands in the spare column
        similar = seen[:, :n_items] | cat_seen[:, item_category]
        half = n_cand // 2
        first = np.argsort(-(rng.random((n, n_items)) + similar), axis=1)[:, :half]
        pri = rng.random((n, n_items))
        np.put_along_axis(pri, first, -1.0, axis=1)
        rest = np.argsort(-pri, axis=1)[:, :n_cand - half]
        return np.concatenate([first, rest], axis=1)

    def _fit_reward_model(self, im: dict[str, np.ndarray]) -> None:
        """Bradley-Terry: maximise log sigmoid(r(s, preferred) - r(s, not preferred))."""
        c = self.config
        opt = torch.optim.Adam(self.reward_model.parameters(), lr=c.lr)
        s_all = torch.as_tensor(im["s"])
        idx_s, w, l_ = (torch.as_tensor(im[k]) for k in ("pair_s", "pair_w", "pair_l"))
        loss = torch.tensor(0.0)
        for _ in range(c.rm_updates):
            b = torch.as_tensor(self._rng.integers(len(idx_s), size=c.batch_size))
            r = self.reward_model(s_all[idx_s[b]])
            diff = r.gather(1, w[b, None]) - r.gather(1, l_[b, None])
            loss = -F.logsigmoid(diff).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            r = self.reward_model(s_all[idx_s])
            acc = (r.gather(1, w[:, None]) > r.gather(1, l_[:, None])).float().mean()
        self.fit_info.update(rm_loss=loss.item(), rm_pair_accuracy=acc.item(),
                             n_pairs=int(len(idx_s)))

    def _reward(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            r = self.reward_model(torch.as_tensor(s)).gather(1, torch.as_tensor(a)[:, None])
        return r[:, 0].numpy()

    def _offline_transitions(self, im, dataset: LoggedDataset):
        """Imagined transitions with calibrated reward-model rewards, plus logged ones.

        Calibration: the Bradley-Terry scores have an arbitrary scale, so they are mapped
        affinely to the reward scale: by least squares against the logged rewards when
        logged rollouts are given (those are real feedback, no ratings matrix involved),
        otherwise to mean 3, standard deviation 1 on the imagined turns.
        """
        c = self.config
        r_im = self._reward(im["s"], im["a"])
        logged = c.use_logged and len(dataset) > 0
        if logged:
            dataset.require("next_context", "terminated")
            r_log_hat = self._reward(dataset.context, dataset.action)
            design = np.stack([r_log_hat, np.ones_like(r_log_hat)], 1)
            coef, *_ = np.linalg.lstsq(design, dataset.reward, rcond=None)
            a_, b_ = float(coef[0]), float(coef[1])
            if a_ <= 0:  # the reward model disagrees with the logs; fall back to z-scoring
                a_, b_ = 1.0 / max(r_im.std(), 1e-6), 3.0 - r_im.mean() / max(r_im.std(), 1e-6)
        else:
            a_, b_ = 1.0 / max(r_im.std(), 1e-6), 3.0 - r_im.mean() / max(r_im.std(), 1e-6)
        self.reward_scale = np.array([a_, b_], np.float32)
        parts = [(im["s"], im["a"], a_ * r_im + b_, im["s2"], np.zeros(len(r_im), np.float32),
                  im["top"])]
        if logged:
            parts.append((dataset.context, dataset.action, dataset.reward,
                          dataset.extras["next_context"],
                          dataset.extras["terminated"].astype(np.float32), dataset.action))
        out = [np.concatenate(x) for x in zip(*parts, strict=True)]
        self.fit_info.update(reward_scale_a=a_, reward_scale_b=b_,
                             n_imagined=int(len(r_im)), n_logged=int(len(dataset) if logged else 0))
        return out

    def _fit_actor_critic(self, s, a, r, s2, d, a_bc) -> None:
        c = self.config
        tensors = [torch.as_tensor(np.asarray(x)) for x in (s, a, r, s2, d, a_bc)]
        tensors[2] = tensors[2].float()
        tensors[4] = tensors[4].float()
        n = len(tensors[0])
        for _ in range(c.ac_updates):
            b = torch.as_tensor(self._rng.integers(n, size=c.batch_size))
            bs, ba, br, bs2, bd, bbc = (x[b] for x in tensors)
            self._update(bs, ba, br, bs2, bd, bbc, c.bc_weight, c.anchor_weight)

    # ------------------------------------------------------------ updates
    def _next_value(self, s2: torch.Tensor) -> torch.Tensor:
        """Expected SARSA: sum_a pi(a|s') Q_target(s', a)."""
        pi = torch.softmax(self.actor(s2), dim=1)
        return (pi * self.critic_target(s2)).sum(1)

    def _train_actor(self) -> nn.Module:
        return self.actor

    def _update(self, s, a, r, s2, d, a_bc, bc_weight: float, anchor_weight: float) -> None:
        """One critic (TD) and one actor (all-action policy gradient) step on a batch.

        Critic: (Q(s, a) - [r + gamma (1 - d) V(s')])^2 for the taken action, plus
        ``anchor_weight`` * mean over the other actions a' of
        (Q(s, a') - [r_hat(s, a') + gamma V(s')])^2, where r_hat is the calibrated reward
        model and V(s') the value after the taken action (an approximation: the next
        state's value is assumed not to depend on which item was shown). The anchor is
        ours: it gives the critic the language model's view of every item, not only of
        the items that were shown. Actor: maximise
        sum_a pi(a|s) A(s, a) + entropy * H(pi) - bc_weight * log pi(a_bc|s), with
        A(s, a) = (Q(s, a) - mean_a' Q(s, a')) / (batch mean of the std of Q(s, .)).
        """
        c = self.config
        with torch.no_grad():
            v2 = self._next_value(s2)
            y = r + c.gamma * (1.0 - d) * v2
        q_all = self.critic(s)
        q = q_all.gather(1, a[:, None])[:, 0]
        critic_loss = F.mse_loss(q, y)
        if anchor_weight > 0:
            with torch.no_grad():
                scale = torch.as_tensor(self.reward_scale)
                y_all = scale[0] * self.reward_model(s) + scale[1] + c.gamma * v2[:, None]
                mask = torch.ones_like(q_all)
                mask[torch.arange(len(a)), a] = 0.0
            anchor = (((q_all - y_all) ** 2) * mask).sum() / mask.sum()
            critic_loss = critic_loss + anchor_weight * anchor
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        actor = self._train_actor()
        logits = actor(s)
        logp = torch.log_softmax(logits, dim=1)
        pi = logp.exp()
        with torch.no_grad():
            qs = self.critic(s)
            # Q varies little across items relative to its level (~ r / (1 - gamma)), so
            # scale by the spread across items, not by |Q| (which would stall the actor).
            qs = (qs - qs.mean(1, keepdim=True)) / qs.std(1).mean().clamp_min(1e-3)
        loss = -(pi * qs).sum(1).mean() + c.entropy * (pi * logp).sum(1).mean()
        if bc_weight > 0:
            loss = loss + bc_weight * F.nll_loss(logp, a_bc)
        self.actor_opt.zero_grad()
        loss.backward()
        self.actor_opt.step()
        with torch.no_grad():
            for p, pt in zip(self.critic.parameters(), self.critic_target.parameters(),
                             strict=True):
                pt.mul_(1 - c.tau).add_(c.tau * p)

    # ------------------------------------------------------------ acting
    def _obs(self, obs: np.ndarray) -> tuple[torch.Tensor, bool]:
        self._require_fitted()
        arr, single = as_batch(obs, self.layout.dim)
        return torch.as_tensor(arr), single

    @single_threaded
    def item_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) softmax of the actor (``act`` deploys its argmax)."""
        x, _ = self._obs(obs)
        with torch.no_grad():
            return torch.softmax(self.actor(x), dim=1).double().numpy()

    @single_threaded
    def act(self, obs: np.ndarray) -> np.ndarray | int:
        """Greedy item of the actor (deployment; no exploration)."""
        x, single = self._obs(obs)
        with torch.no_grad():
            a = self.actor(x).argmax(1).numpy()
        return int(a[0]) if single else a

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        if self.layout is None:
            return {}
        return {
            "layout": self.layout.to_array(), "item_features": self.item_features,
            "item_category": self.item_category, "rating_max": self.rating_max,
            "reward_scale": self.reward_scale,
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "reward_model": self.reward_model.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._build(ObsLayout.from_array(state["layout"]), state["item_features"],
                    state["item_category"], float(state["rating_max"]))
        self.reward_scale = np.asarray(state["reward_scale"], np.float32)
        for key in ("actor", "critic", "critic_target", "reward_model"):
            getattr(self, key).load_state_dict(state[key])


def _flat(users, feats, hist, fb) -> np.ndarray:
    return np.concatenate([users[:, None].astype(np.float32), feats, hist.astype(np.float32),
                           fb], axis=1).astype(np.float32)


# ---------------------------------------------------------------------- A-iALP


class AIALPFineTune(IALP):
    """A-iALP_ft: iALP pre-training, then online fine-tuning of actor and critic.

    Online (through the harness): :meth:`explore` samples from the actor (with
    ``epsilon`` uniform exploration); :meth:`observe` stores the transition and runs
    ``updates_per_step`` actor-critic updates on replayed online transitions.
    """

    name: ClassVar[str] = "a_ialp_ft"

    @single_threaded
    def fit(self, dataset: LoggedDataset, deployment: Any = None, *,
            llm: Any = None) -> AIALPFineTune:
        super().fit(dataset, deployment, llm=llm)
        self._start_online()
        return self

    def from_pretrained(self, pre: IALP) -> AIALPFineTune:
        """Start from an already pre-trained :class:`IALP` (copies its networks)."""
        pre._require_fitted()
        self.load_state_dict(copy.deepcopy(pre.state_dict()))
        self.fit_info = dict(pre.fit_info)
        self.fitted = True
        self._start_online()
        return self

    def _start_online(self) -> None:
        self._make_optims(self.config.online_lr)
        self.buffer = ReplayBuffer(self.layout.dim, self.config.buffer_size)
        self.online_steps = 0

    def _sample(self, logits: torch.Tensor) -> np.ndarray:
        """Sample from softmax(logits) with epsilon-uniform mixing, from the agent's rng."""
        p = torch.softmax(logits, dim=1).double().numpy()
        p = (1 - self.config.epsilon) * p + self.config.epsilon / p.shape[1]
        u = self._rng.random((len(p), 1))
        return np.minimum((p.cumsum(1) < u).sum(1), p.shape[1] - 1)

    @single_threaded
    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        """Exploring action for online training episodes."""
        x, single = self._obs(obs)
        with torch.no_grad():
            a = self._sample(self.actor(x))
        return int(a[0]) if single else a

    @single_threaded
    def observe(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Store one online transition and learn from the replay buffer."""
        self.buffer.add(np.asarray(obs, np.float32), int(action), float(reward),
                        np.asarray(next_obs, np.float32), float(bool(terminated)))
        self.online_steps += 1
        c = self.config
        if self.buffer.size < c.learning_starts:
            return
        for _ in range(c.updates_per_step):
            s, a, r, s2, d = self.buffer.sample(c.online_batch, self._rng)
            self._update(s, a, r, s2, d, a, c.online_bc_weight, c.online_anchor_weight)


class AIALPAdaptive(AIALPFineTune):
    """A-iALP_ap (our reading of the paper's adaptive variant; see the module docstring).

    The pre-trained actor ``actor_pre`` stays frozen; ``actor`` (the online actor, a copy at
    the start) and the critic learn. Each step both actors propose an item (sampled while
    exploring, greedy when deployed) and the critic picks one: with probability
    softmax(beta * [Q(s, a_pre), Q(s, a_on)]) while exploring, the argmax when deployed.
    The critic's target uses the same composite choice at s' with greedy proposals.
    """

    name: ClassVar[str] = "a_ialp_ap"

    def _start_online(self) -> None:
        super()._start_online()
        self.actor_pre = copy.deepcopy(self.actor).requires_grad_(False)
        self.choice_counts = np.zeros(2, np.int64)  # [pre-trained, online] proposals used

    def _composite(self, x: torch.Tensor, a_pre, a_on, stochastic: bool) -> np.ndarray:
        with torch.no_grad():
            q = self.critic(x)
        idx = torch.arange(len(x))
        qs = torch.stack([q[idx, torch.as_tensor(a_pre)], q[idx, torch.as_tensor(a_on)]], 1)
        if stochastic:
            p = torch.softmax(self.config.beta * qs, dim=1)[:, 1].double().numpy()
            pick = (self._rng.random(len(x)) < p).astype(np.int64)
        else:
            pick = qs.argmax(1).numpy()
        return pick

    def _next_value(self, s2: torch.Tensor) -> torch.Tensor:
        if not hasattr(self, "actor_pre"):  # offline pre-training: plain iALP target
            return super()._next_value(s2)
        q = self.critic_target(s2)
        idx = torch.arange(len(s2))
        qs = torch.stack([q[idx, self.actor_pre(s2).argmax(1)], q[idx, self.actor(s2).argmax(1)]],
                         1)
        return (torch.softmax(self.config.beta * qs, dim=1) * qs).sum(1)

    @single_threaded
    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        x, single = self._obs(obs)
        with torch.no_grad():
            a_pre, a_on = self._sample(self.actor_pre(x)), self._sample(self.actor(x))
        pick = self._composite(x, a_pre, a_on, stochastic=True)
        self.choice_counts += np.bincount(pick, minlength=2)
        a = np.where(pick == 1, a_on, a_pre)
        return int(a[0]) if single else a

    @single_threaded
    def act(self, obs: np.ndarray) -> np.ndarray | int:
        if not hasattr(self, "actor_pre"):
            return super().act(obs)
        x, single = self._obs(obs)
        with torch.no_grad():
            a_pre, a_on = self.actor_pre(x).argmax(1).numpy(), self.actor(x).argmax(1).numpy()
        pick = self._composite(x, a_pre, a_on, stochastic=False)
        a = np.where(pick == 1, a_on, a_pre)
        return int(a[0]) if single else a

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state and hasattr(self, "actor_pre"):
            state["actor_pre"] = self.actor_pre.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state and "actor_pre" in state:
            self.actor_pre = copy.deepcopy(self.actor).requires_grad_(False)
            self.actor_pre.load_state_dict(state["actor_pre"])


# ---------------------------------------------------------------------- LLM greedy


@dataclass
class LLMGreedyConfig:
    """Settings of :class:`LLMGreedy`.

    Attributes:
        seed: the language model's answer seed.
        n_candidates: items listed in the prompt (0 = all items, the default); with fewer,
            the unseen items of highest public popularity are listed.
    """

    seed: int = 0
    n_candidates: int = 0

    def __post_init__(self) -> None:
        if self.n_candidates < 0:
            raise ValueError(f"n_candidates must be >= 0, got {self.n_candidates}")


class LLMGreedy(BaseAgent):
    """The language model's top choice: prompt with the state text, show the first item named.

    Unparseable answers use the parser's documented fallback (the most popular candidate);
    their number is in ``stats()["fallbacks"]``.
    """

    name: ClassVar[str] = "llm_greedy"
    Config: ClassVar[type] = LLMGreedyConfig

    def fit(self, dataset: LoggedDataset, deployment: Any = None, *,
            llm: Any = None) -> LLMGreedy:
        llm = llm if llm is not None else text_user_of(deployment)
        if llm is None:
            raise AgentError("llm_greedy needs the language-model user: fit(dataset, "
                             "llm=env.unwrapped.make_llm_user(alignment=...))")
        dataset.require("obs_layout")
        self.layout = ObsLayout.from_array(dataset.system["obs_layout"])
        self.llm = llm
        self.fitted = True
        return self

    def stats(self) -> dict[str, int]:
        return dict(self.llm.stats)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        arr, single = as_batch(obs, self.layout.dim)
        users, _, items, fb = self.layout.split(arr)
        n_items, k = self.layout.n_items, self.config.n_candidates
        pop = self.llm.catalogue.item_popularity
        out = np.empty(len(arr), np.int64)
        for i in range(len(arr)):  # one prompt per observation
            if k:
                score = pop.copy()
                score[items[i][items[i] < n_items]] = -np.inf
                cand = np.sort(np.argsort(-score, kind="stable")[:k])
            else:
                cand = np.arange(n_items)
            out[i] = self.llm.ask(int(users[i]), items[i], fb[i], cand,
                                  seed=self.config.seed).items[0]
        return int(out[0]) if single else out
