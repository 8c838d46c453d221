"""The built-in suites: ``two_stage``, ``prompt``, ``sequential`` and ``two_stage_paper`` (which
needs the user's MovieLens files, see :mod:`benchmarks.suites.two_stage_paper`), each ``quick``
or ``full``.

``quick`` sizes are chosen so that ``make leaderboard`` (all three quick suites, two
workers) finishes within 10 minutes on 2 CPU cores; ``full`` sizes follow the reference
settings of the papers (Ma et al., WWW 2020; Kiyohara et al., 2025; the sequential design
of docs/sequential.md) and take hours.
"""

from __future__ import annotations

from benchmarks.spec import BenchmarkSpec, SpecError
from benchmarks.suites import prompt, sequential, two_stage, two_stage_paper

SIZES = ("quick", "full")
SUITES = ("two_stage", "prompt", "sequential", "two_stage_paper")
DATA_SUITES = ("two_stage_paper",)
"""Suites that need the user's data files; ``run all`` leaves them out."""


_BUILDERS = {
    "two_stage": two_stage.build,
    "prompt": prompt.build,
    "sequential": sequential.build,
    "two_stage_paper": two_stage_paper.build,
}


def builtin_suite(name: str, size: str = "quick") -> BenchmarkSpec:
    """The built-in suite ``name`` (one of :data:`SUITES`) at ``size``."""
    if name not in _BUILDERS:
        raise SpecError(f"unknown suite {name!r}; built-in suites: {SUITES}, or give a spec "
                        "file (.toml/.yaml)")
    if size not in SIZES:
        raise SpecError(f"unknown size {size!r}; use one of {SIZES}")
    return _BUILDERS[name](size)
