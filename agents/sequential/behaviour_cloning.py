"""Behaviour cloning on logged sequential rollouts (a baseline for iALP).

Supervised imitation of the logging policy: maximise log pi(a_logged | s) over the logged
transitions with the same state encoder as iALP (:class:`agents.sequential.ialp.ItemScorer`). It
ignores rewards, so it can only be as good as the logging policy's most likely choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch.nn import functional as F

from agents.base import AgentError, BaseAgent, as_batch
from agents.sequential.ialp.networks import ItemScorer, init_params
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView


@dataclass
class BCConfig:
    """Settings of :class:`BehaviourCloning`.

    Attributes:
        seed: seeds minibatch sampling and initialisation.
        updates, batch_size, lr: optimisation.
        d_emb, hidden: network sizes.
    """

    seed: int = 0
    updates: int = 1500
    batch_size: int = 256
    lr: float = 3e-3
    d_emb: int = 16
    hidden: int = 64

    def __post_init__(self) -> None:
        for name in ("updates", "batch_size", "d_emb", "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


class BehaviourCloning(BaseAgent):
    """Cross-entropy imitation of the logged items; acts greedily (argmax of pi)."""

    name: ClassVar[str] = "bc"
    Config: ClassVar[type] = BCConfig

    @torch_threads(1)
    def fit(self, dataset: LoggedDataset, deployment: Any = None) -> BehaviourCloning:
        """Fit on ``dataset`` (its ``system`` must hold ``obs_layout`` and ``item_features``)."""
        if len(dataset) == 0:
            raise AgentError("behaviour cloning needs logged rounds; the dataset is empty")
        view = SessionView.of(dataset)
        c = self.config
        self._build(view.obs_layout, view.item_features, view.item_category,
                    float(dataset.meta.env_kwargs.get("rating_max", 5.0)))
        if dataset.context.shape[1] != self.layout.dim:
            raise AgentError(f"contexts have {dataset.context.shape[1]} columns; expected "
                             f"{self.layout.dim} (the sequential flat observation)")
        rng = np.random.default_rng(c.seed)
        s = torch.as_tensor(dataset.context)
        a = torch.as_tensor(dataset.action)
        opt = torch.optim.Adam(self.net.parameters(), lr=c.lr)
        for _ in range(c.updates):
            b = torch.as_tensor(rng.integers(len(s), size=c.batch_size))
            loss = F.cross_entropy(self.net(s[b]), a[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.fitted = True
        return self

    def _build(self, layout: ObsLayout, item_features: np.ndarray, item_category: np.ndarray,
               rating_max: float) -> None:
        self.layout = layout
        self.item_features = np.asarray(item_features, np.float32)
        self.item_category = np.asarray(item_category, np.int64)
        self.rating_max = rating_max
        self.net = ItemScorer(layout, self.item_features, self.item_category,
                              self.config.d_emb, self.config.hidden, rating_max)
        init_params(self.net, torch.Generator().manual_seed(self.config.seed))

    @torch_threads(1)
    def item_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) imitated logging distribution (``act`` deploys its argmax)."""
        self._require_fitted()
        x, _ = as_batch(obs, self.layout.dim)
        with torch.no_grad():
            return torch.softmax(self.net(torch.as_tensor(x)), 1).double().numpy()

    @torch_threads(1)
    def act(self, obs: np.ndarray) -> np.ndarray | int:
        self._require_fitted()
        x, single = as_batch(obs, self.layout.dim)
        with torch.no_grad():
            a = self.net(torch.as_tensor(x)).argmax(1).numpy()
        return int(a[0]) if single else a

    def state_dict(self) -> dict[str, Any]:
        if not self.fitted:
            return {}
        return {"layout": self.layout.to_array(), "item_features": self.item_features,
                "item_category": self.item_category, "rating_max": self.rating_max,
                "net": self.net.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._build(ObsLayout.from_array(state["layout"]), state["item_features"],
                    state["item_category"], float(state["rating_max"]))
        self.net.load_state_dict(state["net"])
