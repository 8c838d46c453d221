"""``python -m recsim_envs two-stage-diagnostics ENV_ID``: where a two-stage world stands.

Issue 18 measured that the order of 2-IPS and CE (Ma et al., "Off-policy Learning in
Two-stage Recommender Systems", WWW 2020) follows how often the ranker's favourites are
positives: the authors' world has a ranker whose top-5 over the catalogue is 97% positive
and whose pick among the logging policy's top-30 is positive 95.7% of the time, and a
logging policy whose logged movies are 76% positive. :func:`diagnose` measures those
properties (and how peaked the logging policy is) on any two-stage world, with the
behaviour policy a benchmark would use, so a world can be placed in or out of the paper's
regime before any agent is trained.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from recsim_envs.two_stage.paper_world import _rank_rows


def per_user_auc(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """ROC AUC of ``scores`` for ``positives`` per row (ties count one half): (n, m) -> (n,);
    nan for rows with no positive or no negative."""
    ranks = _rank_rows(scores)  # 0-based average ranks
    n_pos = positives.sum(axis=1)
    n_neg = positives.shape[1] - n_pos
    rank_sum = (ranks * positives).sum(axis=1) + n_pos  # 1-based
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def diagnose(env: Any, policy: Any, n_users: int = 1000, seed: int = 0,
             top: int = 30) -> dict[str, float]:
    """The regime properties of a two-stage world, measured on ``n_users`` online users.

    Args:
        env: a two-stage environment (its ``unwrapped`` is used).
        policy: the behaviour policy (``probs(context) -> (n, n_items)``).
        n_users: users drawn with the online user sampler (seeded by ``seed``); the logged
            share uses one visit per user by the world's own logging protocol (the
            authors' regime of ``TwoStagePaper-v0``: its world log, which the generator
            learns from).
        top: K of "the ranker's pick among the logging policy's top K" (the paper's 30).

    Returns:
        ``logging_median_top1``: median over users of the logging softmax's largest
        probability; ``logging_items_half_mass``: median number of items holding half of
        it; ``logged_positive_share``: share of logged items that are positives;
        ``ranker_auc``: mean over users of the ranker's AUC for the positives over the
        catalogue; ``ranker_top5_positive_share``: share of positives among the ranker's
        5 best items over the catalogue; ``ranker_pick_positive_logging_top{K}``: how often
        the ranker's pick among the logging policy's K most probable items is a positive;
        ``positive_rate``: share of (user, item) pairs that are positives (binary truth:
        click probability > 0.5; else at least the 0.9 quantile of all pairs, the rule of
        the evaluation's ranking metrics).
    """
    base = env.unwrapped
    rng = np.random.default_rng(seed)
    users = base.world.users.from_uniforms(rng.random((n_users, base.world.users.n_uniforms)))
    truth = np.asarray(base.world.response.click_prob_all(users.hidden), dtype=np.float64)
    binary = bool(np.all((truth == 0) | (truth == 1)))
    cut = 0.5 if binary else float(np.quantile(truth, 0.9))
    positives = truth > cut if binary else truth >= cut
    probs = np.asarray(policy.probs(users.features), dtype=np.float64)
    sorted_p = -np.sort(-probs, axis=1)
    half = (np.cumsum(sorted_p, axis=1) < 0.5).sum(axis=1) + 1
    scores = np.asarray(base.world.ranker.scores_all(users.features), dtype=np.float64)
    top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    k = min(top, base.n_items)
    log_top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    pick = np.take_along_axis(log_top, np.argmax(np.take_along_axis(scores, log_top, axis=1),
                                                 axis=1)[:, None], axis=1)[:, 0]
    per_visit = int(getattr(base.config, "logged_per_user", 1))
    world_log = getattr(base.world, "world_log", None)  # the authors' regime logs it
    n_log = per_visit * n_users if world_log is None else len(world_log["items"])
    logged = base.log_rounds(policy, n_log, rng)
    logged_positive = (logged.expected_reward > cut) if binary else \
        (logged.expected_reward >= cut)
    return {
        "logging_median_top1": float(np.median(sorted_p[:, 0])),
        "logging_items_half_mass": float(np.median(half)),
        "logged_positive_share": float(np.mean(logged_positive)),
        "ranker_auc": float(np.nanmean(per_user_auc(scores, positives))),
        "ranker_top5_positive_share": float(np.take_along_axis(positives, top5, 1).mean()),
        f"ranker_pick_positive_logging_top{k}": float(positives[np.arange(n_users), pick].mean()),
        "positive_rate": float(positives.mean()),
    }


# The authors' world (their code and checkpoints with ML-1M users and movies; issue 18).
AUTHORS = {"logging_median_top1": 0.105, "logging_items_half_mass": 12.0,
           "logged_positive_share": 0.76, "ranker_auc": 0.60,
           "ranker_top5_positive_share": 0.97, "ranker_pick_positive_logging_top30": 0.957}


def add_parser(sub: Any) -> None:
    """Register the ``two-stage-diagnostics`` sub-command on ``sub`` (argparse subparsers)."""
    d = sub.add_parser("two-stage-diagnostics", help="is a two-stage world in the paper's "
                       "regime?", description=__doc__.splitlines()[0])
    d.add_argument("env", help="a two-stage environment id, e.g. recsim_envs/TwoStagePaper-v0")
    d.add_argument("--kwargs", help="JSON of gymnasium.make settings (e.g. data_dir)")
    d.add_argument("--temperature", type=float, default=1.0,
                   help="behaviour softmax temperature (the two_stage suite uses 0.5, the "
                   "paper world 1)")
    d.add_argument("--n-users", type=int, default=1000)
    d.add_argument("--top", type=int, default=30, help="K of the logging top-K check")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import recsim_envs  # noqa: F401  (registers the ids)
    from recsim_envs.core.policies import SoftmaxPolicy

    env = gym.make(args.env, **(json.loads(args.kwargs) if args.kwargs else {}))
    base = env.unwrapped
    if not hasattr(base, "behaviour_scorer") or not hasattr(getattr(base, "world", None),
                                                             "ranker"):
        print(f"error: {args.env} is not a two-stage environment (no ranker or logging "
              "model); pass a two-stage id such as recsim_envs/TwoStagePaper-v0",
              file=sys.stderr)
        return 2
    policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, args.temperature)
    report = diagnose(env, policy, args.n_users, args.seed, args.top)
    print(json.dumps({"env": args.env, "kwargs": json.loads(args.kwargs or "{}"),
                      "temperature": args.temperature, "n_users": args.n_users, **report,
                      "authors_world": AUTHORS}))
    env.close()
    return 0
