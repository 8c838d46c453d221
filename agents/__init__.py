"""Offline agents that learn from logged rounds and act in recsim_envs environments.

Agents are registered by short name and imported lazily; see :mod:`agents.registry`.
"""

from agents.base import Agent, AgentError, BaseAgent, OnlineAgent, StochasticAgent
from agents.registry import load_class, make, register, registered, resolve

# Built-in agents, registered lazily as "module:Class" so importing `agents` stays light.
_BUILTIN: dict[str, str] = {
    # --- reference policies shared by families (issue 3) ---
    # --- two-stage family (issue 3) ---
    # --- prompt family (issue 4) ---
    # --- sequential family (issue 5) ---
}
for _name, _target in _BUILTIN.items():
    register(_name, _target, overwrite=True)

__all__ = [
    "Agent",
    "AgentError",
    "BaseAgent",
    "OnlineAgent",
    "StochasticAgent",
    "load_class",
    "make",
    "register",
    "registered",
    "resolve",
]
