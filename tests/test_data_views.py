"""Typed views live in their family packages and are found through the registry: the data
package imports no family, every dataset is checked by its family's view (two-stage: the
one validator), agents read the views, and no private name crosses packages (issue 22)."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest

import agents
from agents.base import AgentError
from recsim_envs.core.policies import SoftmaxPolicy, UniformPolicy
from recsim_envs.data import DatasetError, DatasetMeta, LoggedDataset, collect
from recsim_envs.data import views as views_module
from recsim_envs.data.views import FamilyView, register_view, view_class, view_of
from recsim_envs.families import FAMILIES
from recsim_envs.prompt.view import PromptView
from recsim_envs.sequential.behaviour import sequential_behaviour_policy
from recsim_envs.sequential.view import SessionView
from recsim_envs.two_stage.view import TwoStageView
from tests.architecture_graph import ROOT, edges, module_name, node_of

FAMILY_NODES = ("recsim_envs.two_stage", "recsim_envs.prompt", "recsim_envs.sequential")


@pytest.fixture(scope="module")
def two_stage() -> LoggedDataset:
    env = gym.make("recsim_envs/TwoStageSynthetic-v0", n_items=40, n_candidates=4)
    base = env.unwrapped
    return collect(env, SoftmaxPolicy(base.behaviour_scorer(), base.n_items, 1.0), 300, seed=0)


@pytest.fixture(scope="module")
def prompt() -> LoggedDataset:
    env = gym.make("recsim_envs/PromptSentence-v0", n_prompts=10, n_eval=50)
    return collect(env, UniformPolicy(env.unwrapped.n_prompts), 100, seed=0)


@pytest.fixture(scope="module")
def sessions() -> tuple[gym.Env, LoggedDataset]:
    env = gym.make("recsim_envs/SequentialRec-v0", n_users=30, n_items=20, max_turns=5)
    return env, collect(env, sequential_behaviour_policy(env), 200, seed=0)


def _with(ds: LoggedDataset, **changes) -> LoggedDataset:
    """A copy with some fields replaced, built (and so checked) again."""
    return dataclasses.replace(ds, **changes)


# ---------------------------------------------------------------------- layering
def test_the_data_package_imports_no_family_and_nothing_above_it():
    out = {b for a, b in edges() if a == "recsim_envs.data"}
    assert not out & {*FAMILY_NODES, "recsim_envs", "recsim_envs.evaluation", "recsim_envs.ope"}
    for path in sorted((ROOT / "recsim_envs" / "data").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "famil" not in node.module, f"{path.name} imports {node.module}"


def test_no_private_name_is_imported_across_packages():
    crossing = []
    for top in ("recsim_envs", "agents", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*.py")):
            src = node_of(module_name(path))
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.ImportFrom) and node.module and not node.level):
                    continue
                dst = node_of(node.module)
                private = [a.name for a in node.names if a.name.startswith("_")
                           and not a.name.startswith("__")]
                if dst is not None and dst != src and private:
                    crossing.append(f"{module_name(path)}: from {node.module} import {private}")
    assert not crossing


# ---------------------------------------------------------------------- the registry
def test_each_family_names_its_view_and_the_registry_finds_it(two_stage, prompt, sessions):
    expected = {"two_stage": TwoStageView, "prompt": PromptView, "sequential": SessionView}
    for name, cls in expected.items():
        assert FAMILIES[name].view == f"{cls.__module__}:{cls.__name__}"
        assert cls.__module__ == f"recsim_envs.{name}.view"
        assert view_class(name) is cls and cls.family == name
    for ds, cls in ((two_stage, TwoStageView), (prompt, PromptView), (sessions[1], SessionView)):
        view = view_of(ds)
        assert type(view) is cls and view.dataset is ds and ds.family == cls.family


def test_logs_of_a_family_without_a_view_are_not_checked_by_one():
    meta = DatasetMeta("imported", {}, 3, "logged", info={"family": "imported"})
    ds = LoggedDataset(np.zeros((2, 1)), np.array([0, 2]), np.ones(2), np.zeros(2),
                       np.zeros(2), meta)
    assert view_class("imported") is None and view_of(ds) is None


@dataclass(frozen=True)
class _ToyView(FamilyView):
    family: ClassVar[str] = "toy_views"
    extras: ClassVar[tuple[str, ...]] = ("arm_feature",)

    def check(self) -> None:
        if self.dataset.extras["arm_feature"].ndim != 2:
            raise DatasetError("extras['arm_feature'] must be (n, d)")


def test_a_view_registered_from_outside_checks_its_familys_datasets(monkeypatch):
    monkeypatch.setattr(views_module, "_VIEWS", dict(views_module._VIEWS))  # restored after
    register_view("toy_views", f"{__name__}:_ToyView")
    register_view("toy_views", _ToyView)  # the same view again: accepted
    with pytest.raises(ValueError, match="has the view"):
        register_view("toy_views", TwoStageView)
    meta = DatasetMeta("toy", {}, 3, "logged", info={"family": "toy_views"})
    cols = dict(context=np.zeros((2, 1)), action=np.array([0, 2]), pscore=np.ones(2),
                reward=np.zeros(2), expected_reward=np.zeros(2), meta=meta)
    with pytest.raises(DatasetError, match=r"toy_views logs must hold \[\"extras\['arm_"):
        LoggedDataset(**cols)
    with pytest.raises(DatasetError, match=r"must be \(n, d\)"):
        LoggedDataset(**cols, extras={"arm_feature": np.zeros(2)})
    ds = LoggedDataset(**cols, extras={"arm_feature": np.zeros((2, 3))})
    assert type(view_of(ds)) is _ToyView


# ---------------------------------------------------------------------- two-stage: one validator
def _bad_two_stage(ds: LoggedDataset, what: str) -> dict:
    other_items = np.zeros((ds.meta.n_actions + 1, ds.system["item_features"].shape[1]))
    cands = ds.extras["candidates"].copy()
    cands[0, 0] = ds.meta.n_actions
    nan_items = ds.system["item_features"].copy()
    nan_items[1, 0] = np.nan
    return {
        "catalogue": {"system": {**ds.system, "item_features": other_items}},
        "obs_dim": {"context": ds.context[:, :-1]},
        "ranker": {"system": {**ds.system, "ranker_weights": ds.system["ranker_weights"][:, 1:]}},
        "finite": {"system": {**ds.system, "item_features": nan_items}},
        "width": {"extras": {**ds.extras, "candidates": ds.extras["candidates"][:, 1:]}},
        "ids": {"extras": {**ds.extras, "candidates": cands}},
        "missing": {"system": {"item_features": ds.system["item_features"]}},
    }[what]


@pytest.mark.parametrize("what, match", [
    ("catalogue", "mismatched catalogue size"),
    ("obs_dim", r"obs_dim=\d+: the rows were logged from another environment"),
    ("ranker", r"ranker_weights'\] has shape .* \(mismatched feature shape\)"),
    ("finite", "NaN or infinite"),
    ("width", r"candidates'\] has shape \(300, 3\); expected \(n, 4\)"),
    ("ids", r"outside the catalogue \[0, 40\)"),
    ("missing", r"two_stage logs must hold \[\"system\['ranker_weights'\]\"\]"),
])
def test_inconsistent_two_stage_logs_are_refused_when_built_and_by_the_agents(two_stage, what,
                                                                             match):
    changes = _bad_two_stage(two_stage, what)
    with pytest.raises(DatasetError, match=match):
        _with(two_stage, **changes)
    # an agent given the same arrays in a dataset that skipped its checks refuses them too
    skipped = object.__new__(LoggedDataset)
    skipped.__dict__.update({**two_stage.__dict__, **changes})
    with pytest.raises(AgentError, match=match):
        agents.make("popular").fit(skipped)


def test_the_two_stage_view_names_the_papers_quantities(two_stage):
    view = TwoStageView.of(two_stage)
    assert (view.n_items, view.n_candidates, view.logged_width) == (40, 4, 4)
    assert view.obs_dim == two_stage.context.shape[1] and view.rows_per_visit == 1
    assert view.ranker_weights.shape == (view.obs_dim + 1, view.item_dim + 1)
    assert not view.without_replacement
    assert agents.make("popular").fit(two_stage).shapes.n_candidates == 4


# ---------------------------------------------------------------------- prompt and sessions
def test_the_prompt_view_reads_the_query_slice_and_optional_columns(prompt):
    view = PromptView.of(prompt)
    start, stop = view.query_slice
    assert list(prompt.meta.info["query_slice"]) == [start, stop] and 0 <= start < stop
    assert view.prompt_embeddings.shape[0] == 10
    assert view.sentence_embedding.shape[0] == len(prompt)
    bare = _with(prompt, extras={}, meta=dataclasses.replace(
        prompt.meta, info={k: v for k, v in prompt.meta.info.items() if k != "query_slice"}))
    bare_view = PromptView.of(bare)
    assert bare_view.pi_b is None and bare_view.sentence_embedding is None
    assert bare_view.query_slice is None


def test_the_session_view_holds_what_the_sequential_agents_read(sessions):
    env, ds = sessions
    view = SessionView.of(ds)
    assert view.obs_layout == env.unwrapped.layout
    np.testing.assert_array_equal(view.item_category, env.unwrapped.world.item_category)
    np.testing.assert_array_equal(view.item_popularity, env.unwrapped.world.item_popularity)
    assert view.terminated.dtype == bool and view.ended.sum() >= view.terminated.sum()
    lacking = _with(ds, system={k: v for k, v in ds.system.items() if k != "item_popularity"})
    with pytest.raises(DatasetError, match=r"lacks \['item_popularity'\]"):
        _ = SessionView.of(lacking).item_popularity
    with pytest.raises(DatasetError, match=r"lacks \['item_popularity'\]"):
        agents.make("no_repeat_popular").fit(lacking)


def test_agents_refuse_logs_of_another_family_by_naming_it(two_stage, sessions):
    with pytest.raises(DatasetError, match="family is 'two_stage'"):
        agents.make("linear_q").fit(two_stage)
    with pytest.raises(AgentError, match="family is 'sequential'"):
        agents.make("popular").fit(sessions[1])


def test_agent_code_reads_no_raw_family_columns():
    # the columns are read through the typed views; only error messages may name them
    raw = ("extras[", "extras.get(", "system[", "system.get(", "meta.info[", "meta.info.get(",
           ".require(")
    found = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
                text = ast.unparse(node)
                if text.startswith("dataset.") and any(r in text for r in raw):
                    found.append(f"{Path(path).relative_to(ROOT)}: {text[:60]}")
    assert not found
