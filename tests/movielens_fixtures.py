"""Tiny MovieLens files for the tests: re-exported from
:mod:`recsim_envs.two_stage.movielens_synth`.

The generator lives in the package so that experiments and benchmarks can use it without
importing from ``tests/``; see that module for the tables and the hand-fixed first rows.
"""

from recsim_envs.two_stage.movielens_synth import (  # noqa: F401
    AGE_BUCKETS,
    GENRES_1M,
    OCCUPATIONS_100K,
    make_tables,
    write_ml1m,
    write_ml100k,
    write_movielens,
)
