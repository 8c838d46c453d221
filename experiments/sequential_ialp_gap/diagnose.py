"""Why pre-trained iALP trails profile_greedy (issue 19): each of iALP's networks deployed
on its own, on the worlds and data of the quick ``sequential`` suite's setting.

For each world (``world_seed`` = 0..n-1; 250 logged sessions of the suite's behaviour policy,
the language-model stub at alignment 0.5, iALP at the quick suite's pre-training size), the
held-out return (``n_eval`` sessions of evaluation users) of greedy policies over the items
the stated quit rule calls safe, scoring items by:

- ``actor``: iALP's actor (deployed as iALP deploys it, without the mask, and with it);
- ``critic``: the critic's Q(s, a);
- ``reward_model``: the calibrated Bradley-Terry reward model r(s, a) (one-step);
- ``stub``: the language-model stub's own preference score without its sampling noise
  (privileged for this diagnosis: at alignment 0.5 half of it is the true rating) - the
  teacher the reward model is fitted to; ``stub_heuristic``: the same at alignment 0 (what
  the stub says from the profile, history and popularity alone);
- ``profile``: 2 x popularity + stated like (``profile_greedy``);
- ``truth``: the true rating (privileged; the one-step skyline).

Also, per state visited by ``profile_greedy``: Spearman correlation of each score with the
true rating over the safe items. Run::

    python experiments/sequential_ialp_gap/diagnose.py --worlds 6 \
        --out experiments/sequential_ialp_gap/affine
    python experiments/sequential_ialp_gap/diagnose.py --worlds 6 --calibration profile \
        --out experiments/sequential_ialp_gap/profile
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from scipy.stats import spearmanr
from scipy.stats import t as student_t

import recsim_envs  # noqa: F401
from agents.sequential.ialp import IALP
from agents.sequential.safe import ProfileGreedy
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import collect_sessions
from recsim_envs.evaluation import evaluate
from recsim_envs.sequential.behaviour import sequential_behaviour_policy

ENV = "recsim_envs/SequentialRec-v0"
QUICK_IALP = {"n_imagined_sessions": 40, "rm_updates": 150, "ac_updates": 300}


class ScoreGreedy:
    """Greedy over a score function of flat observations (optionally over safe items)."""

    offline = True

    def __init__(self, name, score, rule=None):
        self.name, self._score, self._rule, self.fitted = name, score, rule, True

    def fit(self, dataset, deployment=None):
        return self

    def act(self, obs):
        x = np.atleast_2d(np.asarray(obs, np.float32))
        s = np.asarray(self._score(x), np.float64)
        if self._rule is not None:
            safe = ~self._rule.quits(x)
            safe[~safe.any(1)] = True
            s = np.where(safe, s, -np.inf)
        a = s.argmax(1)
        return int(a[0]) if np.ndim(obs) == 1 else a




def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worlds", type=int, default=6)
    p.add_argument("--n-eval", type=int, default=200)
    p.add_argument("--ialp", default="quick", choices=["quick", "default"])
    p.add_argument("--calibration", default="affine", choices=["affine", "profile"],
                   help="iALP's reward calibration (IALPConfig.calibration)")
    p.add_argument("--out", default="results/sequential_ialp_gap")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for ws in range(args.worlds):
        row = _one_world(ws, args)
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in row.items()}), flush=True)
    (out / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _table(rows, out / "TABLE.md", args)


def _net(m):
    def f(x):
        with torch_threads(1), torch.no_grad():
            return m(torch.as_tensor(x)).double().numpy()
    return f


def _one_world(ws: int, args) -> dict:
    t0 = time.process_time()
    kw = {"n_users": 300, "n_items": 200, "world_seed": ws}
    env = gym.make(ENV, with_text=False, **kw)
    data = collect_sessions(env, sequential_behaviour_policy(env, 0.5, seed=ws), 250, seed=ws)
    settings = {**(QUICK_IALP if args.ialp == "quick" else {}),
                "calibration": args.calibration}
    ialp = IALP(seed=ws, **settings).fit(data, llm=env.unwrapped.make_llm_user(0.5))
    rule = ialp.quit_rule
    ratings = env.unwrapped.world.ratings
    rm = _net(ialp.calibrated_reward)
    prof = ProfileGreedy().fit(data)
    stub = _stub_score(env.unwrapped.world, ialp.layout)
    scores = {
        "stub": lambda x: stub(x, 0.5), "stub_heuristic": lambda x: stub(x, 0.0),
        "actor": _net(ialp.actor), "critic": _net(ialp.critic),
        "reward_model": rm,
        "profile": prof.scores,
        "truth": lambda x: ratings[x[:, 0].astype(np.int64)],
    }
    row = {"world_seed": ws}
    row["ialp_as_deployed"] = evaluate(ialp, ENV, kw, args.n_eval, 1000 + ws).value.mean
    for name, f in scores.items():
        r = evaluate(ScoreGreedy(name, f, rule), ENV, kw, args.n_eval, 1000 + ws)
        row[f"{name}_safe"] = r.value.mean
    # rank agreement with the true rating over safe items, on profile_greedy's states
    xs = _visited_states(prof, env, 40, 2000 + ws)
    safe = ~rule.quits(xs)
    tr = scores["truth"](xs)
    for name, f in scores.items():
        if name == "truth":
            continue
        s = np.asarray(f(xs), np.float64)
        rho = [spearmanr(s[i, safe[i]], tr[i, safe[i]])[0] for i in range(len(xs))]
        row[f"{name}_spearman"] = float(np.nanmean(rho))
    row["cpu_s"] = time.process_time() - t0
    return row


def _stub_score(world, layout):
    """The stub's score of every item (``recsim_envs.sequential.llm.stub``), noise-free:
    (n, dim), alignment -> (n, n_items)."""
    from recsim_envs.sequential.llm.stub import StubConfig

    c = StubConfig()
    attrs = np.stack([world.item_category, world.item_colour, world.item_material], 1)
    weights = np.array([1.0, 0.5, 0.5])

    def score(x, alignment):
        users, _, items, fb = layout.split(x)
        real = items < world.n_items
        h = np.where(real, items, 0)
        same = (attrs[None, :, None, :] == attrs[h][:, None, :, :]) @ weights  # (n, N, k)

        def affinity(sel):
            cnt = sel.sum(1, keepdims=True)
            return np.where(cnt > 0, (same * sel[:, None, :]).sum(2) / np.maximum(cnt, 1), 0.0)

        heur = c.w_history * (affinity(real & (fb >= 4)) - 0.5 * affinity(real & (fb <= 2)))
        heur = heur + c.w_profile * world.user_likes[users][:, world.item_category]
        heur = heur + c.popularity_bias * world.item_popularity[None, :]
        truth = (world.ratings[users] - 3.0) / 1.2
        out = (1 - alignment) * heur + alignment * truth
        cat_count = ((world.item_category[None, :, None] == world.item_category[h][:, None, :])
                     & real[:, None, :]).sum(2)
        seen = ((np.arange(world.n_items)[None, :, None] == h[:, None, :])
                & real[:, None, :]).any(2)
        return out - c.boredom * (cat_count + 2.0 * seen)

    return score


def _visited_states(agent, env, n_sessions, seed):
    from recsim_envs.sequential.observation import flatten_obs

    xs = []
    users = env.unwrapped.world.test_users
    rng = np.random.default_rng(seed)
    for u in rng.choice(users, size=n_sessions, replace=False):
        obs, _ = env.reset(seed=int(seed), options={"user_id": int(u)})
        done = False
        while not done:
            x = flatten_obs(obs)
            xs.append(x)
            obs, _, term, trunc, _ = env.step(agent.act(x))
            done = term or trunc
    return np.array(xs, np.float32)


def _ci(v, f="{:.1f}"):
    v = np.asarray(v, np.float64)
    h = student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return f"{f.format(v.mean())} [{f.format(v.mean() - h)}, {f.format(v.mean() + h)}]"


def _table(rows, path, args):
    pols = ["ialp_as_deployed", "actor_safe", "critic_safe", "reward_model_safe",
            "stub_safe", "stub_heuristic_safe", "profile_safe", "truth_safe"]
    lines = [f"# Why pre-trained iALP trails profile_greedy ({len(rows)} worlds, "
             f"{args.n_eval} evaluation sessions each, iALP size: {args.ialp}, "
             f"calibration: {args.calibration})", "",
             "Held-out return; mean over worlds [95% t-interval over worlds]; paired "
             "difference to `profile_safe` (profile_greedy).", "",
             "| policy | return | minus profile_greedy | Spearman with truth (safe items) |",
             "|---|---|---|---|"]
    prof = np.array([r["profile_safe"] for r in rows])
    for p in pols:
        v = np.array([r[p] for r in rows])
        key = p.replace("_safe", "_spearman") if p.endswith("_safe") else None
        rho = _ci([r[key] for r in rows], "{:.2f}") if key in rows[0] else "-"
        diff = _ci(v - prof, "{:+.1f}") if p != "profile_safe" else "-"
        lines.append(f"| {p} | {_ci(v)} | {diff} | {rho} |")
    lines.append("")
    lines.append("Generated by `experiments/sequential_ialp_gap/diagnose.py`; rows in "
                 "`rows.jsonl`; CPU seconds per world: "
                 + ", ".join(f"{r['cpu_s']:.0f}" for r in rows) + ".")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
