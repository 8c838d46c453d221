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
    "ce": "agents.two_stage.learners:CE",
    "ips": "agents.two_stage.learners:OneIPS",
    "two_ips": "agents.two_stage.learners:TwoIPS",
    "topk_correction": "agents.two_stage.learners:TopKCorrection",
    # --- prompt family (issue 4) ---
    "dso": "agents.prompt.dso:DSO",
    "regression_pg": "agents.prompt.baselines:RegressionPG",
    "is_pg": "agents.prompt.baselines:ISPG",
    "dr_pg": "agents.prompt.baselines:DRPG",
    "potec": "agents.prompt.baselines:POTEC",
    "online_pg": "agents.prompt.baselines:OnlinePG",
    "uniform": "agents.prompt.baselines:UniformPrompt",
    "prompt_logging": "agents.prompt.baselines:PromptLogging",
    # --- sequential family (issue 5) ---
    "ialp": "agents.sequential.ialp:IALP",
    "a_ialp_ft": "agents.sequential.ialp:AIALPFineTune",
    "a_ialp_ap": "agents.sequential.ialp:AIALPAdaptive",
    "llm_greedy": "agents.sequential.ialp:LLMGreedy",
    "bc": "agents.sequential.behaviour_cloning:BehaviourCloning",
    "ppo": "agents.sequential.sb3_online:PPOOnline",
    "dqn": "agents.sequential.sb3_online:DQNOnline",
    "seq_random": "agents.sequential.reference:SeqRandom",
    "seq_oracle": "agents.sequential.reference:SeqOracle",
    "seq_logging": "agents.sequential.reference:SeqLogging",
    "no_repeat_popular": "agents.sequential.reference:NoRepeatPopular",
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
