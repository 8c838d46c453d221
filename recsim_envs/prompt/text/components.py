"""Protocols and the synthetic components of the prompt-to-sentence loop.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5 (synthetic benchmark) and the authors' OfflinePrompts code.

The frozen generator maps (query q, prompt a) to a sentence; the simulated user rewards the
sentence. Only the generator is part of the deployed system: an off-policy learner such as
DSO may call :meth:`EmbeddingGenerator.generate` during training, while the user's
:class:`SentenceReward` stays private to the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EmbeddingGenerator(Protocol):
    """A frozen sentence generator seen through its sentence encoder.

    Attributes:
        n_prompts: number of candidate prompts; prompt ids lie in ``[0, n_prompts)``.
        dim_query: width of the query features it reads.
        dim_sentence: width of the sentence embeddings it returns.
    """

    n_prompts: int
    dim_query: int
    dim_sentence: int

    def generate(
        self, query: np.ndarray, prompt_ids: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Write one sentence per row and embed it.

        Args:
            query: (n, dim_query) query features.
            prompt_ids: (n,) integer prompt ids.
            rng: source of the sampling randomness of the language model.

        Returns:
            (n, dim_sentence) float64 sentence embeddings.
        """
        ...


@runtime_checkable
class SentenceReward(Protocol):
    """The simulated user's expected reward for a sentence: E[r | x, q, s]."""

    dim_user: int
    dim_query: int
    dim_sentence: int

    def expected(self, user: np.ndarray, query: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        """(n, dim_user), (n, dim_query), (n, dim_sentence) -> (n,) expected rewards."""
        ...


def small_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a short inner dimension, summed in a fixed order.

    (n, k) x (k, m) -> (n, m). BLAS picks different kernels (and so different rounding)
    for one row and for many; summing over ``k`` explicitly makes row i of a batch
    bit-identical to the same row computed alone, which the native vector environments
    need to agree element-wise with single environments.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = a[:, :1] * b[0]
    for j in range(1, a.shape[1]):
        out = out + a[:, j : j + 1] * b[j]
    return out


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products of (n, k) and (n, k) -> (n,), in a fixed summation order."""
    prod = np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)
    out = prod[:, 0].copy()
    for j in range(1, prod.shape[1]):
        out += prod[:, j]
    return out


def check_prompt_ids(
    prompt_ids: np.ndarray, n_prompts: int, n_rows: int | None = None
) -> np.ndarray:
    """Validate prompt ids: integers in ``[0, n_prompts)``; returns them as (n,) int64."""
    arr = np.asarray(prompt_ids)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(f"prompt ids must be a 1-D array, got shape {arr.shape}")
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("prompt ids must be whole numbers (integer prompt indices)")
    elif arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"prompt ids must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_prompts):
        bad = int(arr[(arr < 0) | (arr >= n_prompts)][0])
        raise ValueError(
            f"unknown prompt index {bad}: prompts are numbered 0..{n_prompts - 1} "
            f"(n_prompts={n_prompts})"
        )
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(f"got {arr.shape[0]} prompt ids for {n_rows} queries")
    return arr


def _check_query(query: np.ndarray, dim_query: int) -> np.ndarray:
    q = np.asarray(query, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != dim_query:
        raise ValueError(f"query must have shape (n, {dim_query}), got {q.shape}")
    return q


@dataclass
class GaussianSentenceGenerator:
    """The synthetic frozen generator of the DSO benchmark.

    Sentence embedding ``o = c * (q M + amplitude * sin(e_a N)) + noise_std * eps`` with
    ``eps ~ N(0, I)``; the noise stands for sampling from a language model. ``c = 1`` is the
    paper's model; ``c = 2`` reproduces the published code, which adds the mean twice.

    Attributes:
        query_weights: M, (d_q, d_s).
        prompt_weights: N, (d_p, d_s).
        prompt_embeddings: e, (n_prompts, d_p); known to the deployed system.
        noise_std: standard deviation of the sampling noise.
        amplitude: the factor in front of the sine (5 in the paper).
        repeat: c above (1 or 2).
    """

    query_weights: np.ndarray
    prompt_weights: np.ndarray
    prompt_embeddings: np.ndarray
    noise_std: float = 1.0
    amplitude: float = 5.0
    repeat: float = 1.0
    _prompt_part: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.query_weights = np.asarray(self.query_weights, dtype=np.float64)
        self.prompt_weights = np.asarray(self.prompt_weights, dtype=np.float64)
        self.prompt_embeddings = np.asarray(self.prompt_embeddings, dtype=np.float64)
        if not self.noise_std >= 0:
            raise ValueError(f"generator noise_std must be >= 0, got {self.noise_std}")
        if self.prompt_weights.shape[1] != self.query_weights.shape[1]:
            raise ValueError("query_weights and prompt_weights must share the sentence width")
        # sin(e_a N) for every prompt, computed once: (n_prompts, d_s).
        self._prompt_part = self.amplitude * np.sin(
            small_matmul(self.prompt_embeddings, self.prompt_weights)
        )

    @property
    def n_prompts(self) -> int:
        return self.prompt_embeddings.shape[0]

    @property
    def dim_query(self) -> int:
        return self.query_weights.shape[0]

    @property
    def dim_sentence(self) -> int:
        return self.query_weights.shape[1]

    def mean(self, query: np.ndarray, prompt_ids: np.ndarray) -> np.ndarray:
        """E[o | q, a]: (n, d_q), (n,) -> (n, d_s)."""
        q = _check_query(query, self.dim_query)
        a = check_prompt_ids(prompt_ids, self.n_prompts, len(q))
        return self.repeat * (small_matmul(q, self.query_weights) + self._prompt_part[a])

    def query_part(self, query: np.ndarray) -> np.ndarray:
        """c * q M, (n, d_q) -> (n, d_s): the prompt-independent part of E[o | q, a]."""
        return self.repeat * small_matmul(_check_query(query, self.dim_query), self.query_weights)

    def prompt_part(self) -> np.ndarray:
        """c * amplitude * sin(e_a N) for all prompts: (n_prompts, d_s)."""
        return self.repeat * self._prompt_part

    def draw_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The sampling randomness of ``n`` sentences, (n, d_s)."""
        return rng.standard_normal((n, self.dim_sentence))

    def from_noise(
        self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray
    ) -> np.ndarray:
        """Sentences for given noise (see :meth:`draw_noise`): (n, d_s)."""
        return self.mean(query, prompt_ids) + self.noise_std * noise

    def generate(
        self, query: np.ndarray, prompt_ids: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Sample one sentence embedding per row: (n, d_q), (n,) -> (n, d_s)."""
        q = _check_query(query, self.dim_query)
        return self.from_noise(q, prompt_ids, self.draw_noise(len(q), rng))


@dataclass
class BilinearSentenceReward:
    """E[r | x, q, s] = scale * ((x Q + q R) . o(s)), the DSO benchmark's user.

    Attributes:
        user_weights: Q, (d_x, d_s).
        query_weights: R, (d_q, d_s).
        scale: 1/250 in the paper.
        query_offset: (d_q,) subtracted from q first (None: zeros, the paper's model). The
            paraphrase text world centres the query on its mean, so that the mean direction
            over users is zero and no single prompt is good for everyone.
    """

    user_weights: np.ndarray
    query_weights: np.ndarray
    scale: float = 1.0 / 250.0
    query_offset: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.user_weights = np.asarray(self.user_weights, dtype=np.float64)
        self.query_weights = np.asarray(self.query_weights, dtype=np.float64)
        if self.user_weights.shape[1] != self.query_weights.shape[1]:
            raise ValueError("user_weights and query_weights must share the sentence width")
        if self.query_offset is not None:
            self.query_offset = np.asarray(self.query_offset, dtype=np.float64)
            if self.query_offset.shape != (self.query_weights.shape[0],):
                raise ValueError(f"query_offset must have shape ({self.query_weights.shape[0]},)"
                                 f", got {self.query_offset.shape}")

    @property
    def dim_user(self) -> int:
        return self.user_weights.shape[0]

    @property
    def dim_query(self) -> int:
        return self.query_weights.shape[0]

    @property
    def dim_sentence(self) -> int:
        return self.user_weights.shape[1]

    def direction(self, user: np.ndarray, query: np.ndarray) -> np.ndarray:
        """scale * (x Q + (q - offset) R): (n, d_x), (n, d_q) -> (n, d_s). E[r] is linear in o
        along it."""
        q = np.asarray(query, dtype=np.float64)
        if self.query_offset is not None:
            q = q - self.query_offset
        return self.scale * (
            small_matmul(user, self.user_weights) + small_matmul(q, self.query_weights)
        )

    def expected(self, user: np.ndarray, query: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        s = np.asarray(sentence, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != self.dim_sentence:
            raise ValueError(
                f"sentence embeddings must have shape (n, {self.dim_sentence}), got {s.shape}; "
                "a plugged-in encoder must return vectors of the width the reward model reads"
            )
        return row_dot(self.direction(user, query), s)
