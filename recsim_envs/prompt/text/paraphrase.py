"""A writer whose prompts are paraphrases: many prompt texts share one effect on the sentence.

This is the writer of the *paraphrase* text world (``recsim_envs/PromptSentenceParaphrase-v0``),
built to be a fair test of DSO (Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with
Logged Bandit Data", arXiv 2504.02646, 2025): the paper's setting has many prompts, many of
which write similar sentences, and prompt features that do not give the prompt's effect away.

* An *intent* is a (tone, aspect, style) triple. The style fixes the opener, the connector,
  the genre synonym, the link and the closer of the template, so an intent steers seven of
  the nine slots (with probability ``prompt_adherence`` each; otherwise the slot's word is
  drawn freely) and the query the other two (mood and setting, with ``query_adherence``):
  the prompt moves a large but stochastic share of the sentence.
* A *prompt* is one paraphrase of an intent: its text uses a synonym of the tone, a synonym of
  the aspect, a synonym of the style and one of four instruction frames, e.g. "make it
  gripping and snappy, focus on the surprises". Paraphrases of one intent write sentences
  from exactly the same distribution; their texts share few words, so the encoder's
  embedding of the prompt text (what the deployed system knows about a prompt) predicts the
  effect poorly.

Sentences use the slots of :mod:`recsim_envs.prompt.text.writer` (same phrases), so the hashed
encoder's vectorised path applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recsim_envs.prompt.text.components import check_prompt_ids
from recsim_envs.prompt.text.writer import (
    _SLOTS,
    ASPECTS,
    CLOSERS,
    CONNECTORS,
    DIM_QUERY,
    LINKS,
    OPENERS,
    TONES,
    TemplateWriter,
)

TONE_SYNONYMS: tuple[tuple[str, str, str], ...] = (
    ("hilarious", "amusing", "comical"), ("exciting", "gripping", "electrifying"),
    ("amorous", "tender", "passionate"), ("touching", "moving", "sweet"),
    ("creepy", "eerie", "chilling"), ("grand", "sweeping", "monumental"),
    ("offbeat", "eccentric", "peculiar"), ("raw", "harsh", "unflinching"),
    ("ethereal", "surreal", "hazy"), ("edgy", "taut", "nervy"),
    ("wistful", "retro", "sentimental"), ("daring", "audacious", "fearless"),
    ("soft", "mild", "soothing"), ("sharp", "droll", "wry"),
    ("lingering", "ghostly", "unsettling"), ("sleek", "chic", "elegant"),
    ("tearful", "heartfelt", "poignant"), ("smart", "ingenious", "brainy"),
    ("frantic", "unruly", "crazy"), ("serene", "tranquil", "peaceful"),
)
ASPECT_SYNONYMS: tuple[tuple[str, str, str], ...] = (
    ("the cast", "the people", "the personalities"),
    ("the narrative", "the tale", "the storyline"),
    ("the imagery", "the look", "the images"),
    ("the score", "the songs", "the melodies"),
    ("the performances", "the actors", "the portrayals"),
    ("the lines", "the conversations", "the banter"),
    ("the finale", "the conclusion", "the last act"),
    ("the location", "the world", "the backdrop"),
    ("the fights", "the stunts", "the chases"),
    ("the jokes", "the gags", "the laughs"),
    ("the surprises", "the reversals", "the turns"),
    ("the camera work", "the photography", "the shots"),
    ("the tunes", "the album", "the sound"),
    ("the love affair", "the courtship", "the relationship"),
    ("the antagonist", "the bad guy", "the nemesis"),
    ("the protagonist", "the lead", "the champion"),
    ("the rhythm", "the tempo", "the flow"),
    ("the mood", "the ambience", "the vibe"),
    ("the outfits", "the wardrobe", "the clothing"),
    ("the effects", "the cgi", "the illusions"),
    ("the screenplay", "the writing", "the text"),
    ("the ideas", "the messages", "the meaning"),
    ("the bonds", "the companionship", "the buddies"),
    ("the family ties", "the relatives", "the household"),
    ("the puzzle", "the riddle", "the secrets"),
)
STYLE_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("relaxed", "informal"), ("polished", "proper"), ("snappy", "brisk"),
    ("friendly", "cosy"), ("cheeky", "playful"),
)
FRAMES = (
    "write a {tone} blurb about {aspect} in a {style} voice",
    "{aspect}, {tone}, {style}",
    "make it {tone} and {style}, focus on {aspect}",
    "a {style} {tone} pitch stressing {aspect}",
)
N_STYLES = len(STYLE_SYNONYMS)
N_PARAPHRASES_MAX = 3 * 3 * 2 * len(FRAMES)
"""Distinct texts per intent (tone synonym x aspect synonym x style synonym x frame)."""
N_INTENTS_MAX = len(TONES) * len(ASPECTS) * N_STYLES

# Slot positions in the template of recsim_envs.prompt.text.writer, and what a style sets there.
_SLOT = {kind_pos: j for j, kind_pos in enumerate(
    ("opener", "tone", "mood", "genre", "connector", "setting", "link", "aspect", "closer"))}
_STYLE_SLOTS = ("opener", "connector", "link", "closer")
_STYLE_PHRASES = np.array(
    [[k % len(OPENERS), k % len(CONNECTORS), k % len(LINKS), k % len(CLOSERS)]
     for k in range(N_STYLES)]
)  # (n_styles, 4): opener, connector, link and closer index of each style


@dataclass
class ParaphraseWriter(TemplateWriter):
    """Writes blurbs where each prompt is a paraphrase of one (tone, aspect, style) intent.

    Attributes (besides :class:`~recsim_envs.prompt.text.writer.TemplateWriter`'s, whose
    ``prompt_tone`` and ``prompt_aspect`` are per prompt here too):
        prompt_style: (n_prompts,) style index of each prompt's intent.
        prompt_group: (n_prompts,) intent index of each prompt; prompts of one group write
            from the same distribution.
        prompt_words: (n_prompts, 4) paraphrase choice: tone synonym, aspect synonym, style
            synonym, frame.
    """

    prompt_style: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    prompt_group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    prompt_words: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.int64))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.prompt_style = np.asarray(self.prompt_style, dtype=np.int64)
        self.prompt_group = np.asarray(self.prompt_group, dtype=np.int64)
        self.prompt_words = np.asarray(self.prompt_words, dtype=np.int64).reshape(-1, 4)
        n = self.n_prompts
        if not (len(self.prompt_style) == len(self.prompt_group) == len(self.prompt_words) == n):
            raise ValueError("prompt_tone, prompt_aspect, prompt_style, prompt_group and "
                             "prompt_words must have one entry per prompt")

    @property
    def n_groups(self) -> int:
        return int(self.prompt_group.max()) + 1 if self.n_prompts else 0

    def prompt_text(self, prompt_ids: np.ndarray | None = None) -> list[str]:
        """The paraphrase texts, e.g. "make it gripping and snappy, focus on the surprises"."""
        ids = np.arange(self.n_prompts) if prompt_ids is None else np.asarray(prompt_ids)
        out = []
        for i in ids:
            t, a, s, f = self.prompt_words[i]
            out.append(FRAMES[f].format(
                tone=TONE_SYNONYMS[self.prompt_tone[i]][t],
                aspect=ASPECT_SYNONYMS[self.prompt_aspect[i]][a],
                style=STYLE_SYNONYMS[self.prompt_style[i]][s]))
        return out

    def choices(self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Phrase index per slot: (n, 15), (n,), (n, n_slots) uniforms -> (n, n_slots) int64.

        As :meth:`TemplateWriter.choices`, and the style's opener, connector, genre synonym,
        link and closer replace the free choice of those slots with probability
        ``prompt_adherence``.
        """
        out = super().choices(query, prompt_ids, noise)
        ids = check_prompt_ids(prompt_ids, self.n_prompts, len(out))
        u = np.asarray(noise, dtype=np.float64)
        alpha = self.prompt_adherence
        style = _STYLE_PHRASES[self.prompt_style[ids]]  # (n, 4)
        # genre synonym: the style's parity picks it (free in the keywords world)
        j = _SLOT["genre"]
        free = (u[:, j] - alpha) / max(1.0 - alpha, 1e-12) >= 0.5
        out[:, j] = out[:, j] - out[:, j] % 2 + np.where(u[:, j] < alpha,
                                                         self.prompt_style[ids] % 2, free)
        for k, slot in enumerate(_STYLE_SLOTS):  # 4 slots, vectorised over n
            j = _SLOT[slot]
            n_c = len(_SLOTS[j][1])
            free = np.minimum(((u[:, j] - alpha) / max(1.0 - alpha, 1e-12) * n_c).astype(np.int64),
                              n_c - 1)
            out[:, j] = np.where(u[:, j] < alpha, style[:, k], np.maximum(free, 0))
        return out


