"""Throughput and memory of the two-stage environments and of logging (issues 2 and 23).

Prints, for TwoStageSynthetic-v0 at the given catalogue size and k:
- user-steps per second of a single environment, of gymnasium's SyncVectorEnv (with the
  native environment's same-step autoreset, so that every counted user-step is a step) and
  of the native vector environment (``vectorization_mode="vector_entry_point"``), measured in turn
  (interleaved) ``--repeats`` times; medians of wall-clock rates and of rates per CPU second
  (the process's own CPU time: closer to an idle machine's wall-clock rate when other
  processes share the cores), each with the load average when it was taken;
- seconds to log ``--rounds`` rounds with the uniform and the softmax behaviour policy
  (float64, the default, and float32), the same way;
- peak resident memory of a process that builds a 1,000,000-item catalogue, logs 10,000
  rounds and steps the native vector environment.

Targets (an idle 2-core machine): native vector env >= 500,000 user-steps/s at 1,000 users
and 1,000 items and >= 50x SyncVectorEnv; 1,000,000 softmax-logged rounds <= 10 s;
1,000,000 items < 2 GB peak memory. Under load, wall-clock figures are upper bounds on
the time (lower bounds on the rate) and are labelled with the load average.

RecoGym, SARDINE and OBP side by side with this suite: ``make perf-compare``
(:mod:`benchmarks.perf.compare`).

    python -m benchmarks.perf.two_stage [--n-items 1000] [--k 30] [--rounds 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import collect

ENV_ID = "recsim_envs/TwoStageSynthetic-v0"


def load() -> float:
    return os.getloadavg()[0]


def timed(run, seconds: float) -> tuple[float, float, float]:
    """``run()`` -> units done, repeated for ``seconds``: (units per wall second, units per
    CPU second of this process, load average at the end)."""
    n, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        n += run()
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu), load()


def interleaved(jobs: dict[str, Callable[[], tuple]], repeats: int,
                describe: Callable[[tuple], str]) -> dict[str, list[tuple]]:
    """Each job's result ``repeats`` times, the jobs taken in turn within each repeat (so a
    change of load hits every system alike); prints a line per result."""
    out: dict[str, list[tuple]] = {name: [] for name in jobs}
    for r in range(repeats):
        for name, job in jobs.items():
            out[name].append(job())
            print(f"  repeat {r}: {name}: {describe(out[name][-1])}", flush=True)
    return out


def single_env(kwargs: dict):
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    action = np.arange(kwargs["n_candidates"])

    def run() -> int:
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()
        return 1
    return run


def vector_env(kwargs: dict, mode: str, num_envs: int):
    # SyncVectorEnv with the native env's same-step autoreset: with gymnasium's default
    # (next-step), every other call of one-step episodes only resets, so half of its
    # "user-steps" would be resets (measured: 32 of 64 sub-environments end per call).
    vector_kwargs = {"autoreset_mode": AutoresetMode.SAME_STEP} if mode == "sync" else {}
    venv = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode=mode,
                        vector_kwargs=vector_kwargs, **kwargs)
    venv.reset(seed=0)
    actions = np.tile(np.arange(kwargs["n_candidates"]), (num_envs, 1))

    def run() -> int:
        venv.step(actions)
        return num_envs
    return run


def logging_seconds(kwargs: dict, rounds: int, policy_name: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, load) to log ``rounds`` rounds with ``policy_name``."""
    env = gym.make(ENV_ID, **kwargs)
    if policy_name == "uniform":
        policy = UniformPolicy(kwargs["n_items"])
    else:  # "softmax float64" or "softmax float32"
        policy = SoftmaxPolicy(env.unwrapped.behaviour_scorer(), kwargs["n_items"], 0.5,
                               precision=policy_name.split()[1])
    wall, cpu = time.perf_counter(), time.process_time()
    # One torch thread, as in the runner's cells: on 2 cores two threads measured 2x slower
    # for these cache-sized blocks (synchronisation per block outweighs the split work).
    with torch_threads(1):
        ds = collect(env, policy, rounds, seed=0)
    assert len(ds) == rounds
    return time.perf_counter() - wall, time.process_time() - cpu, load()


