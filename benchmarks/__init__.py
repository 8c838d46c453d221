"""Benchmark leaderboards: from logged data to ranked, reproducible results.

    from benchmarks import builtin_suite, run_benchmark
    summary = run_benchmark(builtin_suite("two_stage", "quick"), "results/bench", workers=2)

or from the command line: ``python -m benchmarks run two_stage`` then
``python -m benchmarks leaderboard results/benchmarks``. Heavy modules (the runner's
executors, plotting, Ray) are imported only when used.
"""

from benchmarks.spec import (
    AgentSpec,
    BenchmarkSpec,
    DataSpec,
    EnvSpec,
    EvalSpec,
    SpecError,
    load_spec,
)
from benchmarks.suites import builtin_suite


def run_benchmark(*args, **kwargs):
    """See :func:`benchmarks.runs.run_benchmark`."""
    from benchmarks.runs import run_benchmark as _run

    return _run(*args, **kwargs)


__all__ = [
    "AgentSpec",
    "BenchmarkSpec",
    "DataSpec",
    "EnvSpec",
    "EvalSpec",
    "SpecError",
    "builtin_suite",
    "load_spec",
    "run_benchmark",
]
