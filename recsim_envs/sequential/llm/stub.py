"""A stub with a language model's interface: a simulated user who states preferences in text.

Design (ours; the iALP paper used Mistral 7B, see ``docs/sequential.md``): the stub reads a
prompt (state text + candidate list,
:func:`~recsim_envs.sequential.llm.prompt.build_prompt`), scores
each candidate the way a language model reasoning over the profile might, and answers
with item names, best first. Per candidate j for user u with recent items H:

    heuristic_j = w_history * affinity(j, liked items of H)        # attribute overlap
                - w_history * 0.5 * affinity(j, disliked items of H)
                + w_profile * [category_j in u's stated likes]
                + popularity_bias * popularity_j
    truth_j     = (rating[u, j] - 3) / 1.2                         # the true preference
    score_j     = (1 - alignment) * heuristic_j + alignment * truth_j
                - boredom * (count of category_j in H + 2 * [j in H])
    answer      = top n of score_j + temperature * Gumbel noise

``alignment`` in [0, 1] simulates how well a language model's stated preferences reflect
the user's real tastes: 0 = profile/history heuristics only, 1 = the true ratings (plus
common-sense boredom). It is the only path by which the true rating matrix reaches an
offline learner. Each named item is replaced by a made-up name (not in the catalogue)
with probability ``hallucination_rate``. The noise is drawn from a generator seeded by a
hash of (prompt, seed), so the same prompt and seed give the same answer; answers are
also cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsim_envs.sequential.llm.backend import LLMBackend
from recsim_envs.sequential.llm.parse import ParsedAnswer, parse_answer
from recsim_envs.sequential.llm.prompt import build_prompt, parse_prompt_candidates
from recsim_envs.sequential.text_env import parse_state_text, state_text
from recsim_envs.sequential.world import CATEGORIES, COLOURS, MATERIALS, SequentialWorld

_FAKE_WORDS = ("Golden", "Silk", "Velvet", "Cape", "Poncho", "Tunic", "Moonlight", "Vintage")


@dataclass
class StubConfig:
    """Knobs of :class:`LLMUserStub` (see the module docstring for the score).

    Attributes:
        alignment: weight of the true ratings in [0, 1].
        hallucination_rate: probability that a named item is a made-up name, in [0, 1).
        popularity_bias: weight of public popularity (>= 0).
        temperature: scale of the Gumbel noise (>= 0; 0 = deterministic ranking).
        boredom: penalty on categories and items already in the history (>= 0).
        w_history, w_profile: weights of history affinity and of the stated likes.
        cache_size: answers kept before the cache is cleared.
    """

    alignment: float = 0.5
    hallucination_rate: float = 0.05
    popularity_bias: float = 0.5
    temperature: float = 0.3
    boredom: float = 0.6
    w_history: float = 1.0
    w_profile: float = 1.0
    cache_size: int = 200_000

    def __post_init__(self) -> None:
        if not 0.0 <= self.alignment <= 1.0:
            raise ValueError(f"alignment must be in [0, 1], got {self.alignment}")
        if not 0.0 <= self.hallucination_rate < 1.0:
            raise ValueError(f"hallucination_rate must be in [0, 1), got {self.hallucination_rate}")
        for name in ("popularity_bias", "temperature", "boredom", "w_history", "w_profile"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {self.cache_size}")


class LLMUserStub:
    """The default :class:`~recsim_envs.sequential.llm.backend.LLMBackend`: text in, text out.

    Built by ``env.unwrapped.make_llm_user(...)``; holds the world (true ratings
    included, for ``alignment``). Agents talk to it only through :class:`LLMUser`.
    """

    def __init__(self, world: SequentialWorld, config: StubConfig) -> None:
        self._world = world
        self.config = config
        attrs = np.stack([world.item_category, world.item_colour, world.item_material], 1)
        self._attrs = attrs  # (n_items, 3)

    def generate(self, prompt: str, seed: int) -> str:
        """Answer ``prompt`` with up to n item names, one per line, best first."""
        w, c = self._world, self.config
        names, n_answer = parse_prompt_candidates(prompt)
        cand = np.array([j for j in (w.name_to_id.get(n.lower()) for n in names)
                         if j is not None], np.int64)
        if cand.size == 0:
            return "I cannot tell which items this user would like."
        user, hist, fb = parse_state_text(prompt, w)
        hist_a = np.asarray(hist, np.int64)
        fb_a = np.asarray(fb, np.float64)
        # Attribute overlap: same category counts 1, same colour or material 0.5 each.
        def affinity(items: np.ndarray) -> np.ndarray:
            if items.size == 0:
                return np.zeros(cand.size)
            same = self._attrs[cand][:, None, :] == self._attrs[items][None, :, :]
            return (same @ np.array([1.0, 0.5, 0.5])).mean(axis=1)

        heur = c.w_history * (affinity(hist_a[fb_a >= 4]) - 0.5 * affinity(hist_a[fb_a <= 2]))
        if user is not None:
            heur = heur + c.w_profile * w.user_likes[user, w.item_category[cand]]
            truth = (w.ratings[user, cand] - 3.0) / 1.2
        else:  # an anonymous profile: no truth to mix in
            truth = np.zeros(cand.size)
        heur = heur + c.popularity_bias * w.item_popularity[cand]
        score = (1 - c.alignment) * heur + c.alignment * truth
        if hist_a.size:
            cat_count = (w.item_category[cand][:, None] == w.item_category[hist_a][None]).sum(1)
            seen = (cand[:, None] == hist_a[None]).any(1)
            score = score - c.boredom * (cat_count + 2.0 * seen)
        rng = np.random.default_rng(_prompt_seed(prompt, seed))
        if c.temperature > 0:
            score = score + c.temperature * rng.gumbel(size=cand.size)
        top = cand[np.argsort(-score, kind="stable")[:n_answer]]
        fake = rng.random(top.size) < c.hallucination_rate
        lines = ["Based on the profile and history, this user would most like:"]
        for i, (j, f) in enumerate(zip(top, fake, strict=True), start=1):
            name = (f"{_FAKE_WORDS[rng.integers(len(_FAKE_WORDS))]} "
                    f"{_FAKE_WORDS[rng.integers(len(_FAKE_WORDS))]} "
                    f"{CATEGORIES[rng.integers(len(CATEGORIES))].title()} "
                    f"#{int(rng.integers(10**5, 10**6))}") if f else str(w.item_names[j])
            lines.append(f"{i}. {name}")
        return "\n".join(lines)


def _prompt_seed(prompt: str, seed: int) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{prompt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _public_view(world: SequentialWorld) -> SequentialWorld:
    # The same world without the private ratings (a zero-memory broadcast of zeros).
    zeros = np.broadcast_to(np.float32(0), world.ratings.shape)
    return dataclasses.replace(world, ratings=zeros)


@dataclass
class LLMUser:
    """What an agent gets: a text backend plus the public catalogue, prompts and parsing.

    Attributes:
        catalogue: the world without its ratings (names, attributes, popularity, users).
        backend: the stub by default, or any :class:`LLMBackend`.
        n_answer: how many items a prompt asks for.
        stats: counters - ``calls``, ``cache_hits``, ``unknown_names`` (hallucinated or
            garbled lines), ``fallbacks`` (answers with no parseable candidate).
    """

    catalogue: SequentialWorld
    backend: Any
    n_answer: int = 5
    stats: dict[str, int] = field(default_factory=lambda: {
        "calls": 0, "cache_hits": 0, "unknown_names": 0, "fallbacks": 0})
    _cache: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_world(cls, world: SequentialWorld, config: StubConfig | None = None,
                   backend: LLMBackend | None = None, n_answer: int = 5) -> LLMUser:
        """The stub for ``world`` (or ``backend`` instead of it)."""
        if backend is None:
            backend = LLMUserStub(world, config or StubConfig())
        elif not isinstance(backend, LLMBackend):
            raise TypeError(f"backend must have generate(prompt, seed), got {type(backend)}")
        return cls(catalogue=_public_view(world), backend=backend, n_answer=n_answer)

    @property
    def n_items(self) -> int:
        return self.catalogue.n_items

    def describe_state(self, user: int, items: np.ndarray, feedback: np.ndarray) -> str:
        """:func:`~recsim_envs.sequential.text_env.state_text` for a user and history."""
        return state_text(self.catalogue, user, items, feedback)

    def build_prompt(self, state: str, candidates: np.ndarray) -> str:
        texts = [self.catalogue.describe_item(int(j)) for j in np.asarray(candidates).ravel()]
        return build_prompt(state, texts, self.n_answer)

    def generate(self, prompt: str, seed: int = 0) -> str:
        """The backend's answer, cached by (prompt, seed)."""
        self.stats["calls"] += 1
        key = (prompt, int(seed))
        hit = self._cache.get(key)
        if hit is not None:
            self.stats["cache_hits"] += 1
            return hit
        text = self.backend.generate(prompt, int(seed))
        cache_size = getattr(getattr(self.backend, "config", None), "cache_size", 200_000)
        if len(self._cache) >= cache_size:
            self._cache.clear()
        self._cache[key] = text
        return text

    def parse(self, answer: str, candidates: np.ndarray) -> ParsedAnswer:
        """Item ids named in ``answer`` among ``candidates`` (fallback: most popular)."""
        parsed = parse_answer(answer, self.catalogue.name_to_id, candidates,
                              self.catalogue.item_popularity)
        self.stats["unknown_names"] += parsed.n_unknown
        self.stats["fallbacks"] += int(parsed.fallback)
        return parsed

    def ask(self, user: int, items: np.ndarray, feedback: np.ndarray, candidates: np.ndarray,
            seed: int = 0) -> ParsedAnswer:
        """Describe the state, prompt the model with the candidates and parse its answer."""
        prompt = self.build_prompt(self.describe_state(user, items, feedback), candidates)
        return self.parse(self.generate(prompt, seed), candidates)

    def sample_users(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n,) training-user ids to imagine sessions for (held-out users are never used)."""
        train = self.catalogue.train_users
        return train[rng.integers(len(train), size=n)]

    def user_features(self, users: np.ndarray) -> np.ndarray:
        """(n, d_u) public features of ``users``."""
        return self.catalogue.user_features()[np.asarray(users)]


__all__ = ["COLOURS", "MATERIALS", "LLMUser", "LLMUserStub", "StubConfig"]
