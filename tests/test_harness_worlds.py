"""One world per benchmark cell in every family, counted by wrapping each family's world
builder; and the check that ``act`` samples its declared distribution draws from its own
generator, so ``evaluate()`` with a row's seeds reproduces the row."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.cells import RunContext, cell_seeds, cells_of
from benchmarks.runner import run_cell
from benchmarks.spec import AgentSpec, BenchmarkSpec, DataSpec, EnvSpec, EvalSpec

CONTEXT = RunContext(version="test", git_commit="0" * 40, git_dirty=False)


def _spec(family, env_id, kwargs, agents, behaviour, **evaluation):
    return BenchmarkSpec(
        name=f"worlds_{family}", family=family, envs=(EnvSpec("e", env_id, kwargs),),
        agents=tuple(AgentSpec(a, a, s) for a, s in agents), seeds=1,
        data=DataSpec(n_train=60, n_heldout=40), behaviour=behaviour,
        evaluation=EvalSpec(**{"n_eval": 40, **evaluation}),
    )


def _builders(monkeypatch):
    """Wrap the world builder of every family; returns the call counter."""
    import recsim_envs.sequential.envs as seq_envs
    import recsim_envs.two_stage.world as ts_world
    from recsim_envs.prompt.text_envs import PromptSentenceTextEnv
    from recsim_envs.prompt.world import PromptSentenceWorld

    calls = {"n": 0}

    def counted(fn):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(ts_world, "build_synthetic_world", counted(ts_world.build_synthetic_world))
    monkeypatch.setattr(PromptSentenceWorld, "from_seed",
                        classmethod(counted(PromptSentenceWorld.from_seed.__func__)))
    monkeypatch.setattr(PromptSentenceTextEnv, "_mean_embedding_table",
                        counted(PromptSentenceTextEnv._mean_embedding_table))
    monkeypatch.setattr(seq_envs, "build_world", counted(seq_envs.build_world))
    return calls


SPECS = {
    # an offline agent, a sampler and a privileged skyline
    "two_stage": _spec("two_stage", "recsim_envs/TwoStageSynthetic-v0",
                       {"n_items": 40, "n_candidates": 3},
                       [("popular", {}), ("logging", {}), ("oracle", {})],
                       {"policy": "softmax"}),
    # an online learner (a one-step online budget) and a stochastic policy
    "prompt": _spec("prompt", "recsim_envs/PromptSentence-v0", {"n_prompts": 20},
                    [("online_pg", {}), ("uniform", {})], {"policy": "uniform"},
                    online_steps=2),
    "prompt_text": _spec("prompt", "recsim_envs/PromptSentenceText-v0",
                         {"n_prompts": 12, "n_mc": 2, "n_eval": 50},
                         [("uniform", {})], {"policy": "uniform"}),
    # online learners with a learning curve (a held-out evaluation per epoch)
    "sequential": _spec("sequential", "recsim_envs/SequentialRec-v0",
                        {"n_users": 60, "n_items": 30},
                        [("seq_random", {}), ("linear_q", {}), ("dqn", {})],
                        {"policy": "softmax"},
                        online_steps=4, curve_points=2),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_cell_builds_its_world_once(name, monkeypatch):
    calls = _builders(monkeypatch)
    for cell in cells_of(SPECS[name]):
        before = calls["n"]
        row = run_cell(cell, CONTEXT)
        assert row["status"] == "ok", row["error"]
        assert calls["n"] - before == 1, (cell.agent.name, calls["n"] - before)


def test_evaluate_with_a_rows_seeds_reproduces_a_stochastic_agents_row():
    # seq_random's return depends on its own draws: while the check of act against
    # action_probs drew from the agent's generator, the row and evaluate() differed
    from benchmarks.families import get_family
    from benchmarks.plugins import build_agent
    from recsim_envs.evaluation import evaluate

    spec = SPECS["sequential"]
    cell = next(c for c in cells_of(spec) if c.agent.name == "seq_random")
    row = run_cell(cell, CONTEXT)
    seeds = cell_seeds(spec.name, cell.env.name, cell.seed_index)
    harness, kwargs = get_family(spec.family), cell.env_kwargs()
    env = harness.make_env(cell.env.id, kwargs)
    policy = harness.behaviour_policy(env, cell.behaviour(), seeds["behaviour"])
    train = harness.log(env, policy, spec.data.n_train, seeds["log_train"])
    agent, _ = build_agent(cell.agent, seeds["agent"])
    agent.fit(train, harness.deployment(env, policy, cell.behaviour()))
    result = evaluate(agent, cell.env.id, kwargs, spec.evaluation.n_eval, seeds["evaluation"])
    assert result.value.to_dict() == row["online"]["value"]


def test_the_agreement_check_leaves_the_agents_generator_alone():
    from recsim_envs.evaluation import AgentHandle

    class Sampler:
        def __init__(self):
            self.rng = np.random.default_rng(5)

        def fit(self, dataset, deployment=None):
            return self

        def action_probs(self, obs):
            return np.full((len(obs), 4), 0.25)

        def act(self, obs):
            return self.rng.integers(4, size=len(obs))

    obs = np.zeros((3, 2))
    checked, fresh = Sampler(), Sampler()
    AgentHandle(checked).check_agreement(obs, 4)
    np.testing.assert_array_equal(checked.act(np.zeros((50, 2))), fresh.act(np.zeros((50, 2))))


@pytest.mark.parametrize("family, env_id, kwargs", [
    ("two_stage", "recsim_envs/TwoStageSynthetic-v0", {"n_items": 30, "n_candidates": 3}),
    ("prompt", "recsim_envs/PromptSentence-v0", {"n_prompts": 20}),
    ("sequential", "recsim_envs/SequentialRec-v0", {"n_users": 40, "n_items": 20}),
])
def test_each_built_in_harness_logs_and_views_its_own_data(family, env_id, kwargs):
    from recsim_envs.core.policies import UniformPolicy
    from recsim_envs.evaluation import HarnessError, get_harness

    harness = get_harness(family)
    env = harness.make_env(env_id, kwargs, harness.build_world(env_id, kwargs))
    data = harness.log(env, UniformPolicy(int(np.asarray(env.action_space.nvec).max())
                                          if hasattr(env.action_space, "nvec")
                                          else int(env.action_space.n)), 8, 0)
    assert type(harness.view(data)) is harness.view_class
    with pytest.raises(HarnessError, match="unknown behaviour setting"):
        harness.behaviour_policy(env, {"policy": "uniform", "temprature": 1.0}, 0)


def test_logs_become_interactions_as_their_family_says():
    import gymnasium as gym

    from recsim_envs.data import collect_sessions
    from recsim_envs.sequential.behaviour import sequential_behaviour_policy
    from recsim_envs.worlds import from_logged_dataset
    from recsim_envs.worlds.table import TableError

    env = gym.make("recsim_envs/SequentialRec-v0", n_users=50, n_items=30)
    data = collect_sessions(env, sequential_behaviour_policy(env), 40, 0)
    table = from_logged_dataset(data)
    # the user id is the first context column; ratings of 4 and 5 are positives
    assert len(table.user_ids) == len(np.unique(data.context[:, 0]))
    assert table.label_rule == "reward >= 4"
    np.testing.assert_array_equal(table.label, (data.reward >= 4).astype(np.float32))
    data.meta.info["family"] = "unknown"
    with pytest.raises(TableError, match="unknown family"):
        from_logged_dataset(data)


def test_a_measurement_option_the_family_does_not_know_is_named():
    import agents
    from recsim_envs.evaluation import HarnessError, evaluate

    env_id, kw = "recsim_envs/TwoStageSynthetic-v0", {"n_items": 30, "n_candidates": 3}
    with pytest.raises(HarnessError, match="ranking_k.*known: ranking_ks"):
        evaluate(agents.make("oracle"), env_id, kw, n_users=5, ranking_k=(5,))
    with pytest.raises(HarnessError, match="takes no options"):
        evaluate(agents.make("uniform"), "recsim_envs/PromptSentence-v0", {"n_prompts": 20},
                 n_users=5, ranking_ks=(5,))
