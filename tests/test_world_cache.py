"""A world cache file asked for by several processes at once is built once."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np

from recsim_envs.two_stage.movielens_world import cached_arrays


def _build_and_count(path: str, counter: str) -> None:
    def build():
        with open(counter, "a") as fh:  # one line per build
            fh.write("built\n")
        time.sleep(0.5)  # long enough for the other process to ask meanwhile
        return {"a": np.arange(3)}

    arrays, _ = cached_arrays(Path(path), ("a",), build)
    assert arrays["a"].tolist() == [0, 1, 2]


def test_two_processes_asking_for_the_same_missing_world_build_it_once(tmp_path):
    path, counter = tmp_path / "world.npz", tmp_path / "builds.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_build_and_count, args=(str(path), str(counter)))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert counter.read_text().splitlines() == ["built"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["builds.txt", "world.npz"]  # no lock
    assert cached_arrays(path, ("a",), lambda: 1 / 0)[1] is True  # read from the file
