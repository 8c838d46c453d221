"""recsim_envs side by side with RecoGym, SARDINE and OBP, in one run (issue 23).

Prints, with the systems interleaved (a change of load hits every system alike), medians of
``--repeats``:

1. environment throughput, user-steps per second (wall and per CPU second of this process):
   TwoStageSynthetic-v0 single and native vector (1,000 items, k = 30), SARDINE's
   ``SlateTopK-Bored-v0`` single and in gymnasium's SyncVectorEnv (its own catalogue of
   1,000 items, slates of 10), RecoGym's ``reco-gym-v1`` single (1,000 products; RecoGym
   speaks the old ``gym`` API, so no gymnasium vector env wraps it);
2. logging ``--rounds`` rounds of a softmax behaviour policy over 1,000 actions: this
   suite's two-stage logs (exact shown-item propensities) and OBP's
   ``SyntheticBanditDataset`` (one-stage, ``beta = 1``), each in a fresh process for CPU
   time and peak resident memory;
3. a 95% percentile-bootstrap interval (1,000 replicates) of IPS on 10^6 rounds: this
   suite's :func:`recsim_envs.ope.ips` and OBP's
   ``estimate_confidence_interval_by_bootstrap``, as multiples of the point estimate.

The other systems are not dependencies of the suite: ``make perf-compare`` installs pinned
copies into ``results/compare-site`` and runs this script with them on ``PYTHONPATH``. A
system that is not importable is printed as such and skipped.

    python -m benchmarks.perf.compare [--repeats 3] [--seconds 3] [--rounds 100000]
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

from benchmarks.perf.two_stage import ENV_ID, interleaved, single_env, timed, vector_env

KW = {"n_items": 1000, "n_candidates": 30}


def _recogym_env() -> Callable[[], int] | None:
    try:
        import scipy

        # RecoGym 0.1.3 imports scipy.rand, removed from scipy: the same function, restored.
        scipy.rand = np.random.rand
        from recogym import env_1_args
        from recogym.envs import RecoEnv1
    except ImportError:
        return None
    # The class behind "reco-gym-v1", built directly: the old gym's make() refuses it (it
    # declares no action space), and a wrapper would only add cost.
    env = RecoEnv1()
    env.init_gym(dict(env_1_args, num_products=KW["n_items"], random_seed=0))
    env.reset()
    rng = np.random.default_rng(0)

    def run() -> int:
        _, _, done, _ = env.step(int(rng.integers(KW["n_items"])))
        if done:
            env.reset()
            env.step(None)  # RecoGym's first step of a session takes no action
        return 1
    env.step(None)
    return run


def _sardine_env(num_envs: int | None) -> Callable[[], int] | None:
    try:
        import sardine  # noqa: F401  (registers the sardine/ environments)
    except ImportError:
        return None
    if num_envs is None:
        env = gym.make("sardine/SlateTopK-Bored-v0")
        env.reset(seed=0)
        env.action_space.seed(0)

        def run() -> int:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
            return 1
        return run
    venv = gym.vector.SyncVectorEnv([lambda: gym.make("sardine/SlateTopK-Bored-v0")] * num_envs,
                                    autoreset_mode=AutoresetMode.SAME_STEP)
    venv.reset(seed=0)
    venv.action_space.seed(0)

    def run_vec() -> int:
        venv.step(venv.action_space.sample())
        return num_envs
    return run_vec


_LOG_PROBE = """
import json, resource, sys, time
rounds, system = int(sys.argv[1]), sys.argv[2]
cpu = time.process_time()
if system == "recsim_envs":
    import gymnasium as gym, recsim_envs
    from recsim_envs.core.policies import SoftmaxPolicy
    from recsim_envs.core.threads import torch_threads
    from recsim_envs.data import collect
    env = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=1000, n_candidates=30)
    policy = SoftmaxPolicy(env.unwrapped.behaviour_scorer(), 1000, 1.0)
    cpu = time.process_time()
    with torch_threads(1):
        collect(env, policy, rounds, seed=0)
