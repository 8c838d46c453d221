"""Time building the ``TwoStageMovieLens-v0`` world from scratch and from the cache.

Writes synthetic MovieLens files of a chosen size (ML-100K size by default: 943 users,
1,682 movies, 100,000 ratings) in the ML-100K format into a temporary folder, then builds
the environment twice with an empty cache folder and prints the wall times, the simulator's
held-out AUC and the time of 1,000 vectorised logged rounds.

Usage: ``python -m benchmarks.perf.movielens_world [n_users n_movies n_ratings]``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    import argparse

    import gymnasium as gym

    import recsim_envs  # noqa: F401  (registers the ids)
    from recsim_envs.core.policies import SoftmaxPolicy
    from recsim_envs.data import collect
    from recsim_envs.two_stage.movielens_synth import make_tables, write_ml100k

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, metavar="N",
                        help="n_users n_movies n_ratings (default: ML-100K's 943 1682 100000)")
    sizes = parser.parse_args(argv).sizes
    if sizes and len(sizes) != 3:
        parser.error("give three sizes: n_users n_movies n_ratings")
    n_users, n_movies, n_ratings = sizes or (943, 1682, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = write_ml100k(Path(tmp) / "data", make_tables(n_users, n_movies, n_ratings))
        print(f"wrote {n_users} users, {n_movies} movies, {n_ratings} ratings "
              f"in {time.perf_counter() - t0:.1f} s")
        kwargs = {"data_dir": str(folder), "cache_dir": str(Path(tmp) / "cache")}
        for label in ("from scratch", "from cache"):
            t0 = time.perf_counter()
            env = gym.make("recsim_envs/TwoStageMovieLens-v0", **kwargs)
            elapsed = time.perf_counter() - t0
            info = env.unwrapped.world_info
            print(f"world build {label}: {elapsed:.2f} s (from_cache={info['from_cache']}, "
                  f"simulator held-out AUC {info['simulator_valid_auc']:.3f}, "
                  f"mean click prob {info['mean_click_prob']:.3f})")
        base = env.unwrapped
        policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0, "default")
        t0 = time.perf_counter()
        data = collect(env, policy, n_rounds=1000, seed=0)
        print(f"collect 1,000 rounds: {time.perf_counter() - t0:.2f} s, "
              f"mean reward {data.reward.mean():.3f}, min pscore {data.pscore.min():.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
