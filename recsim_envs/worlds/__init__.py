"""Worlds fitted to a user's own interaction logs (issue 11).

``read_table`` (CSV/Parquet) or an adapter (``from_movielens``, ``from_logged_dataset``,
``from_arrays``) gives an :class:`InteractionTable`; :func:`fit` learns a response model
and the public system from it and returns a :class:`FittedWorld`; ``FittedWorld.save(dir)``
writes it and ``gymnasium.make("recsim_envs/TwoStageFromWorld-v0", world=dir)`` or
``gymnasium.make("recsim_envs/SequentialFromWorld-v0", world=dir)`` loads it. The command
line does the same: ``python -m recsim_envs fit-world --help``. See ``docs/worlds.md``.
"""

from recsim_envs.worlds.adapters import from_arrays, from_logged_dataset, from_movielens
from recsim_envs.worlds.fit import FitConfig, fit
from recsim_envs.worlds.store import FittedWorld, WorldError, load_world, read_manifest
from recsim_envs.worlds.table import InteractionTable, TableError, read_table

__all__ = [
    "FitConfig", "FittedWorld", "InteractionTable", "TableError", "WorldError", "fit",
    "from_arrays", "from_logged_dataset", "from_movielens", "load_world", "read_manifest",
    "read_table",
]
