"""How the runner turns an agent name or a user's ``module:Class`` into an agent.

The one place where a plug-in's signatures are read, once, when its class is loaded:

- settings are checked against the agent's ``Config`` dataclass (or, for a plain class,
  its ``__init__`` parameters); a ``seed`` field or parameter not set by the spec gets the
  cell's agent seed;
- the agent contract is ``fit(dataset, deployment=None)``
  (:mod:`recsim_envs.evaluation.contract`); a plug-in whose ``fit`` takes the dataset only
  is wrapped as ``AgentHandle(agent, plain_fit=True)`` (:func:`wrap_agent`), so nothing
  downstream inspects it again.

The deployed system's parts (the behaviour policy, ...) reach agents through
``fit(dataset, deployment)``, never through construction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
from pathlib import Path
from typing import Any

from benchmarks.families import CellError
from benchmarks.spec import AgentSpec
from recsim_envs.evaluation import AgentHandle


def build_agent(agent_spec: AgentSpec, seed: int) -> tuple[Any, dict[str, Any]]:
    """Instantiate an agent and describe the code that produced it (see the module)."""
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
    try:
        agent = cls(**settings)
    except Exception as exc:
        raise CellError(
            f"agent {agent_spec.agent!r} rejected its settings {agent_spec.settings}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return agent, agent_provenance(cls)


def wrap_agent(agent: Any, name: str) -> AgentHandle:
    """``AgentHandle(agent, name)``, with ``plain_fit=True`` where ``fit`` takes the dataset
    only (decided here, once, from its signature)."""
    fit = getattr(agent, "fit", None)
    plain = False
    if callable(fit):
        params = inspect.signature(fit).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)]
        plain = len(positional) < 2 and not any(p.kind is p.VAR_POSITIONAL for p in params)
    return AgentHandle(agent, name=name, plain_fit=plain)


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
