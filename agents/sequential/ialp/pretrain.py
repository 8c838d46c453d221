"""iALP's offline phase: reward model from a language model's stated preferences, actor-critic.

Paper: Wang, Karatzoglou, Arapakis, Jose, "Large Language Model driven Policy Exploration
for Recommender Systems", WSDM 2025 (arXiv 2501.13816). The paper's code is not public; the
design is ours (``docs/sequential.md``). The agent puts together the concepts of this
package: imagined sessions (:mod:`~agents.sequential.ialp.imagination`), the Bradley-Terry
reward model (:mod:`~agents.sequential.ialp.reward_model`) and the actor-critic
(:mod:`~agents.sequential.ialp.actor_critic`); the settings and variants are in
:mod:`~agents.sequential.ialp.config`.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import torch

from agents.base import AgentError, BaseAgent, as_batch
from agents.sequential.ialp.actor_critic import ActorCritic
from agents.sequential.ialp.config import IALPConfig
from agents.sequential.ialp.imagination import imagine
from agents.sequential.ialp.networks import ItemScorer, init_params
from agents.sequential.ialp.reward_model import (
    calibrated_transitions,
    fit_bradley_terry,
    public_profile,
)
from agents.sequential.reference import StatedQuitRule
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView


def text_user_of(deployment: Any) -> Any:
    """The deployment's simulated text user (a fresh one), or None."""
    factory = getattr(deployment, "text_user", None)
    return None if factory is None else factory()


class IALP(ActorCritic, BaseAgent):
    """iALP: offline actor-critic pre-training on a language model's stated preferences.

    ``fit(dataset, deployment)`` takes the language-model user from the deployment (or
    ``llm=env.unwrapped.make_llm_user(alignment=...)``); the agent reads only the public
    catalogue, the environment's public settings and the model's text answers, never the
    rating matrix. The dataset supplies the observation layout and catalogue (``system``)
    and, with ``use_logged``, logged transitions (extras ``next_context``, ``terminated``).
    All randomness comes from generators created in ``fit`` from ``config.seed``, so
    fitting the same instance twice gives identical networks.
    """

    name: ClassVar[str] = "ialp"
    Config: ClassVar[type] = IALPConfig

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.layout: ObsLayout | None = None
        self.reward_scale = np.array([1.0, 0.0], np.float32)  # affine calibration (a, b)
        self.fit_info: dict[str, float] = {}
        self.quit_rule: StatedQuitRule | None = None
        self._online = False  # set by the online variants' _start_online

    # ------------------------------------------------------------ building
    def _build(self, layout: ObsLayout, item_features: np.ndarray, item_category: np.ndarray,
               rating_max: float, generator: torch.Generator) -> None:
        c = self.config
        self.layout = layout
        self.item_features = np.asarray(item_features, np.float32)
        self.item_category = np.asarray(item_category, np.int64)
        self.rating_max = float(rating_max)

        def net() -> ItemScorer:
            m = ItemScorer(layout, self.item_features, self.item_category, c.d_emb, c.hidden,
                           self.rating_max)
            init_params(m, generator)
            return m

        self.actor, self.critic, self.reward_model = net(), net(), net()
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self._make_optims(c.lr)

    def _make_optims(self, lr: float) -> None:
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)

    def _setup_from(self, dataset: LoggedDataset) -> None:
        view = SessionView.of(dataset)
        layout = view.obs_layout
        if dataset.context.shape[1] != layout.dim:
            raise AgentError(f"contexts have {dataset.context.shape[1]} columns; the layout "
                             f"says {layout.dim}: log with the sequential environment")
        rmax = float(dataset.meta.env_kwargs.get("rating_max", 5.0))
        self._build(layout, view.item_features, view.item_category,
                    rmax, self._generator)
        c = self.config
        self.quit_rule = (StatedQuitRule.from_dataset(dataset, c.quit_window, c.max_same_category)
                          if c.learn_termination else None)

    # ------------------------------------------------------------ offline
    @torch_threads(1)
    def fit(self, dataset: LoggedDataset, deployment: Any = None, *, llm: Any = None) -> IALP:
        """Pre-train from imagined sessions with ``llm`` (and logged rollouts if any).

        Args:
            dataset: logged sequential rollouts (may be small; see ``use_logged``).
            deployment: the deployed system; its ``text_user()`` is the language-model user.
            llm: an :class:`~recsim_envs.sequential.llm.LLMUser` given directly (overrides the
                deployment's).
        """
        llm = llm if llm is not None else text_user_of(deployment)
        if llm is None:
            raise AgentError("iALP needs the language-model user: fit(dataset, "
                             "llm=env.unwrapped.make_llm_user(alignment=...))")
        c = self.config
        self._rng = np.random.default_rng(c.seed)
        self._generator = torch.Generator().manual_seed(c.seed)
        self._online = False
        self.fit_info = {}
        self._setup_from(dataset)
        before = dict(getattr(llm, "stats", {}))
        imagined = imagine(llm, self.layout, c, self._rng, self.quit_rule)
        after = getattr(llm, "stats", {})
        # Answers with no parseable candidate (documented fallback) and made-up names.
        self.fit_info.update({f"llm_{k}": after[k] - before.get(k, 0)
                              for k in ("calls", "fallbacks", "unknown_names") if k in after})
        self.fit_info["imagined_quit_rate"] = float(imagined["d"].mean())
        self.fit_info.update(fit_bradley_terry(self.reward_model, imagined, c, self._rng))
        (s, a, r, s2, d, a_bc), self.reward_scale, info = calibrated_transitions(
            self.reward_model, imagined, dataset, c.use_logged,
            profile=self._profile_of if c.calibration == "profile" else None)
        self.fit_info.update(info)
        self._fit_actor_critic(s, a, r, s2, d, a_bc)
        self.fitted = True
        return self

    def _profile_of(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """(n, dim), (n,) -> (n, 2) popularity and stated like of the items ``a``."""
        pop, like = public_profile(self.layout, self.item_features, self.item_category, s)
        a = np.asarray(a, np.int64)
        return np.stack([pop[0, a], like[np.arange(len(a)), a]], 1)

    # ------------------------------------------------------------ acting
    def _obs(self, obs: np.ndarray) -> tuple[torch.Tensor, bool]:
        self._require_fitted()
        arr, single = as_batch(obs, self.layout.dim)
        return torch.as_tensor(arr, dtype=torch.float32), single

    @torch_threads(1)
    def item_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, dim) -> (n, n_items) softmax of the actor (``act`` deploys its argmax)."""
        x, _ = self._obs(obs)
        with torch.no_grad():
            return torch.softmax(self.actor(x), dim=1).double().numpy()

    @torch_threads(1)
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
        rule = self.quit_rule
        return {
            "layout": self.layout.to_array(), "item_features": self.item_features,
            "item_category": self.item_category, "rating_max": self.rating_max,
            "reward_scale": self.reward_scale,
            "quit": None if rule is None else np.array([rule.window, rule.max_same,
                                                        int(rule.category)]),
            "actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "reward_model": self.reward_model.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        layout = ObsLayout.from_array(state["layout"])
        # the weights are overwritten below; the generator only satisfies _build
        self._build(layout, state["item_features"], state["item_category"],
                    float(state["rating_max"]), torch.Generator().manual_seed(0))
        self.reward_scale = np.asarray(state["reward_scale"], np.float32)
        q = state.get("quit")
        self.quit_rule = None if q is None else StatedQuitRule(
            layout, self.item_category, int(q[0]), int(q[1]), bool(q[2]))
        for key in ("actor", "critic", "critic_target", "reward_model"):
            getattr(self, key).load_state_dict(state[key])
