"""iALP and A-iALP: language-model-driven policy pre-training and online adaptation.

Paper: Wang, Karatzoglou, Arapakis, Jose, "Large Language Model driven Policy Exploration
for Recommender Systems", WSDM 2025 (arXiv 2501.13816). The paper's code is not public;
the design is ours (``docs/sequential.md``). One module per concept:

- :mod:`~agents.sequential.ialp.config`: :class:`IALPConfig` with the named variants
  ``"quit_aware"`` (default) and ``"as_built"``.
- :mod:`~agents.sequential.ialp.networks`: the item scorer (actor, critic, reward model) and
  its seeded initialisation.
- :mod:`~agents.sequential.ialp.imagination`: imagined sessions with the language-model user.
- :mod:`~agents.sequential.ialp.reward_model`: the Bradley-Terry reward model and its
  calibration to the reward scale.
- :mod:`~agents.sequential.ialp.actor_critic`: the actor-critic loop and update.
- :mod:`~agents.sequential.ialp.replay`: the replay ring buffer of the online phase.
- :mod:`~agents.sequential.ialp.pretrain`: :class:`IALP` (imagination + reward model +
  offline actor-critic).
- :mod:`~agents.sequential.ialp.online`: :class:`AIALPFineTune` (A-iALP_ft) and
  :class:`AIALPAdaptive` (A-iALP_ap).
- :mod:`~agents.sequential.ialp.greedy`: :class:`LLMGreedy`, the language model's top choice.

Every agent acts on the flat observation of
:class:`~recsim_envs.sequential.observation.SequentialFlatObservation`.
"""

from agents.sequential.ialp.config import VARIANTS, IALPConfig
from agents.sequential.ialp.greedy import LLMGreedy, LLMGreedyConfig
from agents.sequential.ialp.networks import ItemScorer, init_params
from agents.sequential.ialp.online import AIALPAdaptive, AIALPFineTune
from agents.sequential.ialp.pretrain import IALP, text_user_of
from agents.sequential.ialp.replay import ReplayBuffer

__all__ = [
    "AIALPAdaptive", "AIALPFineTune", "IALP", "IALPConfig", "ItemScorer", "LLMGreedy",
    "LLMGreedyConfig", "ReplayBuffer", "VARIANTS", "init_params", "text_user_of",
]