def make_paraphrase_writer(
    n_prompts: int,
    rng: np.random.Generator,
    n_paraphrases: int = 10,
    prompt_adherence: float = 0.8,
    query_adherence: float = 0.85,
) -> ParaphraseWriter:
    """``n_prompts`` prompts: round(n_prompts / n_paraphrases) intents drawn from ``rng``,
    each with about ``n_paraphrases`` distinct paraphrase texts; prompt order is shuffled."""
    if not 1 <= n_paraphrases <= N_PARAPHRASES_MAX:
        raise ValueError(f"n_paraphrases must be between 1 and {N_PARAPHRASES_MAX}, got "
                         f"{n_paraphrases}")
    n_groups = max(1, int(round(n_prompts / n_paraphrases)))
    if n_groups > N_INTENTS_MAX or n_prompts > n_groups * N_PARAPHRASES_MAX:
        raise ValueError(f"n_prompts={n_prompts} with n_paraphrases={n_paraphrases} needs "
                         f"{n_groups} intents of at most {N_PARAPHRASES_MAX} paraphrases; the "
                         f"writer has {N_INTENTS_MAX} intents")
    intents = rng.choice(N_INTENTS_MAX, size=n_groups, replace=False)
    group = rng.permutation(np.arange(n_prompts) % n_groups)  # group sizes differ by <= 1
    # Distinct paraphrases within a group: rank of each prompt in its group picks one of the
    # group's shuffled paraphrase codes.
    rank = np.empty(n_prompts, dtype=np.int64)
    for g in range(n_groups):  # loop over intents (at most a few hundred)
        members = np.flatnonzero(group == g)
        rank[members] = rng.permutation(N_PARAPHRASES_MAX)[: len(members)]
    words = np.stack(np.unravel_index(rank, (3, 3, 2, len(FRAMES))), axis=1)
    tone, rest = np.divmod(intents[group], len(ASPECTS) * N_STYLES)
    aspect, style = np.divmod(rest, N_STYLES)
    return ParaphraseWriter(
        prompt_tone=tone, prompt_aspect=aspect, prompt_adherence=prompt_adherence,
        query_adherence=query_adherence, prompt_style=style, prompt_group=group,
        prompt_words=words,
    )


