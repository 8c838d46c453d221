"""Speed of the sequential family at the default size (prints its figures; not a timed test).

    .venv/bin/python -m benchmarks.perf.sequential

Reports environment steps per second (single env with and without ``state_text``, the
native vector env, vectorised logging), the language-model stub's answers per second,
and the wall time of iALP pre-training plus a 200-episode A-iALP_ap online phase.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

from agents.sequential.ialp import AIALPAdaptive
from recsim_envs.data import collect
from recsim_envs.evaluation.learning import OnlineConfig, run_online
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.envs import ENV_ID


def single_steps_per_s(n_steps: int, with_text: bool) -> float:
    env = gym.make(ENV_ID, with_text=with_text)
    rng = np.random.default_rng(0)
    actions = rng.integers(env.action_space.n, size=n_steps)
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return n_steps / (time.perf_counter() - t0)


def vector_steps_per_s(n_envs: int, n_iters: int) -> float:
    venv = gym.make_vec(ENV_ID, num_envs=n_envs, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(0)
    venv.reset(seed=0)
    acts = rng.integers(venv.single_action_space.n, size=(n_iters, n_envs))
    t0 = time.perf_counter()
    for a in acts:
        venv.step(a)
    return n_envs * n_iters / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--n-logged", type=int, default=3000)
    args = p.parse_args(argv)
    t_all = time.perf_counter()
    print("| measurement | value |\n|---|---|")
    print(f"| single env, steps/s (with state_text) | {single_steps_per_s(5000, True):,.0f} |")
    print(f"| single env, steps/s (no text) | {single_steps_per_s(5000, False):,.0f} |")
    for n in (16, 256):
        print(f"| native vector env ({n} envs), steps/s | {vector_steps_per_s(n, 200):,.0f} |")
    env = gym.make(ENV_ID)
    pol = sequential_behaviour_policy(env)
    t0 = time.perf_counter()
    data = collect(ENV_ID, pol, 50_000, seed=0)
    print(f"| vectorised logging (log_rounds), transitions/s | "
          f"{len(data) / (time.perf_counter() - t0):,.0f} |")
    llm = env.unwrapped.make_llm_user(alignment=0.5)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    n_calls = 500
    for i in range(n_calls):
        llm.ask(int(rng.integers(240)), np.full(5, 200), np.zeros(5),
                rng.choice(200, 20, replace=False), seed=i)
    print(f"| stub answers/s (20 candidates, uncached) | "
          f"{n_calls / (time.perf_counter() - t0):,.0f} |")

    data = collect(ENV_ID, pol, args.n_logged, seed=0)
    t0, c0 = time.perf_counter(), time.process_time()
    agent = AIALPAdaptive(seed=0).fit(data, llm=llm)
    t_pre, c_pre = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_online(agent, OnlineConfig(n_epochs=1, episodes_per_epoch=args.episodes))
    t_online, c_online = time.perf_counter() - t0, time.process_time() - c0
    # CPU time too: on a shared machine the wall time mostly measures the other jobs.
    print(f"| iALP pre-training (default config), wall s (CPU s) | {t_pre:.1f} ({c_pre:.1f}) |")
    print(f"| A-iALP_ap online phase, {args.episodes} episodes + 2 held-out evaluations, "
          f"wall s (CPU s) | {t_online:.1f} ({c_online:.1f}); "
          f"{int(res.train_length[0] * args.episodes)} steps |")
    print(f"| whole script, wall s (CPU s) | {time.perf_counter() - t_all:.1f} "
          f"({time.process_time():.1f}) |")
    print(f"| load average at the end (1 min) | {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
