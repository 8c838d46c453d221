"""Offline agents that learn from logged rounds and act in recsim_envs environments.

Agents are registered by short name and imported lazily; see :mod:`agents.registry`.
"""

from agents.base import (
    Agent,
    AgentError,
    BaseAgent,
    CandidateSampler,
    OnlineLearner,
    StochasticPolicy,
)
from agents.registry import load_class, make, register, registered, resolve

# Built-in agents, registered lazily as "module:Class" so importing `agents` stays light.
_BUILTIN: dict[str, str] = {
    # --- reference policies shared by families (issue 3) ---
    "random": "agents.two_stage.reference:RandomPolicy",
    "popular": "agents.two_stage.reference:PopularPolicy",
    "logging": "agents.two_stage.reference:LoggingPolicy",
    "oracle": "agents.two_stage.reference:Oracle",
    # --- two-stage family (issue 3) ---
    "ce": "agents.two_stage.ce:CE",
    "ips": "agents.two_stage.ips:OneIPS",
    "two_ips": "agents.two_stage.two_ips:TwoIPS",
    "topk_correction": "agents.two_stage.topk_correction:TopKCorrection",
    "linear_ips": "agents.two_stage.linear_ips:LinearIPS",
    # --- prompt family (issue 4) ---
    "dso": "agents.prompt.dso:DSO",
    "regression_pg": "agents.prompt.gradients:RegressionPG",
    "is_pg": "agents.prompt.gradients:ISPG",
    "dr_pg": "agents.prompt.gradients:DRPG",
    "potec": "agents.prompt.gradients:POTEC",
    "online_pg": "agents.prompt.online:OnlinePG",
    "uniform": "agents.prompt.reference:UniformPrompt",
    "prompt_logging": "agents.prompt.reference:PromptLogging",
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
    # issue 19: reference rows over safe items and from-scratch learners that can learn
    "profile_greedy": "agents.sequential.safe:ProfileGreedy",
    "safe_random": "agents.sequential.safe:SafeRandom",
    "safe_bandit": "agents.sequential.safe:SafeBandit",
    "linear_q": "agents.sequential.linear_q:LinearQ",
    "maskable_ppo": "agents.sequential.sb3_online:MaskablePPOOnline",
}
for _name, _target in _BUILTIN.items():
    register(_name, _target, overwrite=True)

__all__ = [
    "Agent",
    "AgentError",
    "BaseAgent",
    "CandidateSampler",
    "OnlineLearner",
    "StochasticPolicy",
    "load_class",
    "make",
    "register",
    "registered",
    "resolve",
]
