"""The language-model stub: determinism, alignment, hallucinations, parsing, backends."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from recsim_envs.sequential.envs import SequentialRecEnv
from recsim_envs.sequential.llm import HTTPBackend, LLMUser, TransformersBackend, parse_answer

SMALL = {"n_users": 40, "n_items": 30}
EXACT = {"temperature": 0.0, "hallucination_rate": 0.0, "boredom": 0.0}


@pytest.fixture(scope="module")
def env():
    return SequentialRecEnv(**SMALL)


def ask_empty(llm: LLMUser, user: int, cand: np.ndarray, seed: int = 0):
    return llm.ask(user, np.full(5, 30), np.zeros(5), cand, seed=seed)


def test_same_prompt_and_seed_give_the_same_cached_answer(env):
    llm = env.make_llm_user(alignment=0.5, temperature=1.0)
    prompt = llm.build_prompt(llm.describe_state(3, np.full(5, 30), np.zeros(5)), np.arange(30))
    a = llm.generate(prompt, seed=4)
    fresh = env.make_llm_user(alignment=0.5, temperature=1.0)
    assert fresh.generate(prompt, seed=4) == a  # determinism, not just the cache
    assert llm.generate(prompt, seed=4) == a
    assert llm.stats["cache_hits"] == 1 and llm.stats["calls"] == 2
    answers = {fresh.generate(prompt, seed=s) for s in range(8)}
    assert len(answers) > 1  # the seed matters at temperature 1


def test_full_alignment_names_the_truly_best_candidates_in_order(env):
    llm = env.make_llm_user(alignment=1.0, **EXACT)
    cand = np.arange(30)
    for user in (0, 7, 21):
        parsed = ask_empty(llm, user, cand)
        r = env.world.ratings[user]
        expected = cand[np.argsort(-r[cand], kind="stable")[:5]]
        np.testing.assert_array_equal(parsed.items, expected)


def test_zero_alignment_follows_profile_and_popularity_only(env):
    llm = env.make_llm_user(alignment=0.0, popularity_bias=0.5, **EXACT)
    w = env.world
    cand = np.arange(30)
    for user in (1, 2, 3):
        score = w.user_likes[user, w.item_category] + 0.5 * w.item_popularity
        expected = np.argsort(-score, kind="stable")[:5]
        np.testing.assert_array_equal(ask_empty(llm, user, cand).items, expected)


def test_boredom_demotes_the_categories_already_shown(env):
    w = env.world
    llm = env.make_llm_user(alignment=1.0, temperature=0.0, hallucination_rate=0.0, boredom=5.0)
    user = 0
    best = int(np.argmax(w.ratings[user]))
    hist = np.array([30, 30, 30, 30, best])
    fb = np.array([0, 0, 0, 0, w.ratings[user, best]], np.float32)
    parsed = llm.ask(user, hist, fb, np.arange(30))
    assert not np.isin(w.item_category[parsed.items], w.item_category[best]).any()


def test_alignment_raises_the_true_rating_of_the_top_choice(env):
    users = env.world.train_users[:20]
    means = []
    for alignment in (0.0, 1.0):
        llm = env.make_llm_user(alignment=alignment, hallucination_rate=0.0)
        tops = [ask_empty(llm, int(u), np.arange(30)).items[0] for u in users]
        means.append(env.world.ratings[users, tops].mean())
    assert means[1] > means[0] + 0.5


def test_hallucinated_names_are_dropped_and_counted(env):
    llm = env.make_llm_user(alignment=0.5, hallucination_rate=0.6, temperature=0.0)
    total = 0
    for user in range(10):
        parsed = ask_empty(llm, user, np.arange(30))
        assert np.isin(parsed.items, np.arange(30)).all()
        total += parsed.n_unknown
    assert total > 0 and llm.stats["unknown_names"] == total


def test_answer_without_a_parseable_item_falls_back_to_the_most_popular_candidate(env):
    class Nonsense:
        def generate(self, prompt: str, seed: int) -> str:
            return "1. Golden Silk Cape #999999\n2. I am not sure."

    llm = env.make_llm_user(backend=Nonsense())
    cand = np.array([4, 9, 13])
    parsed = ask_empty(llm, 0, cand)
    assert parsed.fallback and parsed.n_unknown == 2  # both listed lines named no item
    assert parsed.items[0] == cand[np.argmax(env.world.item_popularity[cand])]
    assert llm.stats["fallbacks"] == 1


def test_parser_strips_markers_ignores_case_and_counts_off_list_names(env):
    names = env.world.item_names
    text = f"Sure!\n1) {names[3].upper()} - a warm choice\n- {names[5]} (great)\n* {names[3]}\n" \
           f"• {names[8]}\n2. Made Up Thing #77"
    parsed = parse_answer(text, env.world.name_to_id, candidates=[3, 5, 9])
    np.testing.assert_array_equal(parsed.items, [3, 5])
    assert parsed.n_off_list == 1 and parsed.n_unknown == 1 and not parsed.fallback
    with pytest.raises(ValueError, match="names no catalogue item"):
        parse_answer("nothing useful", env.world.name_to_id)


def test_the_agent_handle_exposes_no_ratings(env):
    llm = env.make_llm_user(alignment=1.0)
    assert not llm.catalogue.ratings.any()
    assert llm.catalogue.item_names[0] == env.world.item_names[0]
    assert np.isin(llm.sample_users(50, np.random.default_rng(0)), env.world.train_users).all()


def test_stub_knobs_are_validated(env):
    with pytest.raises(ValueError, match="alignment"):
        env.make_llm_user(alignment=1.5)
    with pytest.raises(ValueError, match="hallucination_rate"):
        env.make_llm_user(hallucination_rate=1.0)
    with pytest.raises(TypeError, match="generate"):
        env.make_llm_user(backend=object())


def test_real_backends_import_lazily_and_never_download():
    with pytest.raises(ValueError, match="http"):
        HTTPBackend("localhost:8000")
    if importlib.util.find_spec("transformers") is None:
        with pytest.raises(ImportError, match="transformers"):
            TransformersBackend("/nonexistent/model")


def test_an_endpoint_that_does_not_answer_is_named_with_the_fix():
    import socket

    with socket.socket() as s:  # a free loopback port, closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = HTTPBackend(f"http://127.0.0.1:{port}/generate", timeout=2.0)
    with pytest.raises(RuntimeError, match="did not answer.*stub backend"):
        backend.generate("hello", seed=0)
