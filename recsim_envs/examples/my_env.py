"""A custom environment of the two-stage family, in the user's own module.

Importing this module registers ``MyTwoStage-v0``: the synthetic two-stage environment
with a smaller catalogue, fewer candidates and a higher click rate. Any environment that
implements the family's interface (subclassing a built-in environment of the family gives
it) can be registered the same way. Name it as ``module:ID`` so the benchmark imports the
module first:

    python -m benchmarks run two_stage --env recsim_envs.examples.my_env:MyTwoStage-v0

or in a spec (``family = "two_stage"``):

    [[envs]]
    name = "mine"
    id = "recsim_envs.examples.my_env:MyTwoStage-v0"
"""

from __future__ import annotations

import gymnasium as gym

ENV_ID = "MyTwoStage-v0"

# Defaults of this environment; `gymnasium.make(ENV_ID, **kwargs)` overrides them.
DEFAULTS = {
    "n_items": 200,
    "n_candidates": 5,
    "response_offset": -2.5,  # base click logit: about twice the built-in click rate
}

if ENV_ID not in gym.registry:  # importing twice must not register twice
    gym.register(
        id=ENV_ID,
        entry_point="recsim_envs.two_stage.envs:TwoStageEnv",
        vector_entry_point="recsim_envs.two_stage.envs:TwoStageVectorEnv",
        kwargs=DEFAULTS,
    )
