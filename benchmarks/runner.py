"""Run every (environment, agent, seed) cell of a benchmark and write one row per cell.

A cell: log training and held-out rounds with the behaviour policy; fit the agent on the
training rounds only (plus its online budget where the suite gives one); evaluate it
online in a fresh environment; estimate its value off-policy from the held-out rounds.
Each cell's seeds derive from (suite, environment, seed index) through
``numpy.random.SeedSequence``, so every agent of a seed sees the same logged data and
evaluation users, and the same cell gives the same row on any executor.

A failing cell (bad settings, an agent that does not import, raises, or returns actions
outside the space) becomes a ``status: "failed"`` row naming the cell and the problem; the
other cells still run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cells import Cell, RunContext, cell_seeds
from benchmarks.families import CellError, get_family
from benchmarks.families.base import CheckedHandle
from benchmarks.results import ROW_SCHEMA, as_json_row
from benchmarks.spec import AgentSpec, EnvSpec
from recsim_envs.core.threads import torch_threads

# ---------------------------------------------------------------------- agents


def build_agent(
    agent_spec: AgentSpec, seed: int
) -> tuple[Any, dict[str, Any]]:
    """Instantiate an agent and describe the code that produced it.

    Settings are checked against the agent's ``Config`` dataclass (or ``__init__``
    signature); a ``seed`` field or parameter not set by the spec gets the cell's agent seed.
    The deployed system's parts (the behaviour policy, ...) reach agents through
    ``fit(dataset, deployment)``, never through construction.
    """
    import agents

    try:
        cls = agents.resolve(agent_spec.agent)
    except KeyError as exc:
        raise CellError(str(exc.args[0])) from exc
    except (ImportError, TypeError, ValueError) as exc:
        raise CellError(f"agent {agent_spec.agent!r}: {exc}") from exc
    settings = dict(agent_spec.settings)
    config_cls = getattr(cls, "Config", None)
    if dataclasses.is_dataclass(config_cls):
        known = {f.name for f in dataclasses.fields(config_cls)}
        how = f"{config_cls.__name__} fields"
    else:
        params = inspect.signature(cls).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        known = None if takes_kwargs else set(params)
        how = "__init__ parameters"
    if known is not None:
        unknown = sorted(set(settings) - known)
        if unknown:
            raise CellError(
                f"unknown setting(s) {unknown} for agent {agent_spec.agent!r}; its {how}: "
                f"{sorted(known)}"
            )
        if "seed" in known and "seed" not in settings:
            settings["seed"] = seed
    extra: dict[str, Any] = {}
    try:
        agent = cls(**settings, **extra)
    except Exception as exc:
        raise CellError(
            f"agent {agent_spec.agent!r} rejected its settings {agent_spec.settings}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return agent, agent_provenance(cls)


def agent_provenance(cls: type) -> dict[str, Any]:
    """Module, class, source file name and the file's sha256 (which code made a row)."""
    info: dict[str, Any] = {
        "module": cls.__module__,
        "class": cls.__qualname__,
        "offline": bool(getattr(cls, "offline", True)),
    }
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        source = None
    if source and os.path.exists(source):
        info["file"] = os.path.basename(source)
        info["sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    else:
        info["file"], info["sha256"] = None, None
    return info


def source_hash(target: str) -> str | None:
    """sha256 of the source file of agent ``target``, or None if it cannot be resolved here
    (the cell will then report why)."""
    try:
        import agents

        return agent_provenance(agents.resolve(target)).get("sha256")
    except Exception:
        return None


# ---------------------------------------------------------------------- one cell

Progress = Callable[[str], None]


def row_header(cell: Cell, context: RunContext, seeds: dict[str, int]) -> dict[str, Any]:
    """The fields every row of ``cell`` carries, set to a failed state until the cell ends."""
    return {
        "schema": ROW_SCHEMA,
        "cell_id": cell.cell_id,
        "suite": cell.spec.name,
        "size": cell.spec.size,
        "family": cell.spec.family,
        "spec_hash": cell.spec.digest(),
        "env": dataclasses.asdict(cell.env),
        "behaviour": cell.behaviour(),
        "data": dataclasses.asdict(cell.spec.data),
        "evaluation": dataclasses.asdict(cell.spec.evaluation),
        "agent": dataclasses.asdict(cell.agent),
        "seed_index": cell.seed_index,
        "seeds": seeds,
        "versions": {
            "recsim_envs": context.version,
            "git_commit": context.git_commit,
            "git_dirty": context.git_dirty,
        },
        "status": "failed",
        "error": None,
        "failed_phase": None,
        "online": None,
        "ope": None,
    }


def run_cell(cell: Cell, context: RunContext, progress: Progress | None = None) -> dict[str, Any]:
    """Run one cell and return its row (never raises for a problem of the cell)."""
    with torch_threads(context.torch_threads):
        return _run_cell(cell, context, progress)


def _run_cell(cell: Cell, context: RunContext, progress: Progress | None) -> dict[str, Any]:
    from recsim_envs.evaluation import AgentHandle, ContractError, evaluate

    progress = progress or (lambda phase: None)
    t_start = time.perf_counter()
    timing: dict[str, float] = {}
    seeds = cell_seeds(cell.spec.name, cell.env.name, cell.seed_index)
    row = row_header(cell, context, seeds)
    phase = "setup"
    try:
        family = get_family(cell.spec.family)
        env_kwargs = cell.env_kwargs()
        row["env"]["cell_kwargs"] = env_kwargs
        phase = "log"
        progress(phase)
        t0 = time.perf_counter()
        # One environment (one world) per cell: logging, deployment and estimates share it.
        env = family.make_env(cell.env.id, env_kwargs)
        env_id = env.spec.id
        # Where a data-backed world's files came from (generated by recsim_envs or not):
        # the claims' "our world" text reads it from the rows.
        provenance = (getattr(env.unwrapped, "world_info", None) or {}).get("data_provenance")
        if provenance is not None:
            row["env"]["data_provenance"] = provenance
        policy = family.behaviour_policy(env, cell.behaviour(), seeds["behaviour"])
        train = family.log(env, policy, cell.spec.data.n_train, seeds["log_train"])
        heldout = family.log(env, policy, cell.spec.data.n_heldout, seeds["log_heldout"])
        deployment = family.deployment(env, policy, cell.behaviour())
        timing["log_s"] = time.perf_counter() - t0
        row["data"]["behaviour_policy"] = {"name": policy.name, "settings": policy.settings()}
        row["data"]["unit"] = family.log_unit

        phase = "fit"
        progress(phase)
        agent, provenance = build_agent(cell.agent, seeds["agent"])
        row["agent"].update(provenance)
        t0 = time.perf_counter()
        try:
            handle = CheckedHandle(AgentHandle(agent, name=cell.agent.name), env.action_space)
            handle.fit(train, deployment)
        except ContractError as exc:
            raise CellError(str(exc)) from exc
        except Exception as exc:
            raise CellError(f"agent {cell.agent.name!r} raised in fit(): "
                            f"{type(exc).__name__}: {exc}") from exc
        row["agent"]["privileged"] = handle.privileged
        spec_eval = cell.spec.evaluation
        curve = _online_phase(handle, family, env_id, cell, env_kwargs, seeds)
        try:
            handle.check_agreement(heldout.context, heldout.meta.n_actions)
        except ContractError as exc:
            raise CellError(str(exc)) from exc
        timing["fit_s"] = time.perf_counter() - t0

        phase = "evaluate"
        progress(phase)
        t0 = time.perf_counter()
        result = evaluate(handle, env_id, env_kwargs, spec_eval.n_eval,
                          seeds["evaluation"])
        timing["eval_s"] = time.perf_counter() - t0
        row["online"] = {
            "value": result.value.to_dict(),
            "unit": result.unit,
            "measure": result.measure,
            "scores": result.scores,
            "primary": result.primary,
            "curve": curve,
        }

        phase = "off-policy"
        progress(phase)
        t0 = time.perf_counter()
        if handle.privileged:
            row["ope"] = None  # skylines read the live environment: nothing to estimate
        else:
            estimates = family.off_policy(handle, train, heldout, deployment, env,
                                          np.random.default_rng(seeds["off_policy"]))
            row["ope"] = {name: est.to_dict() for name, est in estimates.items()}
        timing["ope_s"] = time.perf_counter() - t0
        env.close()
        row["status"] = "ok"
        phase = "done"
    except Exception as exc:  # the cell's problem is recorded, never raised
        message = str(exc) if isinstance(exc, CellError) else f"{type(exc).__name__}: {exc}"
        row["error"] = f"cell {cell.label} failed in {phase}: {message}"
        row["failed_phase"] = phase
        row["traceback"] = traceback.format_exc(limit=8)
    timing["total_s"] = time.perf_counter() - t_start
    # Wall-clock ends of the cell (and its process): with them a run's time outside cells
    # (worker start-up, idle workers) can be read from its rows.
    timing["finished_at"] = time.time()
    timing["started_at"] = timing["finished_at"] - timing["total_s"]
    timing["worker_pid"] = os.getpid()
    row["timing"] = timing
    return as_json_row(row)


def _online_phase(handle: Any, family: Any, env_id: str, cell: Cell,
                  env_kwargs: dict[str, Any],
                  seeds: dict[str, int]) -> list[dict[str, float]]:
    """The agent's online budget (``evaluation.online_steps``), if it learns online; the
    learning curve is measured on the evaluation users of the cell."""
    spec_eval = cell.spec.evaluation
    if not spec_eval.online_steps or not (handle.online or handle.episodic):
        return []
    from recsim_envs.evaluation.learning import run_bandit, run_sessions

    try:
        if family.log_unit == "sessions":
            n_epochs = min(spec_eval.curve_points, spec_eval.online_steps)
            curve = run_sessions(
                handle, env_id, env_kwargs, n_epochs=n_epochs,
                episodes_per_epoch=max(1, spec_eval.online_steps // n_epochs),
                seed=seeds["agent"] % (2**31), n_eval=spec_eval.n_eval,
                eval_seed=seeds["evaluation"],
            )
            return curve.points()
        batch = int(getattr(getattr(handle.agent, "config", None), "batch_size", 32))
        run_bandit(handle, env_id, env_kwargs, n_steps=spec_eval.online_steps,
                   batch_size=batch, seed=seeds["agent"] % (2**31))
        return []
    except Exception as exc:
        raise CellError(f"agent {handle.name!r} raised during its online phase: "
                        f"{type(exc).__name__}: {exc}") from exc


class _EnvFactory:
    """Builds a fresh environment for a family's online phase (kept by the harness)."""

    def __init__(self, family: Any, env: EnvSpec) -> None:
        self._family, self._env = family, env

    def __call__(self) -> Any:
        return self._family.make_env(self._env.id, dict(self._env.kwargs))
