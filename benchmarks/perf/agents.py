"""Training-step cost of the two-stage agents (a benchmark script, not a timed test).

One optimizer step (forward, backward, update) at batch 128 on a MovieLens-1M-shaped
catalogue (3,883 items, k = 30, tau = 100) for CE, 1-IPS and 2-IPS, plus the per-example
loop formulation of the 2-IPS loss (as in the authors' code) for comparison, and 2-IPS with
sampled softmax on a 100,000-item catalogue. Prints wall-clock medians and the process
CPU time per step (CPU time is the figure to trust on a shared, loaded machine).

    python -m benchmarks.perf.agents               # 2 torch threads, as on the reference machine
    python -m benchmarks.perf.agents --threads 1 --repeats 50
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

import agents
import recsim_envs  # noqa: F401
from agents.two_stage.two_ips import TwoIPS
from recsim_envs.core.policies import SoftmaxPolicy
from recsim_envs.data import collect

ENV = "recsim_envs/TwoStageSynthetic-v0"


class TwoIPSLoop(TwoIPS):
    """2-IPS with the reference code's per-example loop: one row at a time (for timing only).

    Same estimator as :class:`~agents.two_stage.two_ips.TwoIPS`; each row draws its tau sets with
    ``torch.multinomial`` and builds its sets' ranker softmax and co-candidate sum alone.
    """

    def row_terms(self, batch, view, generator):
        cfg = self.config
        w = self.weights(batch, view)
        k, tau = self.shapes.n_candidates, cfg.n_sets
        scores = self.ranker_scores(batch.x, view.pool).detach() / cfg.ranker_temperature
        coefs, slates = [], []
        for i in range(len(batch.action)):
            a = int(view.a_col[i])
            p = (view.logits[i].detach() / cfg.policy_temperature).softmax(0)
            draws = torch.multinomial(p, tau * k, replacement=True, generator=generator).view(
                tau, k
            )
            c_i = torch.zeros(())
            s_i = torch.zeros(())
            for m in range(tau):
                members = torch.unique(torch.cat([draws[m], torch.tensor([a])]))
                q = scores[i, members].softmax(0)[members == a][0]
                co = members[members != a]
                c_i = c_i + w[i] * q
                s_i = s_i + w[i] * q * view.log_p[i, co].sum()
            coefs.append(c_i / tau)
            slates.append(s_i / tau)
        return torch.stack(coefs), -cfg.alpha * torch.stack(slates).mean()


def dataset(n_items: int, n_rounds: int, seed: int = 0):
    env = gym.make(ENV, n_items=n_items, n_candidates=30)
    pol = SoftmaxPolicy(env.unwrapped.behaviour_scorer(), n_items, temperature=0.5)
    return collect(env, pol, n_rounds, seed=seed)


def time_steps(agent, data, repeats: int, batch: int = 128) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` training steps on fixed rows."""
    g = agent.begin_fit(data)
    rows = torch.arange(batch)
    for _ in range(3):
        agent.train_step(rows, g)
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        agent.train_step(rows, g)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.median(cpu))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--skip-loop", action="store_true", help="skip the slow per-example loop")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch threads {args.threads}, batch 128, k=30, tau=100; load average {load:.1f} "
        f"on {os.cpu_count()} cores\n"
    )
    ml = dataset(3_883, 3_000)
    print("| step | items | wall median (s) | CPU per step (s) |")
    print("|---|---|---|---|")
    times = {}
    runs = [
        ("ce", agents.make("ce")),
        ("ips", agents.make("ips")),
        ("two_ips", agents.make("two_ips")),
    ]
    if not args.skip_loop:
        runs.append(("two_ips (per-example loop)", TwoIPSLoop()))
    for name, agent in runs:
        reps = max(3, args.repeats // 10) if "loop" in name else args.repeats
        times[name] = time_steps(agent, ml, reps)
        print(f"| {name} | 3,883 | {times[name][0]:.4f} | {times[name][1]:.4f} |", flush=True)
    big = dataset(100_000, 1_000)
    for name in ("ce", "two_ips"):
        t = time_steps(agents.make(name, sampled_softmax=2048), big, args.repeats)
        print(
            f"| {name}, sampled softmax (2,048 negatives) | 100,000 | {t[0]:.4f} | {t[1]:.4f} |",
            flush=True,
        )
    ratio = times["two_ips"][0] / times["ce"][0]
    print(f"\n2-IPS / CE step-time ratio (wall): {ratio:.2f}")
    if "two_ips (per-example loop)" in times:
        speedup = times["two_ips (per-example loop)"][0] / times["two_ips"][0]
        print(f"vectorised 2-IPS is {speedup:.1f}x faster than the per-example loop")


if __name__ == "__main__":
    main()
