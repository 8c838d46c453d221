"""Learning curves of the prompt learners: one long run per (world, seed, agent), evaluated at
checkpoints (Kiyohara et al., 2025 train 20,000 steps; issue 20 asks for 2k / 6k / 10k / 20k /
30k).

The cells are those of a runner spec (``experiments/prompt_*.toml``): the same world, behaviour
policy, logged rounds and evaluation users per seed (``benchmarks.cells.cell_seeds``), so the
checkpoint at a spec's ``n_steps`` reproduces that spec's row (the minibatches are one stream
drawn up front and the evaluation draws from none of the agent's generators; see
``PromptPolicyAgent.fit``). Each agent trains ``max(checkpoints)`` steps once; at every
checkpoint its policy is scored exactly as the runner does (``evaluate``, optimality).

    python -m benchmarks.perf.prompt_curves experiments/prompt_dso.toml \\
        --out experiments/prompt_curves/curves.jsonl --seeds 0 --envs synthetic
    python -m benchmarks.perf.prompt_curves --table experiments/prompt_curves/curves.jsonl

Rows (one JSON line per checkpoint): suite, env, seed_index, agent, step, optimality,
cpu_s (CPU seconds of this process from the start of the agent's fit to the checkpoint,
evaluations included: an upper bound of the training cost), wall_s.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: threads only add overhead

CHECKPOINTS = (2000, 6000, 10_000, 20_000, 30_000)


def _done(out: Path) -> set[tuple[str, int, str]]:
    """(env, seed_index, agent) whose last checkpoint is already in ``out`` (resume)."""
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {(r["env"], r["seed_index"], r["agent"]) for r in rows if r.get("last")}


def run_curves(spec_path: str, out: Path, checkpoints: tuple[int, ...],
               seeds: list[int], envs: list[str] | None, agents: list[str] | None,
               size: str = "quick") -> None:
    """Train each (env, seed, agent) of the spec once to ``max(checkpoints)`` steps and append
    one row per checkpoint to ``out`` (finished triples are skipped)."""
    from benchmarks.cells import Cell, cell_seeds
    from benchmarks.families import get_family
    from benchmarks.spec import load_spec
    from benchmarks.suites import builtin_suite
    from recsim_envs.core.threads import torch_threads

    spec = (load_spec(spec_path) if spec_path.endswith((".toml", ".yaml", ".yml"))
            else builtin_suite(spec_path, size))
    family = get_family(spec.family)
    done = _done(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for env_spec in spec.envs:
        if envs and env_spec.name not in envs:
            continue
        for s in seeds:
            todo = [a for a in spec.agents if (not agents or a.name in agents)
                    and (env_spec.name, s, a.name) not in done]
            if not todo:
                continue
            seeds_ = cell_seeds(spec.name, env_spec.name, s)
            cell = Cell(spec, env_spec, todo[0], s)
            env_kwargs = cell.env_kwargs()
            with torch_threads(1):
                env = family.make_env(env_spec.id, env_kwargs)
                policy = family.behaviour_policy(env, cell.behaviour(), seeds_["behaviour"])
                train = family.log(env, policy, spec.data.n_train, seeds_["log_train"])
                deployment = family.deployment(env, policy, cell.behaviour())
                for agent_spec in todo:
                    _one_curve(spec, env_spec, s, agent_spec, env, env_kwargs, seeds_, train,
                               deployment, checkpoints, out)
            env.close()


def _one_curve(spec, env_spec, seed_index: int, agent_spec, env, env_kwargs: dict,
               seeds: dict[str, int], train, deployment, checkpoints: tuple[int, ...],
               out: Path) -> None:
    """Train one agent to ``max(checkpoints)`` steps; append a row at every checkpoint."""
    import dataclasses

    from benchmarks.runner import build_agent
    from recsim_envs.evaluation import AgentHandle, evaluate

    last = max(checkpoints)
    settings = {**agent_spec.settings, "n_steps": last}
    agent, _ = build_agent(dataclasses.replace(agent_spec, settings=settings), seeds["agent"])
    t0, c0 = time.perf_counter(), time.process_time()

    def score(step: int) -> None:
        result = evaluate(AgentHandle(agent, name=agent_spec.name), env.spec.id, env_kwargs,
                          spec.evaluation.n_eval, seeds["evaluation"])
        row = {"suite": spec.name, "env": env_spec.name, "seed_index": seed_index,
               "agent": agent_spec.name, "step": step,
               "optimality": float(result.scores["optimality"]),
               "cpu_s": round(time.process_time() - c0, 2),
               "wall_s": round(time.perf_counter() - t0, 2), "last": step == last}
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{env_spec.name:<16} seed {seed_index} {agent_spec.name:<14} step {step:>6}"
              f"  optimality {row['optimality']:.3f}  cpu {row['cpu_s']:.0f} s", flush=True)

    agent.fit(train, deployment, checkpoints=checkpoints, on_checkpoint=score)


def table(paths: list[str]) -> str:
    """Markdown: mean optimality over seeds per (env, agent, checkpoint) [min, max over seeds],
    and the CPU seconds of the full run (mean over seeds)."""
    import numpy as np

    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()
            if line.strip()]
    steps = sorted({r["step"] for r in rows})
    keys = sorted({(r["suite"], r["env"], r["agent"]) for r in rows})
    lines = ["| world | agent | seeds | " + " | ".join(f"{k:,}" for k in steps)
             + " | CPU s (full run) |",
             "|---|---|---|" + "---|" * len(steps) + "---|"]
    for suite, env, agent in keys:
        mine = [r for r in rows if (r["suite"], r["env"], r["agent"]) == (suite, env, agent)]
        cells, n_seeds = [], len({r["seed_index"] for r in mine})
        for k in steps:
            v = np.array([r["optimality"] for r in mine if r["step"] == k])
            cells.append("" if len(v) == 0 else
                         f"{v.mean():.3f}" if len(v) == 1 else
                         f"{v.mean():.3f} [{v.min():.2f}, {v.max():.2f}]")
        cpu = [r["cpu_s"] for r in mine if r.get("last")]
        cost = f"{np.mean(cpu):.0f}" if cpu else ""
        lines.append(f"| {env} | {agent} | {n_seeds} | " + " | ".join(cells) + f" | {cost} |")
    return "\n".join(lines)


def holm_sizing(results_dir: str, target_pairs: list[tuple[str, str]],
                max_seeds: int = 60) -> str:
    """Seeds at which ``target_pairs`` are expected to be separated after Holm, per env.

    From the rows of ``results_dir``: per environment, every pair of non-privileged agents'
    per-seed paired differences of optimality (mean m, sd s over the common seeds). For n
    seeds the expected paired t is m / (s / sqrt(n)) and its two-sided p-value goes into
    Holm's step-down over all pairs of the environment (family-wise 0.05, as the
    leaderboard); the answer is the smallest n at which every target pair is rejected
    (a plug-in estimate: the measured m and s are taken as true, so it is optimistic
    when they rest on few seeds).
    """
    import itertools

    import numpy as np
    from scipy import stats

    from benchmarks.results import latest_rows, read_dir
    from recsim_envs.core.stats import holm_bonferroni

    rows = [r for r in latest_rows(read_dir(results_dir).rows) if r["status"] == "ok"
            and not r["agent"].get("privileged")]
    lines = []
    for env in sorted({r["env"]["name"] for r in rows}):
        score: dict[str, dict[int, float]] = {}
        for r in rows:
            if r["env"]["name"] == env:
                score.setdefault(r["agent"]["name"], {})[r["seed_index"]] = (
                    r["online"]["scores"]["optimality"])
        pairs = {}
        for a, b in itertools.combinations(sorted(score), 2):
            seeds = sorted(set(score[a]) & set(score[b]))
            d = np.array([score[a][k] - score[b][k] for k in seeds])
            if len(d) >= 2:
                pairs[(a, b)] = (float(d.mean()), max(float(d.std(ddof=1)), 1e-12), len(d))
        wanted = [p for p in pairs if p in target_pairs or p[::-1] in target_pairs]
        need = None
        for n in range(2, max_seeds + 1):
            keys = list(pairs)
            p_values = [2 * stats.t.sf(abs(m) / (sd / np.sqrt(n)), n - 1)
                        for m, sd, _ in pairs.values()]
            _, reject = holm_bonferroni(p_values)
            if all(reject[keys.index(p)] for p in wanted):
                need = n
                break
        desc = ", ".join(f"{a} - {b}: {pairs[(a, b)][0]:+.3f} (sd {pairs[(a, b)][1]:.3f}, "
                         f"{pairs[(a, b)][2]} seeds)" for a, b in wanted)
        lines.append(f"{env}: {desc}; separated after Holm over {len(pairs)} pairs from "
                     f"{need if need else f'more than {max_seeds}'} seeds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec", nargs="?", help="a runner spec (TOML) of the prompt family, or "
                    "a built-in suite name (prompt) with --size")
    ap.add_argument("--size", default="quick", help="size of a built-in suite")
    ap.add_argument("--out", type=Path, help="JSON-lines file the rows are appended to")
    ap.add_argument("--checkpoints", default=",".join(map(str, CHECKPOINTS)))
    ap.add_argument("--seeds", default="0", help="seed indices, comma-separated")
    ap.add_argument("--envs", default="", help="env names of the spec (default: all)")
    ap.add_argument("--agents", default="", help="agent names of the spec (default: all)")
    ap.add_argument("--table", nargs="+", metavar="ROWS", help="print the curves' table")
    ap.add_argument("--holm-sizing", metavar="DIR",
                    help="seeds at which dso - dr_pg and dso - is_pg separate after Holm, "
                    "from the runner rows in DIR")
    args = ap.parse_args(argv)
    if args.holm_sizing:
        print(holm_sizing(args.holm_sizing, [("dso", "dr_pg"), ("dso", "is_pg")]))
        return
    if args.table:
        print(table(args.table))
        return
    if not args.spec or not args.out:
        ap.error("give a spec and --out (or --table ROWS...)")
    checkpoints = tuple(sorted(int(k) for k in args.checkpoints.split(",")))
    run_curves(args.spec, args.out, checkpoints, [int(s) for s in args.seeds.split(",")],
               [e for e in args.envs.split(",") if e] or None,
               [a for a in args.agents.split(",") if a] or None, args.size)


if __name__ == "__main__":
    main()
