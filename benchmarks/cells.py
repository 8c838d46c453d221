"""Cells and their seeds: what the runner runs, and the facts recorded with every row.

A cell is one (environment, agent, seed index) of a spec. Its random streams derive from
(suite, environment, seed index) only, through ``numpy.random.SeedSequence``, so every agent
of a seed sees the same logged data and evaluation users (common random numbers: every
comparison between agents is paired), and the same cell gives the same row on any executor.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spec import AgentSpec, BenchmarkSpec, EnvSpec, stable_hash

PHASES = ("log", "fit", "evaluate", "off-policy")
SEED_STREAMS = ("behaviour", "log_train", "log_heldout", "agent", "evaluation", "off_policy",
                "world")


@dataclass(frozen=True)
class Cell:
    """One (environment, agent, seed) cell of a spec (picklable, sent to workers)."""

    spec: BenchmarkSpec
    env: EnvSpec
    agent: AgentSpec
    seed_index: int

    @property
    def label(self) -> str:
        return f"{self.spec.name}/{self.env.name}/{self.agent.name}/seed{self.seed_index}"

    def settings(self) -> dict[str, Any]:
        """Everything that determines this cell's row (hashed into ``cell_id``)."""
        return {
            "suite": self.spec.name,
            "family": self.spec.family,
            "env": dataclasses.asdict(self.env),
            "behaviour": self.behaviour(),
            "data": dataclasses.asdict(self.spec.data),
            "evaluation": dataclasses.asdict(self.spec.evaluation),
            "agent": dataclasses.asdict(self.agent),
            "seed_index": self.seed_index,
        }

    def behaviour(self) -> dict[str, Any]:
        return {**self.spec.behaviour, **self.env.behaviour}

    def env_kwargs(self) -> dict[str, Any]:
        """The environment's settings in this cell: the spec's, plus a per-seed
        ``world_seed`` (so that intervals over seeds cover worlds) unless the spec fixes it."""
        kwargs = dict(self.env.kwargs)
        if self.env.vary_world and "world_seed" not in kwargs:
            seeds = cell_seeds(self.spec.name, self.env.name, self.seed_index)
            kwargs["world_seed"] = seeds["world"] % (2**31)
        return kwargs

    @property
    def cell_id(self) -> str:
        return stable_hash(self.settings())


def cells_of(spec: BenchmarkSpec) -> list[Cell]:
    """All cells, environment-major then seed then agent (agents of a seed run together)."""
    return [
        Cell(spec, env, agent, s)
        for env in spec.envs
        for s in range(spec.seeds)
        for agent in spec.agents
    ]


def cell_seeds(suite: str, env_name: str, seed_index: int) -> dict[str, int]:
    """Seeds of a cell's random streams, from (suite, environment, seed index) only.

    The agent's name is not an input: all agents of a seed share data and evaluation.
    """
    digest = hashlib.sha256(f"{suite}\x00{env_name}\x00{seed_index}".encode()).digest()
    entropy = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    children = np.random.SeedSequence(entropy).spawn(len(SEED_STREAMS))
    return {
        name: int(child.generate_state(1, dtype=np.uint32)[0])
        for name, child in zip(SEED_STREAMS, children, strict=True)
    }


@dataclass(frozen=True)
class RunContext:
    """Facts about the code that ran, recorded in every row."""

    version: str
    git_commit: str | None
    git_dirty: bool | None
    torch_threads: int = 1

    @classmethod
    def current(cls) -> RunContext:
        import recsim_envs

        commit, dirty = _git_state()
        return cls(version=recsim_envs.__version__, git_commit=commit, git_dirty=dirty)


def _git_state() -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it), read-only; None outside git."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never write the index while reading
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, env=env, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, env=env,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status)
