"""Every built-in agent, by name: it resolves, builds with its defaults, has a dataclass
config, refuses an unknown setting and acting before fit; and every agent name that the
family descriptions and the built-in suites use is registered."""

from __future__ import annotations

import dataclasses

import pytest

import agents
from agents.base import AgentError, BaseAgent
from benchmarks.suites import SUITES, builtin_suite
from recsim_envs.families import FAMILIES

BUILTIN = agents.registered()


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_agent_builds_with_defaults_and_validates_settings(name):
    cls = agents.resolve(name)
    assert cls.__doc__, f"{name}: class without a docstring"
    agent = agents.make(name)
    assert callable(agent.fit) and callable(agent.act)
    if isinstance(agent, BaseAgent):
        assert dataclasses.is_dataclass(agent.config)
        with pytest.raises(TypeError, match="not_a_setting"):
            agents.make(name, not_a_setting=1)
        if not getattr(agent, "fitted", True):
            with pytest.raises(AgentError, match="fit|bind_env"):
                agent.act([[0.0]])


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_family_reference_agents_are_registered(family):
    names = [family.random_agent, *family.baselines]
    if family.skyline_agent:
        names.append(family.skyline_agent)
    assert set(names) <= set(BUILTIN)


@pytest.mark.parametrize("suite", SUITES)
def test_builtin_suites_name_only_registered_agents(suite):
    spec = builtin_suite(suite, "quick")
    assert spec.family in FAMILIES
    for agent in spec.agents:
        assert agent.agent in BUILTIN, (suite, agent.agent)


def test_every_registered_environment_belongs_to_one_family():
    import gymnasium as gym

    import recsim_envs

    ids = [i for f in FAMILIES.values() for i in f.env_ids]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == recsim_envs.registered_ids()
    for env_id in ids:
        assert gym.spec(env_id).vector_entry_point, env_id


@pytest.mark.parametrize("name", agents.registered())
def test_every_registered_agent_is_accepted_by_the_harness(name):
    # the runner wraps every agent as below before fitting it; a built-in agent that the
    # contract refuses could never run in a benchmark
    from benchmarks.plugins import wrap_agent

    handle = wrap_agent(agents.make(name), name)
    assert handle.name == name
    assert not handle.plain_fit  # built-in agents take the deployment
    if handle.privileged:  # a skyline says how it reaches the live environment
        assert handle.binds_env or handle.online or handle.episodic
