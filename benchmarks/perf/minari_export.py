"""Seconds to write session logs as a Minari dataset, at two sizes (issue 23: linear time).

Logs ``--small`` and ``--large`` (default 200 and 800) whole sessions of
``SequentialRec-v0`` with its default behaviour policy, then times
:func:`recsim_envs.data.exchange.to_minari` alone (the logging is not timed) and reading the
dataset back with :func:`~recsim_envs.data.exchange.from_minari`. Sizes are interleaved over
``--repeats`` runs; medians are printed with the load average at each measurement (the
machine may be shared: figures taken under load are upper bounds). Target: the large
export costs at most ``large / small * 1.5`` times the small one (6x for 800 vs 200).

    python -m benchmarks.perf.minari_export [--small 200] [--large 800] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import gymnasium as gym

import recsim_envs  # noqa: F401
from recsim_envs.data import collect_sessions
from recsim_envs.data.exchange import from_minari, to_minari
from recsim_envs.sequential.behaviour import sequential_behaviour_policy


def load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def export_seconds(n_sessions: int, root: str, tag: str) -> tuple[float, float, int]:
    """(export seconds, import seconds, rows) for ``n_sessions`` logged sessions."""
    env = gym.make("recsim_envs/SequentialRec-v0", n_users=200, n_items=50, max_turns=10)
    data = collect_sessions(env, sequential_behaviour_policy(env), n_sessions, seed=0)
    os.environ["MINARI_DATASETS_PATH"] = root
    start = time.perf_counter()
    ds = to_minari(data, f"recsim/perf/{tag}-v0")
    export = time.perf_counter() - start
    assert ds.total_episodes == n_sessions and ds.total_steps == len(data)
    start = time.perf_counter()
    back = from_minari(f"recsim/perf/{tag}-v0")
    read = time.perf_counter() - start
    assert len(back) == len(data)
    return export, read, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=200, help="sessions in the small export")
    parser.add_argument("--large", type=int, default=800, help="sessions in the large export")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[int, list[tuple[float, float]]] = {args.small: [], args.large: []}
    rows = {}
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.repeats):
            for n in (args.small, args.large):  # interleaved: load drifts hit both sizes
                export, read, rows[n] = export_seconds(n, root, f"s{n}r{r}")
                times[n].append((export, read))
                print(f"  repeat {r}: {n} episodes ({rows[n]:,} steps) export {export:.2f} s, "
                      f"read {read:.2f} s ({load()})", flush=True)
    med = {n: (statistics.median(e for e, _ in t), statistics.median(r for _, r in t))
           for n, t in times.items()}
    print(f"\n## Minari export (arrow storage), medians of {args.repeats} ({load()})")
    print("| episodes | steps | export s | read s |")
    print("|---|---|---|---|")
    for n in (args.small, args.large):
        print(f"| {n:,} | {rows[n]:,} | {med[n][0]:.2f} | {med[n][1]:.2f} |")
    ratio = med[args.large][0] / med[args.small][0]
    target = args.large / args.small * 1.5
    print(f"\nexport {args.large} / {args.small} episodes: {ratio:.2f}x "
          f"(linear: {args.large / args.small:.0f}x; target <= {target:.0f}x)")


if __name__ == "__main__":
    main()
