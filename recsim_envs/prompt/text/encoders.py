"""Sentence encoders (text -> embedding) and the generator handle that couples writer and encoder.

* :class:`HashedNGramEncoder` (default, ships in the package, no download): signed hashed
  word unigrams, word bigrams and character trigrams, projected by a fixed seeded Gaussian
  matrix and L2-normalised (the hashing trick of Weinberger et al., 2009, with a random
  projection).
* :class:`SentenceTransformerEncoder` (optional): a pretrained ``sentence-transformers``
  model loaded from a local path; imported lazily, never downloads.
* :class:`TextEmbeddingGenerator`: the frozen system (writer + encoder) behind the
  :class:`~recsim_envs.prompt.text.components.EmbeddingGenerator` protocol that DSO trains with.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")


@runtime_checkable
class SentenceEncoder(Protocol):
    """Text -> fixed-width embeddings."""

    dim: int

    def encode(self, sentences: list[str]) -> np.ndarray:
        """n sentences -> (n, dim) float embeddings."""
        ...


def tokenize(sentence: str) -> list[str]:
    """Lower-case alphanumeric tokens; punctuation separates tokens and is dropped."""
    return _TOKEN.findall(sentence.lower())


@dataclass
class HashedNGramEncoder:
    """Hashed n-gram features with a fixed random projection, L2-normalised.

    feature(sentence) = sum over its n-grams g of weight(g) * sign(g) * P[bucket(g)], with
    bucket and sign from CRC-32 (stable across processes, unlike ``hash``), P an
    (n_buckets, dim) Gaussian matrix drawn from ``seed``; the embedding is feature / ||feature||.

    Attributes:
        dim: embedding width.
        n_buckets: hash buckets.
        seed: seeds the projection.
        char_weight: weight of character trigrams relative to words (they make words that
            share stems close).
    """

    dim: int = 32
    n_buckets: int = 1 << 14
    seed: int = 0
    char_weight: float = 0.3
    _proj: np.ndarray = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dim < 1 or self.n_buckets < 1:
            raise ValueError("dim and n_buckets must be >= 1")
        rng = np.random.default_rng(self.seed)
        self._proj = rng.standard_normal((self.n_buckets, self.dim)) / np.sqrt(self.dim)
        self._cache = {}

    def _vec(self, feature: str) -> np.ndarray:
        h = zlib.crc32(feature.encode())
        sign = 1.0 if (h >> 31) & 1 else -1.0
        return sign * self._proj[h % self.n_buckets]

    def _token_vec(self, token: str) -> np.ndarray:
        """Unigram plus its character trigrams (of "<token>"), cached."""
        v = self._cache.get(token)
        if v is None:
            padded = f"<{token}>"
            v = self._vec("w:" + token)
            for i in range(len(padded) - 2):
                v = v + self.char_weight * self._vec("c:" + padded[i : i + 3])
            self._cache[token] = v
        return v

    def _bigram_vec(self, a: str, b: str) -> np.ndarray:
        return self._vec(f"b:{a} {b}")

    def raw_tokens(self, tokens: list[str]) -> np.ndarray:
        """Unnormalised feature of a token list, (dim,)."""
        v = np.zeros(self.dim)
        for t in tokens:
            v = v + self._token_vec(t)
        for a, b in zip(tokens[:-1], tokens[1:], strict=True):
            v = v + self._bigram_vec(a, b)
        return v

    def encode(self, sentences: list[str]) -> np.ndarray:
        """n sentences -> (n, dim) unit vectors (a zero vector for a sentence without tokens)."""
        if isinstance(sentences, str):
            raise TypeError("encode takes a list of sentences, not a single string")
        raw = np.array([self.raw_tokens(tokenize(s)) for s in sentences]).reshape(-1, self.dim)
        return _normalise(raw)

    # ------------------------------------------------------------ fast path for templates
    def slot_tables(self, slot_phrases: list[tuple[str, ...]]):
        """Per-slot phrase features and cross-slot bigram features of a template.

        Returns (own, cross): own[j] is (C_j, dim), the unigram, trigram and inner-bigram
        features of each phrase of slot j; cross[j] is (C_j, C_{j+1}, dim), the bigram
        of the last word of a slot-j phrase and the first word of a slot-(j+1) phrase. A
        sentence's raw feature is the sum of its phrases' ``own`` and the ``cross`` terms
        between neighbours: exactly :meth:`raw_tokens` of the joined text.
        """
        key = tuple(slot_phrases)
        cached = self._cache.get(("__slots__", key))
        if cached is not None:
            return cached
        toks = [[tokenize(p) for p in phrases] for phrases in slot_phrases]
        if any(not t for slot in toks for t in slot):
            raise ValueError("every template phrase needs at least one word")
        own = [np.array([self.raw_tokens(t) for t in slot]) for slot in toks]
        cross = [
            np.array([[self._bigram_vec(a[-1], b[0]) for b in toks[j + 1]] for a in toks[j]])
            for j in range(len(toks) - 1)
        ]
        self._cache[("__slots__", key)] = (own, cross)
        return own, cross

    def encode_choices(
        self, slot_phrases: list[tuple[str, ...]], choices: np.ndarray
    ) -> np.ndarray:
        """Embeddings of template sentences given phrase indices (n, n_slots) -> (n, dim).

        Vectorised equivalent of ``encode(render(choices))``: gathers from
        :meth:`slot_tables` instead of hashing strings sentence by sentence.
        """
        own, cross = self.slot_tables(slot_phrases)
        pair = self._pair_tables(slot_phrases, own, cross)
        c = np.asarray(choices, dtype=np.int64)
        raw = np.take(own[0], c[:, 0], axis=0)
        for j in range(1, c.shape[1]):  # loop over slots, vectorised over sentences
            # one gather per slot: phrase j's own features plus its bigram with phrase j - 1
            raw += np.take(pair[j - 1], c[:, j - 1] * len(own[j]) + c[:, j], axis=0)
        return _normalise(raw)

    def _pair_tables(self, slot_phrases, own, cross) -> list[np.ndarray]:
        key = ("__pairs__", tuple(slot_phrases))
        pair = self._cache.get(key)
        if pair is None:
            pair = [
                (cross[j] + own[j + 1][None, :, :]).reshape(-1, self.dim)
                for j in range(len(cross))
            ]
            self._cache[key] = pair
        return pair


def _normalise(raw: np.ndarray) -> np.ndarray:
    norm = np.sqrt((raw * raw).sum(axis=1, keepdims=True))
    return raw / np.where(norm > 0, norm, 1.0)


class SentenceTransformerEncoder:
    """A pretrained ``sentence-transformers`` model from a local directory (optional extra).

    Args:
        model_path: a local model directory (nothing is downloaded).
        device: torch device for the model ("cpu" by default).
        batch_size: sentences per forward pass.

    Raises:
        ImportError: if ``sentence-transformers`` is not installed.
        FileNotFoundError: if ``model_path`` is not an existing directory.
    """

    def __init__(self, model_path: str | Path, device: str = "cpu", batch_size: int = 64):
        path = Path(model_path)
        if not path.is_dir():
            raise FileNotFoundError(
                f"no sentence-transformers model at {path}: download one once (for example "
                "all-MiniLM-L6-v2) and pass its local directory; recsim_envs never downloads"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(
                "SentenceTransformerEncoder needs the optional package sentence-transformers "
                "(pip install sentence-transformers); the default HashedNGramEncoder needs "
                "nothing"
            ) from exc
        self.model_path = str(path)
        self.batch_size = batch_size
        self.model = SentenceTransformer(self.model_path, device=device)
        self.dim = int(self.model.get_sentence_embedding_dimension())

    def encode(self, sentences: list[str]) -> np.ndarray:
        out = self.model.encode(
            list(sentences), batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float64)


@dataclass
class TextEmbeddingGenerator:
    """The frozen system of the text environment: a writer and an encoder.

    Implements :class:`~recsim_envs.prompt.text.components.EmbeddingGenerator`; this is the handle
    a DSO harness passes to ``fit(dataset, generator=...)``. It holds no reward model.
    """

    writer: object
    encoder: object

    @property
    def n_prompts(self) -> int:
        return self.writer.n_prompts

    @property
    def dim_query(self) -> int:
        from recsim_envs.prompt.text.writer import DIM_QUERY

        return DIM_QUERY

    @property
    def dim_sentence(self) -> int:
        return int(self.encoder.dim)

    def draw_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.writer.draw_noise(n, rng)

    def write(
        self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray, with_text: bool
    ) -> tuple[np.ndarray, list[str] | None]:
        """Embeddings (n, dim) and, if ``with_text``, the sentences, for given noise."""
        choices = self.writer.choices(query, prompt_ids, noise)
        text = self.writer.render(choices) if with_text else None
        if isinstance(self.encoder, HashedNGramEncoder) and hasattr(self.writer, "slot_phrases"):
            emb = self.encoder.encode_choices(self.writer.slot_phrases, choices)
        else:
            emb = np.asarray(self.encoder.encode(text or self.writer.render(choices)))
        return emb, text

    def from_noise(
        self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray
    ) -> np.ndarray:
        return self.write(query, prompt_ids, noise, with_text=False)[0]

    def generate(
        self, query: np.ndarray, prompt_ids: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Write and embed one sentence per row: (n, 15), (n,) -> (n, dim)."""
        noise = self.draw_noise(len(np.atleast_1d(prompt_ids)), rng)
        return self.from_noise(query, prompt_ids, noise)
