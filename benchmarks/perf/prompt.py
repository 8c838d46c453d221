"""Timing of a full DSO run at the reference default, and the prompt environments' throughput.

Target (issue 4): density-model fit plus 20,000 policy steps of batch 32 within 2 minutes on
2 CPU cores. Prints the time of each phase, then steps per second of the single and the
native vector environment and rounds per second of vectorised logging, for both
environments. Timings depend on the machine's load: run it on an idle machine.

    python -m benchmarks.perf.prompt                 # reference default
    python -m benchmarks.perf.prompt --steps 2000    # quick look
    python -m benchmarks.perf.prompt --quick-cells 0 # CPU seconds per quick-suite cell
    python -m benchmarks.perf.prompt --sizing experiments/prompt_quick_sizing  # seeds needed
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only add overhead


def _timed(label: str, fn, rows: list):
    """Run ``fn``; print wall time and this process's CPU time (the two differ on a busy
    machine: CPU time is what the phase costs on an idle core)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    rows.append((label, time.perf_counter() - t, time.process_time() - c))
    print(f"  {label:<54} wall {rows[-1][1]:7.2f} s   cpu {rows[-1][2]:7.2f} s", flush=True)
    return out


def dso_run(args) -> None:
    import gymnasium as gym

    import recsim_envs  # noqa: F401
    from agents.prompt.dso import DSO
    from recsim_envs.data import collect
    from recsim_envs.prompt.behaviour import reference_behaviour_policy

    print(f"DSO at the reference default ({args.n_rounds} rounds, {args.n_prompts} prompts, "
          f"{args.steps} steps of batch 32, torch threads {args.threads}):", flush=True)
    rows: list = []
    env = _timed("make environment", lambda: gym.make(
        "recsim_envs/PromptSentence-v0", n_prompts=args.n_prompts).unwrapped, rows)
    pol = _timed("behaviour policy (regressor on 10,000 uniform rounds)",
                 lambda: reference_behaviour_policy(env, seed=0), rows)
    data = _timed(f"log {args.n_rounds} rounds", lambda: collect(env, pol, args.n_rounds, seed=0),
                  rows)
    agent = DSO(seed=0, n_steps=args.steps, n_threads=args.threads)
    _timed("DSO fit (density model + policy steps)",
           lambda: agent.fit(data, generator=env.generator), rows)
    print(f"    of which (wall) density model fit {agent.timings['density']:8.2f} s, "
          f"policy steps {agent.timings['policy']:8.2f} s "
          f"({1e3 * agent.timings['policy'] / max(args.steps, 1):.2f} ms/step)")
    opt = _timed("evaluate (exact values, 10,000 contexts)",
                 lambda: env.optimality(agent.action_probs), rows)
    print(f"  DSO optimality (seed 0): {opt:.3f}")
    wall, cpu = rows[3][1], rows[3][2]
    verdict = "within" if min(wall, cpu) <= 120 else "OVER"
    print(f"  DSO fit: wall {wall:.1f} s, cpu {cpu:.1f} s: {verdict} the 2-minute budget "
          f"(1-minute load average now {os.getloadavg()[0]:.1f})\n")


