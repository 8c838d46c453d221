"""Typed views of logged data: the base every family's view extends, and the registry that
finds a dataset's view by its family.

A :class:`~recsim_envs.data.LoggedDataset` keeps family columns in string-keyed ``extras``
and ``system`` dicts (so the Parquet format stays one table). A family's view names what
its logs must hold and checks it, so a missing or inconsistent column is found when the
data is built or loaded, not deep inside an agent or an estimator (the two-stage view,
``TwoStageView`` of the family's ``view`` module)::

    view = TwoStageView.of(dataset)      # DatasetError naming the missing column
    view.candidates, view.item_features, view.n_candidates

Each family package defines its view in its own ``view`` module and names it in its
description (:attr:`recsim_envs.core.family.FamilyDescription.view`, ``"module:Class"``);
registration (:mod:`recsim_envs.registration`, run on ``import recsim_envs``) records it
here with :func:`register_view`. So this package imports no family: :func:`view_of` picks
the view from ``meta.info["family"]`` through the registry and imports the view's module
on first use, as Gymnasium's registry does with entry points.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np

from recsim_envs.data.dataset import DatasetError, LoggedDataset


@dataclass(frozen=True)
class FamilyView:
    """The base of a family's typed view of its logs.

    A subclass sets ``family`` (the family's name, as written in ``meta.info["family"]``),
    the ``extras`` and ``system`` keys every log of the family holds, and overrides
    :meth:`check` with the family's shape checks; its properties name the columns.
    """

    dataset: LoggedDataset
    family: ClassVar[str]
    extras: ClassVar[tuple[str, ...]] = ()
    system: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, dataset: LoggedDataset) -> Self:
        """The validated view of ``dataset``; :class:`DatasetError` naming the problem."""
        family = dataset.family
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

    def system_array(self, name: str) -> np.ndarray:
        """``system[name]``, or a :class:`DatasetError` naming it where the logs lack it
        (for arrays not every log of the family holds)."""
        self.dataset.require(name)
        return self.dataset.system[name]


_VIEWS: dict[str, str | type[FamilyView]] = {}
"""Family name -> its view class, or ``"module:Class"`` until first use."""


def register_view(family: str, view: str | type[FamilyView]) -> None:
    """Record ``view`` (a :class:`FamilyView` subclass or its ``"module:Class"``) as the
    typed view of ``family``'s logs (idempotent; a ValueError for another view of a family
    that has one)."""
    known = _VIEWS.get(family)
    if known is not None and _spelling(known) != _spelling(view):
        raise ValueError(f"family {family!r} has the view {_spelling(known)} already; "
                         f"cannot register {_spelling(view)}")
    _VIEWS[family] = view


def view_class(family: str | None) -> type[FamilyView] | None:
    """The view class registered for ``family``, None for a family without one."""
    target = _VIEWS.get(family) if family is not None else None
    if isinstance(target, str):
        module, _, name = target.partition(":")
        target = getattr(importlib.import_module(module), name)
        _VIEWS[str(family)] = target
    return target


def view_of(dataset: LoggedDataset) -> FamilyView | None:
    """The family's view of ``dataset`` (validated), or None for logs of a family with no
    registered view (imported tables, a family that declares none)."""
    cls = view_class(dataset.family)
    return None if cls is None else cls.of(dataset)


def _spelling(view: str | type[FamilyView]) -> str:
    return view if isinstance(view, str) else f"{view.__module__}:{view.__qualname__}"
