"""Optimality of DSO and its baselines on the prompt-to-sentence environments (Markdown tables).

Reproduces the comparison of Kiyohara et al. (2025), Section 5: per seed, build the world
(``world_seed = seed``), fit the reference behaviour policy (softmax over an MLP reward
regressor fit on 10,000 uniform rounds), log ``n_rounds`` rounds, train every agent on
them and score it by optimality = (V(pi) - V(uniform)) / (V(best) - V(uniform)) from exact
expected values on the environment's fixed evaluation contexts. The ``online_pg`` row is a
SKYLINE trained online on environment rewards.

Each finished (setting, seed, agent) goes to a JSON-lines file at once, so an interrupted
run keeps its results and ``--resume`` skips what is done.

    python benchmarks/results_prompt.py                       # default setting, 10 seeds
    python benchmarks/results_prompt.py --sweep all --seeds 5 --jobs 2
    python benchmarks/results_prompt.py --env text --seeds 5
    python benchmarks/results_prompt.py --seeds 2 --steps 2000 --n-rounds 2000   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ENV_IDS = {
    "synthetic": "recsim_envs/PromptSentence-v0",
    "text": "recsim_envs/PromptSentenceText-v0",
}
ALL_AGENTS = ["dso", "dr_pg", "is_pg", "potec", "regression_pg", "prompt_logging", "online_pg"]
SWEEP_AGENTS = ["dso", "dr_pg", "is_pg", "potec", "regression_pg"]


def run_one(job: dict) -> list[dict]:
    """Train and score every agent of ``job`` on one seed; returns one record per agent."""
    import torch

    torch.set_num_threads(1)
    import gymnasium as gym

    import agents
    import recsim_envs  # noqa: F401  (registers the environments)
    from agents.prompt_baselines import train_online
    from recsim_envs.data import collect
    from recsim_envs.envs.prompt_sentence import reference_behaviour_policy

    seed, env_id = job["seed"], ENV_IDS[job["env"]]
    kwargs = dict(job["env_kwargs"], world_seed=seed)
    env = gym.make(env_id, **kwargs).unwrapped
    t0 = time.perf_counter()
    behaviour = reference_behaviour_policy(env, seed=10_000 + seed)
    data = collect(env, behaviour, job["n_rounds"], seed=seed)
    records = []
    for name in job["agents"]:
        t = time.perf_counter()
        overrides = dict(seed=seed, n_steps=job["steps"]) if name not in ("prompt_logging",) else {}
        overrides.update(job.get("agent_overrides", {}).get(name, {}))
        agent = agents.make(name, **overrides)
        if name == "dso":
            agent.fit(data, generator=env.generator)
        elif name == "prompt_logging":
            agent.fit(data, behaviour=behaviour)
        elif name == "online_pg":
            agent.fit(data)
            vec = gym.make_vec(
                env_id, num_envs=agent.config.batch_size,
                vectorization_mode="vector_entry_point", **kwargs,
            )
            train_online(agent, vec, job["steps"], seed=seed)
        else:
            agent.fit(data)
        value = env.policy_value(agent.action_probs)
        v_u, v_b = env.uniform_value(), env.best_value()
        records.append({
            "setting": job["setting"], "env": job["env"], "seed": seed, "agent": name,
            "optimality": (value - v_u) / (v_b - v_u),
            "value": value, "v_uniform": v_u, "v_best": v_b,
            "seconds": time.perf_counter() - t,
        })
    records.append({
        "setting": job["setting"], "env": job["env"], "seed": seed, "agent": "_setup",
        "seconds": time.perf_counter() - t0,
    })
    return records


def settings_for(args) -> list[tuple[str, dict, int, list[str]]]:
    """(name, env_kwargs, n_rounds, agents) per setting of the requested sweep."""
    base = {"n_prompts": args.n_prompts, "reward_noise": args.reward_noise}
    if args.env == "text":
        base = {"reward_noise": args.reward_noise}
        if args.n_prompts != 1000:
            base["n_prompts"] = args.n_prompts
    out = [(args.label, base, args.n_rounds, args.agents or ALL_AGENTS)]
    sweep_agents = args.agents or SWEEP_AGENTS
    if args.sweep in ("prompts", "all"):
        for p in (10, 100):
            out.append((f"n_prompts={p}", {**base, "n_prompts": p}, args.n_rounds, sweep_agents))
    if args.sweep in ("rounds", "all"):
        for n in (500, 2000):
            out.append((f"n_rounds={n}", base, n, sweep_agents))
    if args.only_sweep:
        out = out[1:]
    return out


def table(records: list[dict]) -> str:
    """Markdown: one row per setting, one column per agent, mean [95% CI] of optimality."""
    from recsim_envs.stats import mean_ci

    by = defaultdict(list)
    for r in records:
        if r["agent"] != "_setup":
            by[(r["setting"], r["agent"])].append(r["optimality"])
    settings = list(dict.fromkeys(r["setting"] for r in records))
    names = [a for a in ALL_AGENTS if any((s, a) in by for s in settings)]
    head = "| setting | " + " | ".join(
        f"{a} (skyline)" if a == "online_pg" else a for a in names
    ) + " | seeds |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for s in settings:
        cells, n_seeds = [], 0
        for a in names:
            vals = by.get((s, a))
            if not vals:
                cells.append("")
                continue
            est = mean_ci(np.array(vals))
            n_seeds = max(n_seeds, len(vals))
            cells.append(f"{est.mean:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}]")
        lines.append(f"| {s} | " + " | ".join(cells) + f" | {n_seeds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--env", choices=sorted(ENV_IDS), default="synthetic")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--n-rounds", type=int, default=8000)
    p.add_argument("--n-prompts", type=int, default=1000)
    p.add_argument("--reward-noise", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=20_000, help="policy steps of every learner")
    p.add_argument("--agents", nargs="*", default=None)
    p.add_argument("--sweep", choices=["none", "prompts", "rounds", "all"], default="none")
    p.add_argument("--only-sweep", action="store_true", help="skip the default setting")
    p.add_argument("--label", default="default", help="name of the base setting's row")
    p.add_argument("--dso-bandwidth", type=float, default=None)
    p.add_argument("--dso-bandwidth-rule", choices=["fixed", "median"], default=None)
    p.add_argument("--dso-embedding-noise", type=float, default=None)
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--out", type=Path, default=Path("prompt_results.jsonl"))
    p.add_argument("--resume", action="store_true", help="skip jobs already in --out")
    args = p.parse_args(argv)

    dso_over = {}
    if args.dso_bandwidth is not None:
        dso_over["bandwidth"] = args.dso_bandwidth
    if args.dso_bandwidth_rule is not None:
        dso_over["bandwidth_rule"] = args.dso_bandwidth_rule
    if args.dso_embedding_noise is not None:
        dso_over["embedding_noise"] = args.dso_embedding_noise
    done = set()
    if args.resume and args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["env"], r["setting"], r["seed"], r["agent"]))
    jobs = []
    for name, kw, n_rounds, names in settings_for(args):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            todo = [a for a in names if (args.env, name, seed, a) not in done]
            if todo:
                jobs.append({
                    "setting": name, "env": args.env, "env_kwargs": kw, "n_rounds": n_rounds,
                    "seed": seed, "agents": todo, "steps": args.steps,
                    "agent_overrides": {"dso": dso_over},
                })
    # Seed-major order: an interrupted run has every setting at its first seeds.
    jobs.sort(key=lambda j: j["seed"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(jobs)} jobs, {args.jobs} workers, results -> {args.out}", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, j) for j in jobs]
        for fut in as_completed(futures):
            recs = fut.result()
            with open(args.out, "a") as fh:  # one line per record, appended as jobs finish
                for r in recs:
                    fh.write(json.dumps(r) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            for r in recs:
                if r["agent"] != "_setup":
                    print(f"{r['setting']:>14} seed {r['seed']:>2} {r['agent']:>14}: "
                          f"{r['optimality']:.3f} ({r['seconds']:.0f}s)", flush=True)
    if not args.out.exists():
        print(f"no results in {args.out} yet")
        return
    records = [json.loads(x) for x in args.out.read_text().splitlines()]
    records = [r for r in records if r["env"] == args.env]
    print(f"\n### {ENV_IDS[args.env]}: optimality, mean [95% CI]\n")
    print(table(records))


if __name__ == "__main__":
    main()
