"""Issue 20: checkpointed training (learning curves), the paraphrase world's signal-to-noise and
prompt features, the regression without text features, DSO's authors' bandwidth, and the new
diagnostics (noise / gap ratio, intent accuracy from prompt features)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import agents
import recsim_envs  # noqa: F401
from agents.base import AgentError
from agents.prompt.dso import DSO, DSOConfig
from recsim_envs.__main__ import main
from recsim_envs.core.policies import UniformPolicy
from recsim_envs.data import collect
from recsim_envs.prompt.text.diagnostics import intent_accuracy, noise_gap_ratio
from recsim_envs.prompt.text.paraphrase import blend_prompt_features
from recsim_envs.prompt.text.worlds import PARAPHRASE_ISSUE12, WORLDS

PARA = "recsim_envs/PromptSentenceParaphrase-v0"
SMALL = {"n_prompts": 40, "n_paraphrases": 4, "n_mc": 4, "n_eval": 300}


@pytest.fixture(scope="module")
def synthetic():
    env = gym.make("recsim_envs/PromptSentence-v0", n_prompts=10, n_eval=300).unwrapped
    return env, collect(env, UniformPolicy(10), 300, seed=0)


# ---------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("name", ["is_pg", "dso"])
def test_the_policy_at_a_checkpoint_equals_a_run_stopped_there(synthetic, name):
    env, data = synthetic
    kw = {"seed": 3, "density_steps": 20} if name == "dso" else {"seed": 3}
    fit_kw = {"generator": env.generator} if name == "dso" else {}
    obs = data.context[:50]
    seen = {}

    def record(step):
        seen[step] = long.action_probs(obs)

    long = agents.make(name, n_steps=60, **kw)
    long.fit(data, checkpoints=(25, 60), on_checkpoint=record, **fit_kw)
    short = agents.make(name, n_steps=25, **kw).fit(data, **fit_kw)
    np.testing.assert_array_equal(seen[25], short.action_probs(obs))
    np.testing.assert_array_equal(seen[60], long.action_probs(obs))
    assert not np.array_equal(seen[25], seen[60])


def test_checkpoints_outside_the_run_or_without_a_callback_are_refused(synthetic):
    _, data = synthetic
    with pytest.raises(AgentError, match="1..n_steps"):
        agents.make("is_pg", n_steps=10).fit(data, checkpoints=(20,), on_checkpoint=print)
    with pytest.raises(AgentError, match="on_checkpoint"):
        agents.make("is_pg", n_steps=10).fit(data, checkpoints=(5,))


# ---------------------------------------------------------------- the paraphrase world
def test_the_paraphrase_default_has_the_authors_noise_to_gap_ratio():
    env = gym.make(PARA, **SMALL).unwrapped
    assert env.reward_noise == WORLDS["paraphrase"]["reward_noise"] == 0.125
    assert noise_gap_ratio(env) == pytest.approx(0.25, rel=1e-9)  # the gap is calibrated
    old = gym.make(PARA, **SMALL, **PARAPHRASE_ISSUE12).unwrapped
    assert noise_gap_ratio(old) == pytest.approx(2.0, rel=1e-9)
    # the keywords world keeps its noise
    assert gym.make("recsim_envs/PromptSentenceText-v0", n_prompts=10, n_mc=2,
                    n_eval=100).unwrapped.reward_noise == 1.0


def test_blended_features_keep_the_text_share_and_unit_norm():
    rng = np.random.default_rng(0)
    text = rng.standard_normal((500, 32)) * 3.0
    out = blend_prompt_features(text, 0.4, np.random.default_rng(1))
    unit = text / np.linalg.norm(text, axis=1, keepdims=True)
    # the text direction carries weight 0.4 (random unit vectors are ~orthogonal in 32-d)
    assert np.mean(np.sum(out * unit, axis=1)) == pytest.approx(0.4, abs=0.03)
    np.testing.assert_allclose(blend_prompt_features(text, 1.0, rng), unit)
    assert np.abs(np.sum(blend_prompt_features(text, 0.0, rng) * unit, axis=1)).mean() < 0.2


def test_intent_accuracy_is_one_for_revealing_features_and_chance_for_random_ones():
    rng = np.random.default_rng(0)
    groups = np.arange(200) % 5
    centres = rng.standard_normal((5, 8)) * 5.0

    def env_with(feats):
        return SimpleNamespace(n_prompts=200, prompt_group=groups,
                               system_prompt_embeddings=lambda: feats)

    revealing = centres[groups] + 0.1 * rng.standard_normal((200, 8))
    assert intent_accuracy(env_with(revealing)) == 1.0
    assert intent_accuracy(env_with(rng.standard_normal((200, 8)))) < 0.35  # chance 0.2
    assert intent_accuracy(SimpleNamespace(n_prompts=5, prompt_group=np.arange(5))) is None


def test_the_default_paraphrase_features_hide_the_intent_and_issue12s_reveal_it():
    kw = {"n_prompts": 200, "n_paraphrases": 10, "n_mc": 2, "n_eval": 100}
    hidden = intent_accuracy(gym.make(PARA, **kw).unwrapped)
    revealed = intent_accuracy(gym.make(PARA, **kw, prompt_feature_signal=1.0).unwrapped)
    chance = 1 / 20
    assert hidden <= chance + 0.10 < revealed


def test_a_feature_signal_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="prompt_feature_signal"):
        gym.make(PARA, **SMALL, prompt_feature_signal=1.5)


def test_diagnostics_print_the_ratio_the_intent_accuracy_and_the_authors_contrast(capsys):
    assert main(["prompt-diagnostics", PARA, "--kwargs", json.dumps(SMALL)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["noise_gap_ratio"] == pytest.approx(0.25)
    assert out["intent_chance"] == pytest.approx(0.1) and 0.0 <= out["intent_accuracy"] <= 1.0
    assert out["kernel_contrast_authors"] >= 1.0 and out["kernel_contrast"] > 1.0


# ---------------------------------------------------------------- agents
def test_regression_with_random_prompt_features_ignores_the_logged_ones(synthetic):
    _, data = synthetic
    a = agents.make("regression_pg", seed=0, n_steps=5, regressor_steps=5,
                    prompt_features="random").fit(data)
    emb = data.system["prompt_embeddings"]
    assert a.regressor.prompt_embeddings.shape == emb.shape
    assert not np.allclose(a.regressor.prompt_embeddings, emb)
    with pytest.raises(ValueError, match="prompt_features"):
        agents.make("dr_pg", prompt_features="text")


def test_the_authors_bandwidth_is_tau_one(synthetic):
    env, data = synthetic
    agent = DSO(seed=0, n_steps=0, density_steps=0, bandwidth="authors")
    assert agent.fit(data, generator=env.generator).tau == 1.0
    with pytest.raises(ValueError, match="'authors'"):
        DSOConfig(bandwidth="wide")


# ---------------------------------------------------------------- the curves' table
def test_the_curves_table_gives_the_mean_and_range_over_seeds_per_checkpoint(tmp_path):
    from benchmarks.perf.prompt_curves import _done, table

    rows = [{"suite": "s", "env": "w", "seed_index": k, "agent": "dso", "step": step,
             "optimality": v, "cpu_s": 10.0 * (k + 1), "wall_s": 1.0, "last": step == 20}
            for k, vals in enumerate([(0.1, 0.3), (0.2, 0.5)])
            for step, v in zip((10, 20), vals, strict=True)]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = table([str(path)]).splitlines()
    assert out[0].startswith("| world | agent | seeds | 10 | 20 |")
    assert out[2] == "| w | dso | 2 | 0.150 [0.10, 0.20] | 0.400 [0.30, 0.50] | 15 |"
    assert _done(path) == {("w", 0, "dso"), ("w", 1, "dso")}  # finished runs are skipped
