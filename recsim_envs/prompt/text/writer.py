"""A small built-in prompt-to-sentence writer: movie blurbs from a query item and a prompt.

It stands in for a frozen language model in ``recsim_envs/PromptSentenceText-v0``. A query
is a movie given by three attributes (genre, mood, setting); a prompt is a (tone, aspect)
keyword pair such as "thrilling / the plot twists". The writer fills a fixed template of
slots; each slot picks a phrase at random, following the prompt or the query with a given
adherence and otherwise choosing freely, which stands for the sampling of a language
model. For example::

    this is a thrilling dark action movie set in outer space featuring the plot twists worth
    watching.

All sampling runs from one uniform number per slot (:meth:`TemplateWriter.draw_noise`),
vectorised over sentences, so sentences are reproducible from a seed and the native vector
environment can draw each user's randomness from its own generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recsim_envs.prompt.text.components import check_prompt_ids

GENRES: tuple[tuple[str, str], ...] = (
    ("action movie", "action film"),
    ("comedy", "comic film"),
    ("drama", "dramatic film"),
    ("horror movie", "horror film"),
    ("romance", "love story"),
    ("science fiction movie", "sci fi film"),
)
MOODS = ("dark", "uplifting", "tense", "whimsical", "melancholic")
SETTINGS = ("outer space", "a big city", "a quiet village", "the open ocean")
TONES = (
    "funny", "thrilling", "romantic", "heartwarming", "spooky", "epic", "quirky", "gritty",
    "dreamy", "suspenseful", "nostalgic", "bold", "gentle", "witty", "haunting", "stylish",
    "emotional", "clever", "wild", "calm",
)
ASPECTS = (
    "the characters", "the story", "the visuals", "the music", "the acting", "the dialogue",
    "the ending", "the setting", "the action scenes", "the humor", "the plot twists",
    "the cinematography", "the soundtrack", "the romance", "the villain", "the hero",
    "the pacing", "the atmosphere", "the costumes", "the special effects", "the script",
    "the themes", "the friendships", "the family drama", "the mystery",
)
OPENERS = ("a", "this is a", "here is a", "meet a", "discover a")
CONNECTORS = ("set in", "that takes place in", "unfolding in")
LINKS = ("featuring", "with", "known for", "celebrated for")
CLOSERS = ("worth watching", "you will love", "not to be missed", "for tonight",
           "for the weekend")

MAX_PROMPTS = len(TONES) * len(ASPECTS)
DIM_QUERY = len(GENRES) + len(MOODS) + len(SETTINGS)

# Slot kinds, in template order: (kind, phrases).
_SLOTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("free", OPENERS),
    ("tone", TONES),
    ("mood", MOODS),
    ("genre", tuple(p for pair in GENRES for p in pair)),
    ("free", CONNECTORS),
    ("setting", SETTINGS),
    ("free", LINKS),
    ("aspect", ASPECTS),
    ("free", CLOSERS),
)


@dataclass
class TemplateWriter:
    """Writes one blurb per (query, prompt) with stochastic word choice.

    Attributes:
        prompt_tone: (n_prompts,) tone index of each prompt.
        prompt_aspect: (n_prompts,) aspect index of each prompt.
        prompt_adherence: probability that a prompt slot uses the prompt's word (else any
            word of the slot, uniformly; the prompt's word included).
        query_adherence: the same for the query's mood and setting.
    """

    prompt_tone: np.ndarray
    prompt_aspect: np.ndarray
    prompt_adherence: float = 0.7
    query_adherence: float = 0.85
    slot_phrases: list[tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        self.prompt_tone = np.asarray(self.prompt_tone, dtype=np.int64)
        self.prompt_aspect = np.asarray(self.prompt_aspect, dtype=np.int64)
        for name in ("prompt_adherence", "query_adherence"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.slot_phrases = [phrases for _, phrases in _SLOTS]

    @property
    def n_prompts(self) -> int:
        return len(self.prompt_tone)

    @property
    def n_slots(self) -> int:
        return len(_SLOTS)

    def prompt_text(self, prompt_ids: np.ndarray | None = None) -> list[str]:
        """The prompt keywords, e.g. "thrilling, focus on the plot twists"."""
        ids = np.arange(self.n_prompts) if prompt_ids is None else np.asarray(prompt_ids)
        return [
            f"{TONES[self.prompt_tone[i]]}, focus on {ASPECTS[self.prompt_aspect[i]]}" for i in ids
        ]

    @staticmethod
    def parse_query(query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Multi-hot queries (n, 15) -> genre, mood and setting indices, each (n,)."""
        q = np.asarray(query, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != DIM_QUERY:
            raise ValueError(f"query must have shape (n, {DIM_QUERY}), got {q.shape}")
        g, m = len(GENRES), len(MOODS)
        return q[:, :g].argmax(1), q[:, g : g + m].argmax(1), q[:, g + m :].argmax(1)

    def draw_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """One uniform number per slot and sentence: (n, n_slots)."""
        return rng.random((n, self.n_slots))

    def choices(self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Phrase index per slot: (n, 15), (n,), (n, n_slots) uniforms -> (n, n_slots) int64."""
        genre, mood, setting = self.parse_query(query)
        ids = check_prompt_ids(prompt_ids, self.n_prompts, len(genre))
        u = np.asarray(noise, dtype=np.float64)
        if u.shape != (len(ids), self.n_slots):
            raise ValueError(f"noise must have shape ({len(ids)}, {self.n_slots}), got {u.shape}")
        out = np.empty(u.shape, dtype=np.int64)
        targets = {
            "tone": (self.prompt_tone[ids], self.prompt_adherence),
            "aspect": (self.prompt_aspect[ids], self.prompt_adherence),
            "mood": (mood, self.query_adherence),
            "setting": (setting, self.query_adherence),
        }
        for j, (kind, phrases) in enumerate(_SLOTS):  # loop over the 9 slots, not sentences
            n_c = len(phrases)
            if kind == "free":
                out[:, j] = np.minimum((u[:, j] * n_c).astype(np.int64), n_c - 1)
            elif kind == "genre":
                out[:, j] = 2 * genre + (u[:, j] >= 0.5)
            else:
                target, alpha = targets[kind]
                free = np.minimum(
                    ((u[:, j] - alpha) / max(1.0 - alpha, 1e-12) * n_c).astype(np.int64), n_c - 1
                )
                out[:, j] = np.where(u[:, j] < alpha, target, np.maximum(free, 0))
        return out

    def render(self, choices: np.ndarray) -> list[str]:
        """Phrase indices (n, n_slots) -> the sentences."""
        return [
            " ".join(self.slot_phrases[j][c] for j, c in enumerate(row)) + "."
            for row in np.asarray(choices)
        ]


def make_writer(
    n_prompts: int,
    rng: np.random.Generator,
    prompt_adherence: float = 0.7,
    query_adherence: float = 0.85,
) -> TemplateWriter:
    """A writer with ``n_prompts`` distinct (tone, aspect) prompts drawn from ``rng``."""
    if not 1 <= n_prompts <= MAX_PROMPTS:
        raise ValueError(
            f"the built-in writer has {MAX_PROMPTS} distinct (tone, aspect) prompts; "
            f"got n_prompts={n_prompts}"
        )
    pick = rng.choice(MAX_PROMPTS, size=n_prompts, replace=False)
    return TemplateWriter(
        prompt_tone=pick // len(ASPECTS),
        prompt_aspect=pick % len(ASPECTS),
        prompt_adherence=prompt_adherence,
        query_adherence=query_adherence,
    )