else:
    from obp.dataset import SyntheticBanditDataset
    data = SyntheticBanditDataset(n_actions=1000, dim_context=16, beta=1.0, random_state=0)
    cpu = time.process_time()
    data.obtain_batch_bandit_feedback(n_rounds=rounds)
print(json.dumps({"cpu_s": time.process_time() - cpu,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _log_probe(rounds: int, system: str) -> dict | None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _LOG_PROBE, str(rounds), system],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bootstrap_ratios() -> dict[str, float]:
    """CPU seconds of the 1,000-replicate interval over the point estimate's, per system."""
    from recsim_envs.ope import ips

    rng = np.random.default_rng(0)
    n = 1_000_000
    pscore = rng.uniform(0.01, 1.0, n)
    target = np.where(rng.random(n) < 0.03, rng.random(n), 0.0)
    reward = (rng.random(n) < 0.1).astype(float)

    def cpu(f: Callable[[], object]) -> float:
        t = time.process_time()
        f()
        return time.process_time() - t

    point = statistics.median(cpu(lambda: float(np.mean(target / pscore * reward)))
                              for _ in range(5))
    out = {"recsim_envs ips": cpu(lambda: ips(target, pscore, reward,
                                              rng=np.random.default_rng(1))) / point}
    try:
        from obp.utils import estimate_confidence_interval_by_bootstrap
    except ImportError:
        return out
    samples = target / pscore * reward
    out["OBP bootstrap"] = cpu(lambda: estimate_confidence_interval_by_bootstrap(
        samples, n_bootstrap_samples=1000, random_state=1)) / point
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=100_000)
    parser.add_argument("--num-envs", type=int, default=1000)
    parser.add_argument("--sync-envs", type=int, default=64)
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)
    systems = {
        "recsim_envs single env": single_env(KW),
        f"recsim_envs native vector env, {args.num_envs} envs": vector_env(
            KW, "vector_entry_point", args.num_envs),
        "SARDINE single env": _sardine_env(None),
        f"SARDINE SyncVectorEnv, {args.sync_envs} envs": _sardine_env(args.sync_envs),
        "RecoGym single env": _recogym_env(),
    }
    rates = interleaved(
        {name: (lambda run=run: timed(run, args.seconds))
         for name, run in systems.items() if run is not None},
        args.repeats, lambda x: f"{x[0]:,.0f}/s wall")
    print(f"\n## Environment throughput ({ENV_ID}: 1,000 items, k = 30; medians of "
          f"{args.repeats} x {args.seconds:g} s, interleaved)")
    print("| system | user-steps / s (wall) | user-steps / CPU s | load |")
    print("|---|---|---|---|")
    for name, rows in rates.items():
        med = [statistics.median(x[i] for x in rows) for i in range(3)]
        print(f"| {name} | {med[0]:,.0f} | {med[1]:,.0f} | {med[2]:.1f} |")
    for name, run in systems.items():
        if run is None:
            print(f"| {name} | not installed (make perf-compare) | | |")

    print(f"\n## Logging {args.rounds:,} softmax rounds over 1,000 actions (fresh process "
          f"each, medians of {args.repeats})")
    print("| system | CPU seconds | rounds / CPU s | peak memory (MB) |")
    print("|---|---|---|---|")
    for system in ("recsim_envs", "OBP"):
        probes = [_log_probe(args.rounds, system) for _ in range(args.repeats)]
        if any(p is None for p in probes):
            print(f"| {system} | not installed or failed (make perf-compare) | | |")
            continue
        cpu_s = statistics.median(p["cpu_s"] for p in probes)
        peak = statistics.median(p["peak_mb"] for p in probes)
        print(f"| {system} | {cpu_s:.2f} | {args.rounds / cpu_s:,.0f} | {peak:,.0f} |")

    print("\n## Bootstrap interval (1,000 replicates) of IPS on 10^6 rounds, CPU time as a "
          "multiple of the point estimate's")
    for name, ratio in _bootstrap_ratios().items():
        print(f"- {name}: {ratio:,.0f}x")


if __name__ == "__main__":
    main()
