"""Benchmark specs: loading, validation messages, seeds, built-in suites."""

from __future__ import annotations

import textwrap

import pytest

from benchmarks.cells import cell_seeds, cells_of
from benchmarks.spec import SpecError, load_spec, parse_agent_arg
from benchmarks.suites import SUITES, builtin_suite

GOOD = """
name = "t"
family = "two_stage"
seeds = 2
[data]
n_train = 100
n_heldout = 50
[evaluation]
n_eval = 20
[behaviour]
policy = "uniform"
[[envs]]
id = "recsim_envs/TwoStageSynthetic-v0"
kwargs = { n_items = 20, n_candidates = 3 }
[[agents]]
agent = "popular"
[[agents]]
name = "mine"
agent = "recsim_envs.examples.my_agent:PopularIPS"
settings = { clip = 5.0 }
"""


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_toml_spec_loads_with_defaults_for_names(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.family == "two_stage" and spec.seeds == 2
    assert [e.name for e in spec.envs] == ["TwoStageSynthetic-v0"]
    assert [a.name for a in spec.agents] == ["popular", "mine"]
    assert spec.agents[1].settings == {"clip": 5.0}
    assert spec.data.n_train == 100 and spec.evaluation.n_eval == 20
    assert len(cells_of(spec)) == 1 * 2 * 2


@pytest.mark.parametrize(
    "change, message",
    [
        (("seeds = 2", "seeds = 2\nagnets = 1"), "unknown key(s) ['agnets'] in"),
        (("n_eval = 20", "n_eval = 20\nn_evals = 3"), "unknown key(s) ['n_evals'] in"),
        (('agent = "popular"', 'agent = "popular"\nsetting = {}'), "agents[0]"),
        (('family = "two_stage"', 'family = "bandit"'), "unknown family 'bandit'"),
        (("seeds = 2", "seeds = 0"), "seeds must be an integer >= 1"),
        (("n_train = 100", "n_train = 1"), "data.n_train must be an integer >= 2"),
        (('name = "mine"', 'name = "popular"'), "agent names must be unique"),
    ],
)
def test_bad_specs_name_the_key_and_the_fix(tmp_path, change, message):
    old, new = change
    text = GOOD.replace(old, new)
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert message in str(info.value)


def test_missing_files_and_formats_are_clear(tmp_path):
    with pytest.raises(SpecError, match="no spec file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="must end in .toml"):
        load_spec(write(tmp_path, GOOD, "spec.json"))
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(write(tmp_path, "name = ", "bad.toml"))


def test_yaml_specs_need_pyyaml_or_load(tmp_path):
    path = write(tmp_path, "name: t\n", "spec.yaml")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(SpecError, match="PyYAML is not installed"):
            load_spec(path)
    else:
        with pytest.raises(SpecError, match="lacks the required key 'family'"):
            load_spec(path)


def test_agent_arguments_take_names_paths_and_labels():
    assert parse_agent_arg("ce").name == "ce"
    a = parse_agent_arg("pkg.mod:MyAgent")
    assert (a.name, a.agent) == ("MyAgent", "pkg.mod:MyAgent")
    b = parse_agent_arg("mine=pkg.mod:MyAgent")
    assert (b.name, b.agent) == ("mine", "pkg.mod:MyAgent")


def test_cell_seeds_depend_on_suite_env_and_seed_only():
    a = cell_seeds("two_stage", "synthetic", 0)
    assert a == cell_seeds("two_stage", "synthetic", 0)
    assert len(set(a.values())) == len(a)  # independent streams
    assert a != cell_seeds("two_stage", "synthetic", 1)
    assert a != cell_seeds("prompt", "synthetic", 0)
    assert a["log_train"] != a["log_heldout"] != a["evaluation"]


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("size", ["quick", "full"])
def test_builtin_suites_are_valid_and_differ_by_size(suite, size):
    spec = builtin_suite(suite, size)
    # suite names are family names, except two_stage_paper (family two_stage)
    assert spec.name == suite and suite.startswith(spec.family) and spec.size == size
    assert spec.digest() != builtin_suite(suite, "full" if size == "quick" else "quick").digest()


def test_unknown_suites_and_sizes_are_errors():
    with pytest.raises(SpecError, match="unknown suite"):
        builtin_suite("bandits")
    with pytest.raises(SpecError, match="unknown size"):
        builtin_suite("two_stage", "huge")
