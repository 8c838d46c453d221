"""Networks of the iALP family: the item scorer shared by actor, critic and reward model (also
used by behaviour cloning) and its seeded initialisation.

Paper: Wang et al., "Large Language Model driven Policy Exploration for Recommender
Systems", WSDM 2025; the architecture is ours (``docs/sequential.md``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recsim_envs.core.nn import MLP
from recsim_envs.sequential.observation import ObsLayout


def init_params(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every parameter from ``generator`` (no global torch RNG).

    Linear weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default scale), biases
    0, embeddings ~ N(0, 0.1^2). Not :func:`recsim_envs.core.nn.init_from_generator`: that
    one draws the biases too (and draws weights with ``uniform_``, a different stream), so
    switching would change every trained iALP and BC network.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / np.sqrt(m.in_features)
                m.weight.copy_((torch.rand(m.weight.shape, generator=generator) * 2 - 1) * bound)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * 0.1)
        for name, p in module.named_parameters():
            if name.endswith("item_bias"):
                p.zero_()


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
        d_in = layout.user_dim + layout.history_len * (d_emb + 1)
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
        self.inter = MLP(4, [16], 1)  # same layers as a Sequential: same state_dict keys

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        lay = self.layout
        d, k = lay.user_dim, lay.history_len
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
