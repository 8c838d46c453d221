"""The tiny two-stage spec that command-line tests write to a file (one place for it)."""

from __future__ import annotations


def tiny_two_stage_toml(name: str, extra_agents: str = "") -> str:
    """A one-seed spec of ``popular`` on a 30-item world, plus ``extra_agents`` (TOML
    ``[[agents]]`` tables) appended."""
    return f"""
name = "{name}"
family = "two_stage"
seeds = 1
[data]
n_train = 300
n_heldout = 200
[evaluation]
n_eval = 100
[[envs]]
name = "small"
id = "recsim_envs/TwoStageSynthetic-v0"
kwargs = {{ n_items = 30, n_candidates = 3 }}
[[agents]]
agent = "popular"
""" + extra_agents
