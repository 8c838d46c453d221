"""The ranker-quality table of issue 18, from the committed rows of
experiments/two_stage_ranker_quality.toml.

For every world the rows ran on (environment x seed: the cell's ``world_seed``), measure the
regime properties with :func:`recsim_envs.two_stage.diagnostics.diagnose` (cached worlds:
seconds each; written to ``DIR/world_diagnostics.json``, a JSON list - not a ``.jsonl``
file, which the leaderboard would read as result rows - reused when present), then print one
line per point of the knob: the ranker's top-5 precision and pick among the logging top-30
(mean over the seeds' worlds), and 2-IPS - CE and 2-IPS - 1-IPS in two-stage and one-stage
precision@5 (paired by seed, 95% Student-t interval over seeds).

    python experiments/two_stage_ranker_quality_table.py --data-dir DIR \\
        [--rows experiments/two_stage_ranker_quality]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METRICS = (("two_stage_precision@5", "2-stage P@5"), ("precision@5", "1-stage P@5"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="experiments/two_stage_ranker_quality")
    parser.add_argument("--data-dir", required=True, help="the MovieLens folder the rows used")
    parser.add_argument("--n-users", type=int, default=1000)
    args = parser.parse_args(argv)

    import gymnasium as gym
    import numpy as np

    import recsim_envs  # noqa: F401  (registers the ids)
    from recsim_envs.core.policies import SoftmaxPolicy
    from recsim_envs.core.stats import paired_test
    from recsim_envs.two_stage.diagnostics import diagnose

    folder = Path(args.rows)
    rows = [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.open()]
    rows = [r for r in rows if r.get("status") == "ok"]
    diag_path = folder / "world_diagnostics.json"
    saved = json.loads(diag_path.read_text()) if diag_path.exists() else []
    done = {(d["env"], d["seed_index"]): d for d in saved}
    worlds = {(r["env"]["name"], r["seed_index"]): {**r["env"]["kwargs"],
                                                     **r["env"]["cell_kwargs"]} for r in rows}
    for (name, seed), kwargs in sorted(worlds.items()):
        if (name, seed) in done:
            continue
        env = gym.make(rows[0]["env"]["id"], data_dir=args.data_dir, **kwargs)
        base = env.unwrapped
        policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0)
        done[(name, seed)] = {"env": name, "seed_index": seed, "kwargs": kwargs,
                              **diagnose(env, policy, args.n_users, seed=0)}
        env.close()
        diag_path.write_text(json.dumps(sorted(done.values(), key=lambda d: (
            d["env"], d["seed_index"])), indent=0) + "\n")

    score = {(r["env"]["name"], r["seed_index"], r["agent"]["name"]): r["online"]["scores"]
             for r in rows}
    print("| ranker_bias_noise | seeds | ranker top-5 positive | ranker pick in logging top-30 "
          "positive | logged positive | metric | CE | 1-IPS | 2-IPS | 2-IPS - CE [95% CI] | "
          "2-IPS - 1-IPS [95% CI] |")
    print("|---" * 11 + "|")
    for name in dict.fromkeys(r["env"]["name"] for r in rows):
        seeds = sorted(s for (n, s, a) in score if n == name and a == "two_ips"
                       and (n, s, "ce") in score and (n, s, "ips") in score)
        if len(seeds) < 2:
            continue
        diag = [done[(name, s)] for s in seeds]
        top5 = np.mean([d["ranker_top5_positive_share"] for d in diag])
        pick = np.mean([d["ranker_pick_positive_logging_top30"] for d in diag])
        logged = np.mean([d["logged_positive_share"] for d in diag])
        noise = diag[0]["kwargs"].get("ranker_bias_noise", 0.0)
        for metric, label in METRICS:
            v = {a: np.array([score[(name, s, a)][metric] for s in seeds])
                 for a in ("ce", "ips", "two_ips")}
            cells = []
            for other in ("ce", "ips"):
                d = paired_test(v["two_ips"], v[other]).diff
                cells.append(f"{d.mean:+.4f} [{d.ci_low:+.4f}, {d.ci_high:+.4f}]")
            print(f"| {noise:g} | {len(seeds)} | {top5:.3f} | {pick:.3f} | {logged:.3f} | "
                  f"{label} | {v['ce'].mean():.4f} | {v['ips'].mean():.4f} | "
                  f"{v['two_ips'].mean():.4f} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
