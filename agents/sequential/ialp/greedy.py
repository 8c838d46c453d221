"""The language model's greedy choice as a policy (a baseline for iALP, Wang et al., WSDM 2025)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from agents.sequential.ialp.pretrain import text_user_of
from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.view import SessionView


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
        self.layout = SessionView.of(dataset).obs_layout
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
