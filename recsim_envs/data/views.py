"""Typed views of logged data per family, validated once.

A :class:`~recsim_envs.data.LoggedDataset` keeps family columns in string-keyed ``extras``
and ``system`` dicts (so the Parquet format stays one table). The views name what each
family's logs must hold and check it, so a missing column is found when the data is built
or loaded, not deep inside an estimator::

    view = TwoStageView.of(dataset)      # DatasetError naming the missing column
    view.candidates, view.item_features, view.n_candidates

:func:`view_of` picks the view from ``meta.info["family"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsim_envs.data.dataset import DatasetError, LoggedDataset
from recsim_envs.prompt.family import FAMILY as PROMPT
from recsim_envs.sequential.family import FAMILY as SEQUENTIAL
from recsim_envs.two_stage.family import FAMILY as TWO_STAGE


@dataclass(frozen=True)
class _View:
    dataset: LoggedDataset
    family: ClassVar[str]
    extras: ClassVar[tuple[str, ...]] = ()
    system: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, dataset: LoggedDataset) -> _View:
        family = dataset.meta.info.get("family")
        if family != cls.family:
            raise DatasetError(f"a {cls.family} view needs {cls.family} logs; this dataset's "
                               f"family is {family!r} (env {dataset.meta.env_id!r})")
        missing = [f"extras['{n}']" for n in cls.extras if n not in dataset.extras]
        missing += [f"system['{n}']" for n in cls.system if n not in dataset.system]
        if missing:
            raise DatasetError(f"{cls.family} logs must hold {missing}; collect them again "
                               "with recsim_envs.data.collect from a "
                               f"{cls.family} environment")
        view = cls(dataset)
        view.check()
        return view

    def check(self) -> None:
        """Family-specific shape checks (raise :class:`DatasetError`)."""

    @property
    def n_rounds(self) -> int:
        return len(self.dataset)


@dataclass(frozen=True)
class TwoStageView(_View):
    """Two-stage logs: the candidate set (n, k) the ranker chose from, the item features
    (n_items, d_item) and the ranker's weights; ``action`` is the item shown first."""

    family: ClassVar[str] = TWO_STAGE.name
    extras: ClassVar[tuple[str, ...]] = ("candidates",)
    system: ClassVar[tuple[str, ...]] = ("item_features", "ranker_weights")

    def check(self) -> None:
        n_items = self.dataset.meta.n_actions
        if self.item_features.shape[0] != n_items:
            raise DatasetError(f"system['item_features'] has {self.item_features.shape[0]} "
                               f"rows for a catalogue of {n_items} items")
        if self.candidates.ndim != 2:
            raise DatasetError("extras['candidates'] must be (n, k)")
        if len(self.dataset) and (self.candidates.min() < 0
                                  or self.candidates.max() >= n_items):
            raise DatasetError(f"extras['candidates'] holds ids outside [0, {n_items})")

    @property
    def candidates(self) -> np.ndarray:
        return self.dataset.extras["candidates"]

    @property
    def item_features(self) -> np.ndarray:
        return self.dataset.system["item_features"]

    @property
    def ranker_weights(self) -> np.ndarray:
        return self.dataset.system["ranker_weights"]

    @property
    def n_items(self) -> int:
        return int(self.dataset.meta.n_actions)

    @property
    def n_candidates(self) -> int:
        return int(self.candidates.shape[1])


@dataclass(frozen=True)
class PromptView(_View):
    """Prompt logs: prompt embeddings (n_prompts, d_e); optionally the written sentence's
    embedding (n, d_s) and the behaviour policy's full distribution ``pi_b`` (n, n_prompts)."""

    family: ClassVar[str] = PROMPT.name
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
        return self.dataset.system["prompt_embeddings"]

    @property
    def sentence_embedding(self) -> np.ndarray | None:
        return self.dataset.extras.get("sentence_embedding")

    @property
    def pi_b(self) -> np.ndarray | None:
        return self.dataset.extras.get("pi_b")


@dataclass(frozen=True)
class SessionView(_View):
    """Sequential logs: one row per turn with its session id, turn, next observation and
    end flags; ``complete`` says whether every session in the log ended (logged with
    :func:`recsim_envs.data.collect_sessions`)."""

    family: ClassVar[str] = SEQUENTIAL.name
    extras: ClassVar[tuple[str, ...]] = ("episode_id", "step", "next_context", "terminated",
                                         "truncated")
    system: ClassVar[tuple[str, ...]] = ("obs_layout",)

    def check(self) -> None:
        if self.next_context.shape != self.dataset.context.shape:
            raise DatasetError("extras['next_context'] must have the shape of 'context'")

    @property
    def episode_id(self) -> np.ndarray:
        return self.dataset.extras["episode_id"]

    @property
    def step(self) -> np.ndarray:
        return self.dataset.extras["step"]

    @property
    def next_context(self) -> np.ndarray:
        return self.dataset.extras["next_context"]

    @property
    def ended(self) -> np.ndarray:
        ex = self.dataset.extras
        return ex["terminated"].astype(bool) | ex["truncated"].astype(bool)

    @property
    def terminated(self) -> np.ndarray:
        return self.dataset.extras["terminated"].astype(bool)

    @property
    def complete(self) -> bool:
        return bool(self.dataset.meta.info.get("complete_sessions", False))

    def require_complete(self) -> None:
        if not self.complete:
            raise DatasetError(
                "session estimators need complete sessions: this log was cut at a number of "
                "rows, so it keeps only the sessions that ended early; log it with "
                "recsim_envs.data.collect_sessions(env, policy, n_sessions, seed)")


VIEWS: dict[str, type[_View]] = {
    view.family: view for view in (TwoStageView, PromptView, SessionView)
}


def view_of(dataset: LoggedDataset) -> _View | None:
    """The family's view of ``dataset`` (validated), or None for logs of no known family."""
    cls = VIEWS.get(dataset.meta.info.get("family"))
    return None if cls is None else cls.of(dataset)
