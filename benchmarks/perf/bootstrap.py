"""Cost of bootstrap intervals relative to the point estimate they wrap (issue 23).

For IPS and SNIPS (:mod:`recsim_envs.ope.bandit`) on ``--rounds`` synthetic logged rounds
where a share ``--support`` of the rounds have a non-zero importance weight (a
deterministic target agrees with the logged action there), prints the CPU seconds of:

- the point estimate (the estimator with one replicate drawn on the support: validation,
  weights, ESS and the mean, what a caller pays without an interval);
- ``--n-boot`` replicates with the default resampling (``"all"``: n draws among all rounds
  per replicate, the draws of every committed result);
- the same with ``resampling="support"`` (the same bootstrap distribution, drawn only on
  the non-zero-weight rounds; other draws, so other intervals for the same seed).

Estimators and schemes are interleaved over ``--repeats`` runs; medians are printed with
the load average (the machine may be shared; CPU seconds are the process's own). Target:
an interval costs at most 10x its point estimate.

    python -m benchmarks.perf.bootstrap [--rounds 1000000] [--support 0.03] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from recsim_envs.ope import bandit


def cpu_seconds(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--support", type=float, default=0.03,
                        help="share of rounds with a non-zero weight")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.rounds
    pscore = rng.uniform(0.001, 0.05, n)
    target = (rng.random(n) < args.support).astype(float)
    reward = (rng.random(n) < 0.1).astype(float)
    cases = {
        "point": lambda f: f(target, pscore, reward, rng=np.random.default_rng(1), n_boot=1,
                             resampling="support"),
        "all": lambda f: f(target, pscore, reward, rng=np.random.default_rng(1),
                           n_boot=args.n_boot),
        "support": lambda f: f(target, pscore, reward, rng=np.random.default_rng(1),
                               n_boot=args.n_boot, resampling="support"),
    }
    times: dict[tuple[str, str], list[float]] = {}
    loads: list[float] = []
    for r in range(args.repeats):
        for est in (bandit.ips, bandit.snips):
            for case, run in cases.items():
                secs = cpu_seconds(lambda run=run, est=est: run(est))
                times.setdefault((est.__name__, case), []).append(secs)
                loads.append(os.getloadavg()[0])
                print(f"  repeat {r}: {est.__name__} {case}: {secs:.3f} CPU s "
                      f"(load {loads[-1]:.1f})", flush=True)
    print(f"\n## Bootstrap intervals, {n:,} rounds, {args.support:.0%} with a non-zero "
          f"weight, {args.n_boot} replicates (CPU seconds, medians of {args.repeats}; load "
          f"{min(loads):.1f}-{max(loads):.1f})")
    print("| estimator | point | interval, all rounds (default) | x point | interval, "
          "support only | x point |")
    print("|---|---|---|---|---|---|")
    for name in ("ips", "snips"):
        point = statistics.median(times[(name, "point")])
        full = statistics.median(times[(name, "all")])
        sup = statistics.median(times[(name, "support")])
        print(f"| {name} | {point:.3f} | {full:.2f} | {full / point:.0f}x | {sup:.2f} | "
              f"{sup / point:.0f}x |")


if __name__ == "__main__":
    main()
