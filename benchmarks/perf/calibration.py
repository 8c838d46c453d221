"""Coverage of the off-policy intervals over replicate held-out logs (issue 21).

One fixed world per family, built as the benchmark runner builds a cell of the quick suite
(:func:`benchmarks.runner.run_cell`'s steps: the family harness's ``build_world`` once,
``make_env``, ``behaviour_policy``, ``log`` and ``deployment``, ``build_agent`` and
``wrap_agent``, ``fit`` on the training log); each target agent is fit once; its truth is
its online value on the same world (:func:`recsim_envs.evaluation.evaluate` over the built
world with ``--truth-users`` users: the exact expected reward per user, averaged over
users). Then ``--logs`` replicate held-out logs, each drawn
from its own seed, are estimated through the family's ``off_policy`` (the runner's call of
:func:`recsim_envs.ope.estimate_policy`), and :func:`recsim_envs.ope.calibration.coverage_table`
prints the coverage of every estimator's interval.

    python -m benchmarks.perf.calibration --family two_stage --logs 200
    python -m benchmarks.perf.calibration --family prompt --logs 100 --json out.json

Worlds: two-stage = the quick suite's synthetic world (300 items, k = 10, world_seed 0,
softmax temperature 0.5 logging, 3,000 training and 2,000 held-out rounds), targets
``random``, ``logging``, ``ce``; prompt = the quick suite's synthetic world (1,000 prompts,
reference behaviour, 8,000 training and 1,000 held-out rounds), targets ``uniform``, ``dso``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.cells import Cell, cell_seeds
from benchmarks.families import get_family
from benchmarks.families.base import CheckedHandle
from benchmarks.plugins import build_agent, wrap_agent
from benchmarks.suites import builtin_suite
from recsim_envs.core.threads import torch_threads
from recsim_envs.ope.calibration import (
    CoverageRow,
    calibration_failures,
    coverage_table,
    format_table,
)

SETUPS = {
    # family: (suite, environment of the suite, targets)
    "two_stage": ("two_stage", "synthetic", ("random", "logging", "ce")),
    "prompt": ("prompt", "synthetic", ("uniform", "dso")),
}
TRUTH_USERS = {"two_stage": 200_000, "prompt": 50_000}
"""Users of the truth's online evaluation: its standard error (per-user sd / sqrt(users),
printed) is then < 0.1 of the narrowest interval half-width measured."""
LOG_SEED = 7_000_000
"""Replicate r's held-out log is drawn from seed LOG_SEED + r (disjoint from cell seeds'
32-bit draws only by chance, which is irrelevant: the world and agents are fixed)."""


@dataclass
class World:
    """One fixed world with its fitted targets and their truths."""

    family_name: str
    family: Any
    env: Any
    built: Any
    policy: Any
    train: Any
    deployment: Any
    n_heldout: int
    targets: dict[str, Any] = field(default_factory=dict)  # name -> fitted handle
    truth: dict[str, float] = field(default_factory=dict)
    truth_se: dict[str, float] = field(default_factory=dict)
    fit_s: dict[str, float] = field(default_factory=dict)


def build_world(family_name: str, targets: Sequence[str] | None = None,
                truth_users: int | None = None, n_train: int | None = None,
                n_heldout: int | None = None, steps: int | None = None) -> World:
    """The fixed world of ``family_name`` (seed index 0 of its quick suite), targets fit.

    ``n_train``/``n_heldout``/``steps`` (the learners' Adam steps or epochs) override the
    suite's sizes (the fast tests use small ones); ``truth_users`` the truth's users.
    """
    from recsim_envs.evaluation import evaluate
    from recsim_envs.evaluation.harness import with_world

    suite, env_name, default_targets = SETUPS[family_name]
    spec = builtin_suite(suite, "quick")
    if n_train is not None or n_heldout is not None:
        spec = dataclasses.replace(spec, data=dataclasses.replace(
            spec.data, n_train=n_train or spec.data.n_train,
            n_heldout=n_heldout or spec.data.n_heldout))
    env_spec = next(e for e in spec.envs if e.name == env_name)
    agent_specs = {a.name: a for a in spec.agents}
    cell = Cell(spec, env_spec, agent_specs[(targets or default_targets)[0]], 0)
    seeds = cell_seeds(spec.name, env_spec.name, 0)
    family = get_family(spec.family)
    env_kwargs = cell.env_kwargs()
    built = family.build_world(env_spec.id, env_kwargs)  # one world, as in the runner
    env = family.make_env(env_spec.id, env_kwargs, built)
    policy = family.behaviour_policy(env, cell.behaviour(), seeds["behaviour"])
    train = family.log(env, policy, spec.data.n_train, seeds["log_train"])
    deployment = family.deployment(env, policy, cell.behaviour())
    world = World(family_name, family, env, built, policy, train, deployment,
                  spec.data.n_heldout)
    users = truth_users or TRUTH_USERS[family_name]
    for name in targets or default_targets:
        agent_spec = agent_specs[name]
        if steps is not None:
            key = "epochs" if "epochs" in agent_spec.settings else "n_steps"
            if key in agent_spec.settings:
                agent_spec = dataclasses.replace(
                    agent_spec, settings={**agent_spec.settings, key: steps})
        agent, _ = build_agent(agent_spec, seeds["agent"])
        t0 = time.process_time()
        handle = CheckedHandle(wrap_agent(agent, name), env.action_space)
        handle.fit(train, deployment)
        world.fit_s[name] = time.process_time() - t0
        result = evaluate(handle, env.spec.id, with_world(env_kwargs, built), users,
                          seeds["evaluation"])
        world.targets[name] = handle
        world.truth[name] = float(result.value.mean)
        # per-user sd / sqrt(users): the truth's own sampling error over users
        per_user = result.per_user["expected_reward"]
        world.truth_se[name] = float(per_user.std(ddof=1) / np.sqrt(len(per_user)))
    return world


def replicate(world: World, r: int) -> dict[str, dict[str, Any]]:
    """Estimates of every target from replicate log r: ``{target: {estimator: estimate}}``."""
    heldout = world.family.log(world.env, world.policy, world.n_heldout, LOG_SEED + r)
    out = {}
    for i, (name, handle) in enumerate(world.targets.items()):
        rng = np.random.default_rng([LOG_SEED + r, i])
        out[name] = world.family.off_policy(handle, world.train, heldout, world.deployment,
                                            world.env, rng)
    return out


def calibrate(world: World, n_logs: int, progress: bool = False) -> list[CoverageRow]:
    """Coverage rows of every target and estimator over ``n_logs`` replicate logs."""
    per_target: dict[str, list] = {name: [] for name in world.targets}
    t0 = time.perf_counter()
    for r in range(n_logs):
        for name, ests in replicate(world, r).items():
            per_target[name].append(ests)
        if progress and (r + 1) % 10 == 0:
            print(f"  {r + 1}/{n_logs} logs, {time.perf_counter() - t0:.0f} s, load "
                  f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    rows = []
    for name, reps in per_target.items():
        rows += coverage_table(world.family_name, name, world.truth[name], reps)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(SETUPS), required=True)
    parser.add_argument("--logs", type=int, default=200, help="replicate held-out logs")
    parser.add_argument("--targets", nargs="*", help="agents (default: the family's)")
    parser.add_argument("--truth-users", type=int, help="users of the online truth")
    parser.add_argument("--json", help="also write the rows (and truths) to this file")
    args = parser.parse_args(argv)
    if args.logs < 1:
        parser.error("--logs must be >= 1")
    with torch_threads(1):
        t0 = time.perf_counter()
        world = build_world(args.family, args.targets, args.truth_users)
        print(f"world built in {time.perf_counter() - t0:.0f} s (load "
              f"{os.getloadavg()[0]:.1f}); truths: " + ", ".join(
                  f"{k} {v:.4f} (se {world.truth_se[k]:.4f})" for k, v in world.truth.items()),
              flush=True)
        t1 = time.perf_counter()
        rows = calibrate(world, args.logs, progress=True)
        wall = time.perf_counter() - t1
    print(f"{args.logs} logs in {wall:.0f} s wall (load {os.getloadavg()[0]:.1f}; an upper "
          "bound on an idle machine's time)")
    print(format_table(rows))
    failures = calibration_failures(rows)
    print("\n".join(failures) if failures else "every interval labelled calibrated covers "
          ">= 90%")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": [dataclasses.asdict(r) for r in rows], "truth": world.truth,
                       "truth_se": world.truth_se, "logs": args.logs, "wall_s": wall}, fh,
                      indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
