"""Coverage of the sequential off-policy intervals over replicate held-out logs (issue 21).

Builds the agents (registered names, each with the calibration seed where its config has
one) and runs :func:`recsim_envs.ope.calibration_sessions.run`: one fixed world, agents fit
once, ``--n-logs`` held-out logs of the evaluation users estimated through
:func:`recsim_envs.ope.estimate_policy` as the runner calls it.

    python -m benchmarks.perf.calibration_sessions --n-logs 50
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from typing import Any

from recsim_envs.ope.calibration_sessions import SessionCalibrationConfig, run

DEFAULT_AGENTS = "seq_logging,no_repeat_popular,profile_greedy,bc,dqn"
"""The behaviour policy, two deterministic agents, one agent learned offline and one trained
online (with the quick suite's online budget)."""


def make_agents(names: list[str], seed: int) -> dict[str, Any]:
    """Unfitted agents by registered name, seeded where their config has a ``seed``."""
    import agents

    out = {}
    for name in names:
        cls = agents.resolve(name)
        config = getattr(cls, "Config", None)
        params = ({f.name for f in dataclasses.fields(config)}
                  if dataclasses.is_dataclass(config) else set(inspect.signature(cls).parameters))
        out[name] = cls(**({"seed": seed} if "seed" in params else {}))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", default=DEFAULT_AGENTS)
    parser.add_argument("--n-logs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write every replicate row here (JSON lines)")
    args = parser.parse_args(argv)
    config = SessionCalibrationConfig(n_logs=args.n_logs, seed=args.seed)
    run(config, make_agents(args.agents.split(","), config.seed), args.out)


if __name__ == "__main__":
    main()
