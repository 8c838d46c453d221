"""docs/data.md names every key a family's logged data carries in ``extras``, ``system``
and ``meta.info``, so the page cannot fall behind the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.families import get_family

DOC = (Path(__file__).resolve().parent.parent / "docs" / "data.md").read_text()

CASES = [
    ("two_stage", "recsim_envs/TwoStageSynthetic-v0", {"n_items": 30, "n_candidates": 3}),
    ("two_stage", "recsim_envs/TwoStageSynthetic-v0",
     {"n_items": 30, "n_candidates": 3, "slate_size": 2}),
    ("prompt", "recsim_envs/PromptSentence-v0", {"n_prompts": 20}),
    ("sequential", "recsim_envs/SequentialRec-v0", {}),
]


@pytest.mark.parametrize("family, env_id, kwargs", CASES, ids=[c[0] for c in CASES])
def test_every_logged_key_is_documented(family, env_id, kwargs):
    adapter = get_family(family)
    env = adapter.make_env(env_id, kwargs)
    data = adapter.log(env, adapter.behaviour_policy(env, {}, 0), 10, 1)
    keys = {*data.extras, *data.system, *data.meta.info}
    assert keys, "a logged dataset with nothing to document"
    missing = sorted(k for k in keys if f"`{k}`" not in DOC)
    assert not missing, f"docs/data.md does not name {missing}"
