"""Logged rollouts: the on-disk format and the collection of rounds with exact propensities."""

from recsim_envs.data.collect import collect, collect_sessions
from recsim_envs.data.dataset import SCHEMA_VERSION, DatasetError, DatasetMeta, LoggedDataset

__all__ = [
    "SCHEMA_VERSION", "DatasetError", "DatasetMeta", "LoggedDataset", "collect", "collect_sessions",
]
