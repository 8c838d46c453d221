"""Checks of a whole run before any cell runs: every agent and environment a spec names.

``python -m benchmarks run`` calls :func:`check_specs` after reading its specs and before
logging anything, so a typo in an agent name, an agent setting, an environment id or an
environment setting ends the command at once (exit status 2) with every problem listed,
instead of failing one cell after another after their data were logged. Each environment is
built once here with its first cell's settings: that both checks its settings and, for
worlds that cache themselves on disk (the MovieLens and paper worlds), builds the cache
once in this process before several workers would each build it.

The runner itself still records a cell that fails at run time as a failed row (a Python
caller of :func:`benchmarks.runs.run_benchmark` gets the same per-cell isolation).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchmarks.cells import cells_of
from benchmarks.families import CellError, get_family
from benchmarks.spec import AgentSpec, BenchmarkSpec, SpecError


def agent_problem(agent_spec: AgentSpec) -> str | None:
    """Why ``agent_spec`` cannot be built, or None: the agent resolves, every setting is a
    field of its ``Config`` dataclass, and the config accepts the values."""
    from benchmarks.runner import build_agent

    try:
        agent, _ = build_agent(agent_spec, seed=0)
    except CellError as exc:
        return f"agent {agent_spec.name!r}: {exc}"
    del agent
    return None


def env_problem(spec: BenchmarkSpec, env_index: int) -> str | None:
    """Why the ``env_index``-th environment of ``spec`` cannot be built with its first
    cell's settings, or None."""
    cells = [c for c in cells_of(spec) if c.env == spec.envs[env_index]]
    if not cells:
        return None
    cell = cells[0]
    family = get_family(spec.family)
    try:
        env = family.make_env(cell.env.id, cell.env_kwargs())
    except CellError as exc:
        return f"environment {cell.env.name!r} ({cell.env.id}): {exc}"
    except Exception as exc:  # a setting the environment rejects
        return (f"environment {cell.env.name!r} ({cell.env.id}) rejected its settings "
                f"{dict(cell.env.kwargs)}: {type(exc).__name__}: {exc}")
    env.close()
    return None


def check_specs(specs: list[BenchmarkSpec], log: Any = None) -> None:
    """Raise :class:`SpecError` listing every agent and environment of ``specs`` that
    cannot be built (each distinct one is checked once)."""
    problems: list[str] = []
    seen_agents: set[str] = set()
    seen_envs: set[str] = set()
    for spec in specs:
        for agent_spec in spec.agents:
            key = repr((agent_spec.agent, sorted(agent_spec.settings.items())))
            if key in seen_agents:
                continue
            seen_agents.add(key)
            problem = agent_problem(agent_spec)
            if problem:
                problems.append(f"{spec.name}: {problem}")
        for i, env in enumerate(spec.envs):
            key = repr((spec.family, dataclasses.asdict(env)))
            if key in seen_envs:
                continue
            seen_envs.add(key)
            if log is not None:
                log(f"{spec.name}: checking environment {env.name!r} ({env.id})")
            problem = env_problem(spec, i)
            if problem:
                problems.append(f"{spec.name}: {problem}")
    if problems:
        raise SpecError("nothing was run; fix these first:\n  - " + "\n  - ".join(problems))