_MEMORY_PROBE = """
import resource, time, json, gymnasium as gym, numpy as np, recsim_envs
from recsim_envs.data import collect
from recsim_envs.core.policies import UniformPolicy
t = time.perf_counter()
kw = dict(n_items=1_000_000, n_candidates=30)
env = gym.make("recsim_envs/TwoStageSynthetic-v0", **kw)
build = time.perf_counter() - t
ds = collect(env, UniformPolicy(1_000_000), 10_000, seed=0)
venv = gym.make_vec("recsim_envs/TwoStageSynthetic-v0", num_envs=1000,
                    vectorization_mode="vector_entry_point", **kw)
venv.reset(seed=0)
for _ in range(10):
    venv.step(np.random.default_rng(0).integers(0, 1_000_000, (1000, 30)))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"build_s": build, "peak_mb": peak}))
"""


def _median(rows: list[tuple[float, ...]], i: int) -> float:
    return statistics.median(r[i] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-items", type=int, default=1000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--num-envs", type=int, default=1000)
    parser.add_argument("--sync-envs", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the 1M-item probe")
    args = parser.parse_args()
    kwargs = {"n_items": args.n_items, "n_candidates": args.k}
    print(f"load average at start {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)

    systems = {
        "single env (gymnasium.make)": single_env(kwargs),
        f"SyncVectorEnv (same-step autoreset), {args.sync_envs} envs": vector_env(
            kwargs, "sync", args.sync_envs),
        f"native vector env, {args.num_envs} envs": vector_env(
            kwargs, "vector_entry_point", args.num_envs),
    }
    rates = interleaved(
        {name: (lambda run=run: timed(run, args.seconds)) for name, run in systems.items()},
        args.repeats, lambda x: f"{x[0]:,.0f}/s wall, {x[1]:,.0f}/s per CPU second "
                                f"(load {x[2]:.1f})")
    print(f"\n## Environment throughput ({args.n_items:,} items, k = {args.k}; medians of "
          f"{args.repeats}, {args.seconds:g} s each)")
    print("| implementation | user-steps / s (wall) | user-steps / CPU s | load |")
    print("|---|---|---|---|")
    for name, rows in rates.items():
        print(f"| {name} | {_median(rows, 0):,.0f} | {_median(rows, 1):,.0f} | "
              f"{_median(rows, 2):.1f} |")
    names = list(systems)
    ratio = [n / s for n, s in zip((r[0] for r in rates[names[2]]),
                                   (r[0] for r in rates[names[1]]), strict=True)]
    print(f"\nnative / SyncVectorEnv (per repeat, wall): median {statistics.median(ratio):.0f}x "
          f"(range {min(ratio):.0f}-{max(ratio):.0f}x; target >= 50x, >= 500,000 steps/s idle)")

    policies = ("uniform", "softmax float64", "softmax float32")
    secs = interleaved(
        {name: (lambda name=name: logging_seconds(kwargs, args.rounds, name))
         for name in policies},
        args.repeats, lambda x: f"{x[0]:.1f} s wall, {x[1]:.1f} s CPU (load {x[2]:.1f})")
    print(f"\n## Logging {args.rounds:,} rounds ({args.n_items:,} items, k = {args.k}; "
          f"medians of {args.repeats})")
    print("| behaviour policy | seconds (wall) | CPU seconds | rounds / CPU s | load |")
    print("|---|---|---|---|---|")
    for name, rows in secs.items():
        print(f"| {name} | {_median(rows, 0):.1f} | {_median(rows, 1):.1f} | "
              f"{args.rounds / _median(rows, 1):,.0f} | {_median(rows, 2):.1f} |")

    if args.no_memory:
        return
    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True,
                         check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n## 1,000,000-item catalogue")
    print(f"world build {probe['build_s']:.1f} s; peak resident memory {probe['peak_mb']:,.0f} MB "
          f"(build, 10,000 logged rounds, 10 steps of 1,000 users; target < 2 GB; "
          f"load {load():.1f})")


if __name__ == "__main__":
    main()
