"""Saving and loading agents without pickle: config as plain data, state as tensors.

A checkpoint is a ``torch.save`` of a dict of strings, numbers, lists, dicts and tensors,
read back with ``torch.load(weights_only=True)``, which refuses to unpickle arbitrary
objects. numpy arrays in a state dict are stored as tensors and restored as arrays.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recsim_envs.core.io import atomic_path

FORMAT_VERSION = 1


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint a {type(value).__name__}; use tensors, arrays or numbers")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            return value["__ndarray__"].numpy().copy()
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def save_checkpoint(path: str | os.PathLike, agent: Any) -> Path:
    """Atomically write ``agent``'s class, config and state to ``path``."""
    path = Path(path)
    cls = type(agent)
    payload = {
        "format_version": FORMAT_VERSION,
        "agent_class": f"{cls.__module__}:{cls.__qualname__}",
        "config": _encode(dataclasses.asdict(agent.config)),
        "fitted": bool(getattr(agent, "fitted", False)),
        "state": _encode(agent.state_dict()),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> Any:
    """Rebuild the agent stored at ``path`` by :func:`save_checkpoint`."""
    from agents.registry import load_class

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no agent checkpoint at {path}")
    payload = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(payload, dict) or "agent_class" not in payload:
        raise ValueError(f"{path} is not a recsim_envs agent checkpoint")
    cls = load_class(payload["agent_class"])
    config = cls.Config(**_decode(payload["config"]))
    agent = cls(config)
    agent.load_state_dict(_decode(payload["state"]))
    agent.fitted = payload["fitted"]
    return agent
