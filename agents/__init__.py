"""Offline agents that learn from logged rounds and act in recsim_envs environments.

Agents are registered by short name and imported lazily; see :mod:`agents.registry`.
"""

from agents.base import Agent, AgentError, BaseAgent, OnlineAgent, StochasticAgent
from agents.registry import load_class, make, register, registered, resolve

# Built-in agents, registered lazily as "module:Class" so importing `agents` stays light.
_BUILTIN: dict[str, str] = {
    # --- reference policies shared by families (issue 3) ---
    "random": "agents.reference:RandomPolicy",
    "popular": "agents.reference:PopularPolicy",
    "logging": "agents.reference:LoggingPolicy",
    "oracle": "agents.reference:Oracle",
    # --- two-stage family (issue 3) ---
    "ce": "agents.two_stage:CE",
    "ips": "agents.two_stage:OneIPS",
    "two_ips": "agents.two_stage:TwoIPS",
    "topk_correction": "agents.two_stage:TopKCorrection",
    # --- prompt family (issue 4) ---
    "dso": "agents.dso:DSO",
    "regression_pg": "agents.prompt_baselines:RegressionPG",
    "is_pg": "agents.prompt_baselines:ISPG",
    "dr_pg": "agents.prompt_baselines:DRPG",
    "potec": "agents.prompt_baselines:POTEC",
    "online_pg": "agents.prompt_baselines:OnlinePG",
    "uniform": "agents.prompt_baselines:UniformPrompt",
    "prompt_logging": "agents.prompt_baselines:PromptLogging",
    # --- sequential family (issue 5) ---
    "ialp": "agents.ialp:IALP",
    "a_ialp_ft": "agents.ialp:AIALPFineTune",
    "a_ialp_ap": "agents.ialp:AIALPAdaptive",
    "llm_greedy": "agents.ialp:LLMGreedy",
    "bc": "agents.behaviour_cloning:BehaviourCloning",
    "ppo": "agents.sb3_online:PPOOnline",
    "dqn": "agents.sb3_online:DQNOnline",
    "seq_random": "agents.sequential_reference:SeqRandom",
    "seq_oracle": "agents.sequential_reference:SeqOracle",
    "seq_logging": "agents.sequential_reference:SeqLogging",
    "no_repeat_popular": "agents.sequential_reference:NoRepeatPopular",
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
