"""Learning curves of the two-stage learners on a built-in suite's world (issue 18).

For each seed of the suite (the runner's own cells: same logged data, agent seeds and
evaluation users), every learner is trained for ``--epochs`` epochs; after each epoch the
script records the online value (exact expected click of the shown item over the suite's
evaluation users), two-stage and one-stage precision@5, and the validation SNIPS estimate
the agent selects its epoch with (:mod:`agents.two_stage.selection`) with its support.
One JSON line per (seed, agent, epoch) to ``--out``. For ``TwoStagePaper-v0`` it also
records the authors' selection score, which READS THE GROUND TRUTH: two-stage precision@10
on the selection users (indices below ``select_fraction * n_users``; the generator's top-30
without the user's logged positives, re-sorted by the ranker), the criterion of the authors'
code, reported beside the ground-truth-free SNIPS choice, never used by the agents.

    python experiments/two_stage_learning_curves.py --suite two_stage --size quick \\
        --seeds 5 --epochs 30 --out results/two_stage_curves.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LEARNERS = ("ce", "ips", "topk_correction", "two_ips")


def authors_selection_score(agent, base) -> float | None:
    """Two-stage P@10 on the paper world's selection users (reads the ground truth; the
    authors' epoch criterion). None for worlds without a selection split."""
    import numpy as np

    from recsim_envs.two_stage.ranking_metrics import filter_ranked, ranker_order

    start = int(getattr(base.world.users, "start", 0) or 0)
    consumed = getattr(base.world, "consumed", None)
    if start == 0 or consumed is None:
        return None
    k = int(base.n_candidates)
    users = np.arange(start)
    feats = base.world.users.features[users]
    excluded = consumed[users]
    ranked = agent.rank_items(feats, k + int(excluded.sum(axis=1).max()))
    top = filter_ranked(ranked, excluded, k)
    order = ranker_order(top, base.world.ranker.scores(feats, np.where(top >= 0, top, 0)))
    positives = (base.world.response.truth[users] > 0.5) & ~excluded
    hits = np.take_along_axis(positives, np.where(order >= 0, order, 0), axis=1) & (order >= 0)
    return float(hits[:, :10].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="two_stage", choices=("two_stage", "two_stage_paper"))
    parser.add_argument("--size", default="quick", choices=("quick", "full"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--agents", nargs="+", default=list(LEARNERS))
    parser.add_argument("--settings", default="{}", help="JSON settings for every learner")
    parser.add_argument("--env-kwargs", default="{}", help="JSON env settings added to the suite's")
    parser.add_argument("--n-eval", type=int, default=0, help="evaluation users (0: the suite's)")
    parser.add_argument("--n-train", type=int, default=0, help="logged rounds (0: the suite's)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import agents
    from benchmarks.cells import cell_seeds, cells_of
    from benchmarks.families import get_family
    from benchmarks.runner import build_agent
    from benchmarks.spec import AgentSpec
    from benchmarks.suites import two_stage, two_stage_paper
    from recsim_envs.evaluation import AgentHandle, evaluate

    spec = {"two_stage": two_stage, "two_stage_paper": two_stage_paper}[args.suite].build(args.size)
    family = get_family(spec.family)
    extra_env = json.loads(args.env_kwargs)
    settings = json.loads(args.settings)
    n_eval = args.n_eval or spec.evaluation.n_eval
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as fh:
        for s in range(args.seeds):
            cell = [c for c in cells_of(spec) if c.seed_index == s][0]
            seeds = cell_seeds(spec.name, cell.env.name, s)
            kwargs = {**cell.env_kwargs(), **extra_env}
            env = family.make_env(cell.env.id, kwargs)
            policy = family.behaviour_policy(env, cell.behaviour(), seeds["behaviour"])
            train = family.log(env, policy, args.n_train or spec.data.n_train,
                               seeds["log_train"])
            deployment = family.deployment(env, policy, cell.behaviour())
            env_id = env.spec.id
            for name in args.agents:
                suite_settings = next((a.settings for a in spec.agents if a.agent == name), {})
                agent, _ = build_agent(AgentSpec(name, name, {**suite_settings, **settings,
                                                              "epochs": args.epochs}),
                                       seeds["agent"])
                t0 = time.process_time()

                def on_epoch(a, epoch, name=name, s=s, env_id=env_id, kwargs=kwargs,
                             seeds=seeds, train=train, env=env):
                    res = evaluate(AgentHandle(a, name=name), env_id, kwargs, n_eval,
                                   seeds["evaluation"])
                    select = authors_selection_score(a, env.unwrapped)
                    row = {"suite": args.suite, "size": args.size, "seed": s, "agent": name,
                           "authors_selection_p10_reads_truth": select,
                           "epoch": epoch + 1, "reward": res.value.mean,
                           "two_stage_precision@5": res.scores["two_stage_precision@5"],
                           "precision@5": res.scores["precision@5"],
                           "settings": settings, "env_kwargs": extra_env,
                           "n_train": len(train)}
                    fh.write(json.dumps(row) + "\n")

                agent.on_epoch = on_epoch
                agent.fit(train, deployment)
                sel = getattr(agent, "selection", {})
                fh.write(json.dumps({"suite": args.suite, "seed": s, "agent": name,
                                     "selected_epoch": sel.get("epoch"),
                                     "validation_snips": sel.get("validation_snips"),
                                     "validation_support": sel.get("validation_support"),
                                     "settings": settings, "env_kwargs": extra_env,
                                     "cpu_s": time.process_time() - t0}) + "\n")
                fh.flush()
                print(f"seed {s} {name} selected epoch {sel.get('epoch')}", flush=True)
            env.close()
    _ = agents
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