PARAPHRASE_FEATURE_SIGNAL = 0.4
"""Default ``prompt_feature_signal`` of the paraphrase world: chosen so that a linear
classifier reads a prompt's intent from its features at most 10 points above chance
(measured in docs/prompt.md, "Is the world a fair test of DSO?")."""


def blend_prompt_features(text: np.ndarray, signal: float,
                          rng: np.random.Generator) -> np.ndarray:
    """Prompt features that only partly reflect a prompt's text.

    ``signal * t_a + sqrt(1 - signal^2) * g_a`` per prompt a, with t_a the text's embedding
    scaled to unit norm and g_a a random unit vector from ``rng``: text (n_prompts, d) ->
    (n_prompts, d). In the paper's LLM setting the system embeds prompt texts with a
    sentence encoder that says little about what the language model will write; the
    paraphrases here share synonyms, so the text alone would give the intent away to any
    classifier. ``signal`` = 1 returns the unit-norm text embeddings, 0 random features.
    """
    text = np.asarray(text, dtype=np.float64)
    t = text / np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)
    g = rng.standard_normal(t.shape)
    g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return signal * t + np.sqrt(max(1.0 - signal**2, 0.0)) * g


__all__ = ["DIM_QUERY", "PARAPHRASE_FEATURE_SIGNAL", "ParaphraseWriter", "blend_prompt_features",
           "make_paraphrase_writer"]
