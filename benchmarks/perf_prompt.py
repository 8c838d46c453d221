"""Timing of a full DSO run at the reference default, and the prompt environments' throughput.

Target (issue 4): density-model fit plus 20,000 policy steps of batch 32 within 2 minutes on
2 CPU cores. Prints the time of each phase, then steps per second of the single and the
native vector environment and rounds per second of vectorised logging, for both
environments. Timings depend on the machine's load: run it on an idle machine.

    python benchmarks/perf_prompt.py                 # reference default
    python benchmarks/perf_prompt.py --steps 2000    # quick look
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
    from agents.dso import DSO
    from recsim_envs.data import collect
    from recsim_envs.envs.prompt_sentence import reference_behaviour_policy

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

    from recsim_envs.policies import UniformPolicy

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
    args = p.parse_args(argv)
    print(f"CPU cores visible: {os.cpu_count()}; 1-minute load average: {os.getloadavg()[0]:.1f}")
    if not args.skip_dso:
        dso_run(args)
    print("| environment | build (s) | single env steps/s | vector env steps/s "
          f"({args.num_envs} envs) | log_rounds rounds/s |")
    print("|---|---|---|---|---|")
    for env_id in ("recsim_envs/PromptSentence-v0", "recsim_envs/PromptSentenceText-v0"):
        throughput(env_id, args)


if __name__ == "__main__":
    main()
