"""SHA-256 digests of seeded outputs, to prove a speed-up changed no draw.

Hashes, element-wise (every array's dtype, shape and bytes), what the speed work of issue 23
touches: rollouts of the single and the native vector two-stage environments (several
settings, with same-step autoresets), logged datasets of every behaviour policy (uniform,
softmax in float64 and float32, epsilon-greedy) in the two-stage, prompt and sequential
families, the samplers themselves, and bootstrap intervals of every off-policy estimator
(with and without reward-model refits). Run it before and after a change: equal lines mean
equal outputs.

    python -m benchmarks.perf.digest [--world-dir DIR]   # DIR: a fitted world (optional)
    python -m benchmarks.perf.digest --large-rounds 1000000  # also logs at full scale

``--large-rounds N`` adds lines for N-round softmax logs (float64 and float32, 1,000 items,
k = 30): hundreds of chunks of the logging loop, where the default lines log a few.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np

import recsim_envs  # noqa: F401
from recsim_envs.core.policies import (
    EpsilonGreedyPolicy,
    SoftmaxPolicy,
    UniformPolicy,
    sample_categorical,
    softmax_draws,
)
from recsim_envs.data import collect, collect_sessions

TWO_STAGE = "recsim_envs/TwoStageSynthetic-v0"
SETTINGS = [
    {"n_items": 200, "n_candidates": 10},
    {"n_items": 100, "n_candidates": 8, "slate_size": 3, "session_length": 4},
    {"n_items": 1000, "n_candidates": 30, "session_length": 2},
]


def _leaves(x: Any) -> Iterator[Any]:
    if isinstance(x, dict):
        for k in sorted(x, key=str):
            yield str(k)
            yield from _leaves(x[k])
    elif isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype == object):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


def digest(*objs: Any) -> str:
    h = hashlib.sha256()
    for leaf in _leaves(list(objs)):
        if isinstance(leaf, (np.ndarray, np.generic)):
            a = np.ascontiguousarray(leaf)
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
        else:
            h.update(repr(leaf).encode())
    return h.hexdigest()[:16]


def single_rollout(env_id: str, kwargs: dict, seed: int, n_steps: int) -> list[Any]:
    env = gym.make(env_id, **kwargs)
    out = [env.reset(seed=seed)]
    env.action_space.seed(seed)
    for _ in range(n_steps):
        step = env.step(env.action_space.sample())
        out.append(step)
        if step[2] or step[3]:
            out.append(env.reset())
    return out


def vector_rollout(env_id: str, kwargs: dict, seed: int, n_envs: int, n_steps: int) -> list:
    venv = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                        **kwargs)
    out = [venv.reset(seed=seed)]
    venv.action_space.seed(seed)
    for t in range(n_steps):
        out.append(_masked(venv.step(venv.action_space.sample())))
        if t == n_steps // 2:  # a reseed in the middle, and one without a seed
            out.append(venv.reset(seed=seed + 100))
    out.append(venv.reset())
    out.append(_masked(venv.step(venv.action_space.sample())))
    return out


def _masked(step: tuple) -> tuple:
    """The step with ``final_obs`` cut to the finished sub-environments (the other rows are
    unspecified: some vector environments leave them uninitialised)."""
    info = dict(step[-1])
    if "_final_obs" in info:
        info["final_obs"] = np.asarray(info["final_obs"])[info["_final_obs"]]
    return (*step[:-1], info)


def dataset_leaves(ds: Any) -> list[Any]:
    return [ds.context, ds.action, ds.pscore, ds.reward, ds.expected_reward, ds.extras,
            ds.meta.to_json()]


def environments(world_dir: str | None) -> dict[str, str]:
    out = {}
    for i, kw in enumerate(SETTINGS):
        out[f"two_stage single {i}"] = digest(single_rollout(TWO_STAGE, kw, 7, 25))
        out[f"two_stage vector {i}"] = digest(vector_rollout(TWO_STAGE, kw, 7, 9, 25))
    seq = {"n_users": 40, "n_items": 30, "max_turns": 8}
    out["sequential vector"] = digest(vector_rollout("recsim_envs/SequentialRec-v0", seq, 5,
                                                     6, 30))
    if world_dir:
        kw = {"world": world_dir, "n_candidates": 8, "slate_size": 3, "session_length": 4}
        env_id = "recsim_envs/TwoStageFromWorld-v0"
        out["fitted world single"] = digest(single_rollout(env_id, kw, 3, 25))
        out["fitted world vector"] = digest(vector_rollout(env_id, kw, 3, 9, 25))
    return out


def logging() -> dict[str, str]:
    out = {}
    env = gym.make(TWO_STAGE, n_items=1000, n_candidates=30)
    base = env.unwrapped
    scorer = base.behaviour_scorer()
    policies = {
        "uniform": UniformPolicy(1000),
        "softmax float64": SoftmaxPolicy(scorer, 1000, 0.5),
        "softmax float32": SoftmaxPolicy(scorer, 1000, 0.5, precision="float32"),
        "epsilon": EpsilonGreedyPolicy(scorer, 1000, 0.1),
    }
    for name, policy in policies.items():
        out[f"two_stage log {name}"] = digest(dataset_leaves(collect(env, policy, 5000,
                                                                     seed=3)))
    env2 = gym.make(TWO_STAGE, n_items=100, n_candidates=8, slate_size=3)
    pol2 = SoftmaxPolicy(env2.unwrapped.behaviour_scorer(), 100, 1.0)
    out["two_stage log slate softmax"] = digest(dataset_leaves(collect(env2, pol2, 3000,
                                                                       seed=4)))
    penv = gym.make("recsim_envs/PromptSentence-v0", n_prompts=20, n_eval=200)
    out["prompt log uniform"] = digest(dataset_leaves(collect(penv, UniformPolicy(20), 2000,
                                                              seed=5)))
    from recsim_envs.sequential.behaviour import sequential_behaviour_policy

    senv = gym.make("recsim_envs/SequentialRec-v0", n_users=30, n_items=20, max_turns=6)
    out["sequential log"] = digest(dataset_leaves(collect_sessions(
        senv, sequential_behaviour_policy(senv), 200, seed=6)))
    rng = np.random.default_rng(11)
    scores = rng.normal(size=(3000, 777)) * 3
    p = np.exp(scores - scores.max(1, keepdims=True))
    out["sample_categorical"] = digest(sample_categorical(p, 13, np.random.default_rng(1)))
    out["softmax_draws"] = digest(softmax_draws(scores, 0.7, 13, np.random.default_rng(2)))
    return out


def large_logging(n_rounds: int) -> dict[str, str]:
    """Digests of ``n_rounds``-round softmax logs (1,000 items, k = 30), as in the
    logging benchmark of :mod:`benchmarks.perf.two_stage`."""
    env = gym.make(TWO_STAGE, n_items=1000, n_candidates=30)
    scorer = env.unwrapped.behaviour_scorer()
    out = {}
    for precision in ("float64", "float32"):
        policy = SoftmaxPolicy(scorer, 1000, 0.5, precision=precision)
        out[f"two_stage log softmax {precision} {n_rounds}"] = digest(
            dataset_leaves(collect(env, policy, n_rounds, seed=0)))
    return out


def estimators() -> dict[str, str]:
    from recsim_envs.ope import bandit, sessions

    out = {}
    rng = np.random.default_rng(0)
    n = 20_000
    pscore = rng.uniform(0.05, 1, n)
    target = rng.uniform(0, 1, n) * (rng.random(n) < 0.3)
    reward = (rng.random(n) < 0.2).astype(float)
    dm_terms, q_logged = rng.uniform(0, 1, n), rng.uniform(0, 1, n)

    def refit(g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        shift = g.normal() * 0.01
        return dm_terms + shift, q_logged - shift

    res = bandit.bandit_estimates(target, pscore, reward, dm_terms=dm_terms, q_logged=q_logged,
                                  rng=np.random.default_rng(1), n_boot=500)
    out["bandit estimates"] = digest({k: v.to_dict() for k, v in res.items()})
    res = bandit.bandit_estimates(target, pscore, reward, dm_terms=dm_terms, q_logged=q_logged,
                                  refit=refit, rng=np.random.default_rng(2), n_boot=300,
                                  n_boot_model=50)
    out["bandit estimates refit"] = digest({k: v.to_dict() for k, v in res.items()})
    small = bandit.snips(target[:30], pscore[:30], reward[:30], rng=np.random.default_rng(3),
                         n_boot=400, min_ess=0.0)
    out["snips small"] = digest(small.to_dict())
    kis = bandit.kernel_is(target + 0.01, pscore, reward, rng=np.random.default_rng(4))
    out["kernel_is"] = digest(kis.to_dict())
    from recsim_envs.sequential.behaviour import sequential_behaviour_policy

    senv = gym.make("recsim_envs/SequentialRec-v0", n_users=30, n_items=20, max_turns=6)
    logs = collect_sessions(senv, sequential_behaviour_policy(senv), 300, seed=6)
    tp = np.clip(logs.pscore * np.random.default_rng(8).uniform(0.5, 1.5, len(logs)), 0, 1)
    log = sessions.SessionLog.from_rows(logs.extras["episode_id"], logs.extras["step"],
                                        logs.reward, logs.pscore, tp, gamma=0.9)
    for name in ("pdis", "wpdis"):
        est = getattr(sessions, name)(log, rng=np.random.default_rng(9), min_ess=0.0)
        out[f"sessions {name}"] = digest(est.to_dict())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world-dir", default=None, help="a fitted world to include")
    parser.add_argument("--large-rounds", type=int, default=0,
                        help="also hash softmax logs of this many rounds (0: none)")
    args = parser.parse_args()
    out = {**environments(args.world_dir), **logging(), **estimators()}
    for k, v in out.items():
        print(f"{k}: {v}")
    print("all:", digest(json.dumps(out, sort_keys=True)))
    if args.large_rounds:  # after "all:", so that the default lines stay comparable
        for k, v in large_logging(args.large_rounds).items():
            print(f"{k}: {v}", flush=True)


if __name__ == "__main__":
    main()
