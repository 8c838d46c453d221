"""recsim_envs: Gymnasium recommender-system simulators for off-policy learning.

Importing the package registers every environment (``gymnasium.make("recsim_envs/...")``).
Logged data: :func:`recsim_envs.data.collect` and :class:`recsim_envs.data.LoggedDataset`.
"""

from recsim_envs.registration import register_all, registered_ids

__version__ = "0.1.0"

register_all()

__all__ = ["__version__", "registered_ids"]
