"""The typed view of prompt logs (Kiyohara et al., 2025: a policy picks a prompt, a frozen
generator writes the sentence the user reads).

A prompt round: the context (user features and the query), the prompt picked (``action``),
the user's reward for the written sentence; the system's prompt embeddings
(``system['prompt_embeddings']``); optionally the written sentence's embedding
(``extras['sentence_embedding']``) and the behaviour policy's full distribution
(``extras['pi_b']``, logged with ``log_pi_b=True``). Agents and estimators read
:class:`PromptView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsim_envs.data.dataset import DatasetError
from recsim_envs.data.views import FamilyView
from recsim_envs.prompt.family import FAMILY


@dataclass(frozen=True)
class PromptView(FamilyView):
    """Prompt logs: prompt embeddings (n_prompts, d_e); optionally the written sentence's
    embedding (n, d_s) and the behaviour policy's full distribution ``pi_b`` (n, n_prompts)."""

    family: ClassVar[str] = FAMILY.name
    system: ClassVar[tuple[str, ...]] = ("prompt_embeddings",)

    def check(self) -> None:
        n = self.dataset.meta.n_actions
        if self.prompt_embeddings.shape[0] != n:
            raise DatasetError(f"system['prompt_embeddings'] has "
                               f"{self.prompt_embeddings.shape[0]} rows for {n} prompts")
        pi_b = self.pi_b
        if pi_b is not None and pi_b.shape != (len(self.dataset), n):
            raise DatasetError(f"extras['pi_b'] has shape {pi_b.shape}; expected "
                               f"({len(self.dataset)}, {n})")

    @property
    def prompt_embeddings(self) -> np.ndarray:
        """(n_prompts, d_e) the system's prompt features."""
        return self.dataset.system["prompt_embeddings"]

    @property
    def sentence_embedding(self) -> np.ndarray | None:
        """(n, d_s) the embedding of each logged sentence, None where not logged."""
        return self.dataset.extras.get("sentence_embedding")

    @property
    def pi_b(self) -> np.ndarray | None:
        """(n, n_prompts) the behaviour policy's distribution per row, None where not
        logged."""
        return self.dataset.extras.get("pi_b")

    @property
    def query_slice(self) -> tuple[int, int] | None:
        """``(start, stop)``: the context columns that hold the query (the generator's
        input), None where the metadata does not say."""
        qs = self.dataset.meta.info.get("query_slice")
        return None if qs is None else (int(qs[0]), int(qs[1]))
