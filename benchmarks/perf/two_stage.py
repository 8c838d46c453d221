"""Throughput and memory of the two-stage environments and of logging (issue 2 targets).

Prints, for TwoStageSynthetic-v0 at the given catalogue size and k:
- user-steps per second of a single environment, of gymnasium's SyncVectorEnv and of the
  native vector environment (``vectorization_mode="vector_entry_point"``);
- seconds to log 1,000,000 rounds with the uniform and a softmax behaviour policy (its
  float64 and float32 precisions);
- peak resident memory of a process that builds a 1,000,000-item catalogue, logs 10,000
  rounds and steps the native vector environment.

Targets (2 CPU cores): native vector env >= 200,000 user-steps/s and >= 50x SyncVectorEnv at
1,000 items, k = 30; 1,000,000 logged rounds < 10 s; 1,000,000 items < 2 GB peak memory.

    python -m benchmarks.perf.two_stage [--n-items 1000] [--k 30] [--rounds 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import collect

ENV_ID = "recsim_envs/TwoStageSynthetic-v0"


def single_env_rate(kwargs: dict, seconds: float) -> float:
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    action = np.arange(kwargs["n_candidates"])
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()
        n += 1
    return n / (time.perf_counter() - start)


def vector_rate(kwargs: dict, mode: str, num_envs: int, seconds: float) -> float:
    venv = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode=mode, **kwargs)
    venv.reset(seed=0)
    actions = np.tile(np.arange(kwargs["n_candidates"]), (num_envs, 1))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        venv.step(actions)
        n += num_envs
    rate = n / (time.perf_counter() - start)
    venv.close()
    return rate


def logging_seconds(kwargs: dict, rounds: int, policy_name: str) -> float:
    env = gym.make(ENV_ID, **kwargs)
    if policy_name == "uniform":
        policy = UniformPolicy(kwargs["n_items"])
    else:  # "softmax float64" or "softmax float32"
        policy = SoftmaxPolicy(env.unwrapped.behaviour_scorer(), kwargs["n_items"], 0.5,
                               precision=policy_name.split()[1])
    start = time.perf_counter()
    # One torch thread, as in the runner's cells: on 2 cores two threads measured 2x slower
    # for these cache-sized blocks (synchronisation per block outweighs the split work).
    with torch_threads(1):
        ds = collect(env, policy, rounds, seed=0)
    elapsed = time.perf_counter() - start
    assert len(ds) == rounds
    return elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-items", type=int, default=1000)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--num-envs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    kwargs = {"n_items": args.n_items, "n_candidates": args.k}

    single = single_env_rate(kwargs, args.seconds)
    sync = vector_rate(kwargs, "sync", 64, args.seconds)
    native = vector_rate(kwargs, "vector_entry_point", args.num_envs, args.seconds)
    print(f"## Environment throughput ({args.n_items:,} items, k = {args.k})")
    print("| implementation | user-steps / s |")
    print("|---|---|")
    print(f"| single env (gymnasium.make) | {single:,.0f} |")
    print(f"| SyncVectorEnv, 64 envs | {sync:,.0f} |")
    print(f"| native vector env, {args.num_envs} envs | {native:,.0f} |")
    print(f"\nnative / SyncVectorEnv: {native / sync:.0f}x (target >= 50x; >= 200,000 steps/s)")

    print(f"\n## Logging {args.rounds:,} rounds ({args.n_items:,} items, k = {args.k})")
    print("| behaviour policy | seconds | rounds / s |")
    print("|---|---|---|")
    for name in ("uniform", "softmax float64", "softmax float32"):
        secs = logging_seconds(kwargs, args.rounds, name)
        print(f"| {name} | {secs:.1f} | {args.rounds / secs:,.0f} |")

    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True,
                         check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    print("\n## 1,000,000-item catalogue")
    print(f"world build {probe['build_s']:.1f} s; peak resident memory {probe['peak_mb']:,.0f} MB "
          "(build, 10,000 logged rounds, 10 steps of 1,000 users; target < 2 GB)")


if __name__ == "__main__":
    main()