def throughput(env_id: str, args) -> None:
    import gymnasium as gym
    import numpy as np

    from recsim_envs.core.policies import UniformPolicy

    t = time.perf_counter()
    env = gym.make(env_id)
    build = time.perf_counter() - t
    base = env.unwrapped
    n = args.single_steps
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, base.n_prompts, n)
    t = time.perf_counter()
    for a in actions:  # the single env is stepped one user at a time, as an RL loop would
        env.step(int(a))
        env.reset()
    single = n / (time.perf_counter() - t)
    vec = gym.make_vec(env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    acts = np.random.default_rng(1).integers(0, base.n_prompts, (args.vec_steps, args.num_envs))
    t = time.perf_counter()
    for a in acts:
        vec.step(a)
    vector = args.vec_steps * args.num_envs / (time.perf_counter() - t)
    t = time.perf_counter()
    base.log_rounds(UniformPolicy(base.n_prompts), args.log_rounds,
                    rng=np.random.default_rng(0), seed=0)
    logging = args.log_rounds / (time.perf_counter() - t)
    print(f"| {env_id} | {build:.2f} | {single:,.0f} | {vector:,.0f} | {logging:,.0f} |")


def quick_cells(seed_index: int) -> None:
    """CPU seconds of each cell of the quick ``prompt`` suite for one seed (run in this
    process, one thread, as ``--workers 1`` runs them; caches warm as in a real run)."""
    from benchmarks.cells import RunContext, cells_of
    from benchmarks.runner import run_cell
    from benchmarks.suites import builtin_suite

    spec = builtin_suite("prompt", "quick")
    context = RunContext(version="perf", git_commit=None, git_dirty=None)
    print(f"quick prompt suite, seed {seed_index}: CPU seconds per cell")
    print("| env | agent | cpu (s) | wall (s) | optimality |\n|---|---|---|---|---|")
    total = 0.0
    for cell in [c for c in cells_of(spec) if c.seed_index == seed_index]:
        t, c = time.perf_counter(), time.process_time()
        row = run_cell(cell, context)
        cpu = time.process_time() - c
        total += cpu
        score = row["online"]["scores"]["optimality"] if row["status"] == "ok" else row["error"]
        print(f"| {cell.env.name} | {cell.agent.name} | {cpu:.1f} | "
              f"{time.perf_counter() - t:.1f} | {score} |", flush=True)
    print(f"total CPU for one seed: {total:.1f} s; x {spec.seeds} seeds = "
          f"{total * spec.seeds / 60:.1f} CPU-minutes")


def sizing(results_dir: str, target: float = 0.03) -> None:
    """Seeds needed for the 95% interval of every paired difference between two non-skyline
    agents to have half-width <= ``target``: half-width(n) = t_{0.975, n-1} * sd / sqrt(n),
    with sd the per-seed standard deviation of the paired difference measured in the rows
    of ``results_dir`` (one file per suite), per environment; the largest sd decides."""
    import itertools

    import numpy as np
    from scipy import stats

    from benchmarks.results import latest_rows, read_dir

    rows = [r for r in latest_rows(read_dir(results_dir).rows) if r["status"] == "ok"
            and not r["agent"].get("privileged")]
    envs = sorted({r["env"]["name"] for r in rows})
    for env in envs:
        score: dict[str, dict[int, float]] = {}
        for r in rows:
            if r["env"]["name"] == env:
                score.setdefault(r["agent"]["name"], {})[r["seed_index"]] = (
                    r["online"]["scores"]["optimality"])
        print(f"{env}: per-seed sd of paired differences (optimality)")
        worst = (0.0, "", 0)
        for a, b in itertools.combinations(sorted(score), 2):
            seeds = sorted(set(score[a]) & set(score[b]))
            if len(seeds) < 2:
                continue
            d = np.array([score[a][s] - score[b][s] for s in seeds])
            sd = float(d.std(ddof=1))
            half = float(stats.t.ppf(0.975, len(d) - 1) * sd / np.sqrt(len(d)))
            print(f"  {a} - {b}: mean {d.mean():+.3f}, sd {sd:.3f}, n {len(d)}, "
                  f"half-width {half:.3f}")
            if sd > worst[0]:
                worst = (sd, f"{a} - {b}", len(d))
        sd = worst[0]
        need = next(n for n in range(2, 10_000)
                    if stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) <= target)
        print(f"  largest sd {sd:.3f} ({worst[1]}, {worst[2]} seeds): {need} seeds for "
              f"half-width <= {target} (t_0.975,{need - 1} = {stats.t.ppf(0.975, need - 1):.3f})")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--n-rounds", type=int, default=8000)
    p.add_argument("--n-prompts", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--single-steps", type=int, default=2000)
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--vec-steps", type=int, default=50)
    p.add_argument("--log-rounds", type=int, default=20_000)
    p.add_argument("--skip-dso", action="store_true")
    p.add_argument("--quick-cells", type=int, metavar="SEED", default=None,
                   help="only time the quick prompt suite's cells of this seed index")
    p.add_argument("--sizing", metavar="DIR", default=None,
                   help="only derive suite sizes from the result rows in DIR")
    args = p.parse_args(argv)
    if args.sizing is not None:
        sizing(args.sizing)
        return
    if args.quick_cells is not None:
        quick_cells(args.quick_cells)
        return
    print(f"CPU cores visible: {os.cpu_count()}; 1-minute load average: {os.getloadavg()[0]:.1f}")
    if not args.skip_dso:
        dso_run(args)
    print("| environment | build (s) | single env steps/s | vector env steps/s "
          f"({args.num_envs} envs) | log_rounds rounds/s |")
    print("|---|---|---|---|---|")
    for env_id in ("recsim_envs/PromptSentence-v0", "recsim_envs/PromptSentenceText-v0",
                   "recsim_envs/PromptSentenceParaphrase-v0"):
        throughput(env_id, args)


if __name__ == "__main__":
    main()
