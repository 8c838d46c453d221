"""Worked examples that install with the package, so they import from any folder.

``recsim_envs.examples.my_agent`` is a complete plug-in agent and
``recsim_envs.examples.my_env`` a plug-in environment. They are written as a user's own
module would be (they import the package like any user code; nothing in the package imports
them), and the README and docs/benchmarks.md quote them:

    python -m benchmarks run two_stage --agent recsim_envs.examples.my_agent:PopularIPS
    python -m benchmarks run two_stage --env recsim_envs.examples.my_env:MyTwoStage-v0
"""
