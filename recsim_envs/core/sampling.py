"""Exact samplers of categorical draws: softmax probabilities and inverse-CDF draws.

The kernels behind :mod:`recsim_envs.core.policies`: cache-blocked float64 softmax, the
inverse-CDF sampler (:func:`sample_categorical`) and torch's float32 softmax sampler
(:func:`softmax_draws`). Each keeps its outputs element-wise reproducible for a seed, and the
probabilities each returns are the ones its draws come from (issue 23: their speed is what
logging a million rounds costs).
"""

from __future__ import annotations

import numpy as np

NON_FINITE_SCORES = "scorer returned NaN or infinite scores"
"""The error message for scores a softmax cannot take."""


def softmax(scores: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of ``scores / temperature`` along ``axis`` (float64).

    Works in place on one float64 copy (the arrays are (n, n_actions) and logging is
    memory-bound: each extra temporary is a full pass over memory).
    """
    z = np.array(scores, dtype=np.float64)  # always a copy: the caller's scores stay intact
    if z.ndim == 2 and axis in (-1, 1) and z.shape[0] > SOFTMAX_BLOCK_ROWS:
        # Rows in cache-sized blocks: the same element-wise operations and per-row
        # reductions (so the same bits), one pass over memory instead of five.
        for lo in range(0, z.shape[0], SOFTMAX_BLOCK_ROWS):
            _softmax_rows(z[lo:lo + SOFTMAX_BLOCK_ROWS], temperature, axis)
        return z
    return _softmax_rows(z, temperature, axis)


def _softmax_rows(z: np.ndarray, temperature: float, axis: int) -> np.ndarray:
    """softmax of ``z / temperature`` along ``axis``, in place in ``z`` (float64)."""
    if temperature != 1.0:
        z *= 1.0 / temperature
    z -= z.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z *= 1.0 / z.sum(axis=axis, keepdims=True)
    return z


def softmax_block(scores: np.ndarray, temperature: float, out: np.ndarray) -> None:
    """``out`` (m, N) float64 <- softmax(scores / temperature) of each row of ``scores``.

    The same bits as :func:`softmax` (float64 copy, ``*= 1 / temperature``, minus the row's
    maximum, ``exp``, ``*= 1 / sum``), in fewer passes over the block: the cast to float64
    is the copy into ``out``; the row maxima come from the (float32) scores, which gives
    the same value because x -> float64(x) / temperature is monotone; the element-wise
    steps are torch's (exact IEEE operations, so any implementation gives the same bits),
    while ``exp`` and the sum stay numpy's (their bits depend on the implementation).

    Raises ValueError if a score is NaN or infinite.
    """
    import torch  # lazy: a prompt or sequential environment may log without torch loaded

    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)  # what softmax()'s float64 copy does first
    if not np.all(np.isfinite(scores)):
        raise ValueError(NON_FINITE_SCORES)
    s = torch.from_numpy(np.require(scores, requirements=["C", "W"]))
    high = torch.amax(s, dim=1, keepdim=True)
    z = torch.from_numpy(out)
    top = high.to(torch.float64)
    z.copy_(s)
    if temperature != 1.0:
        z.mul_(1.0 / temperature)
        top.mul_(1.0 / temperature)
    z.sub_(top)
    np.exp(out, out=out)
    z.mul_(torch.from_numpy(1.0 / out.sum(axis=1, keepdims=True)))


def sample_categorical(probs: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_draws`` i.i.d. indices per row of ``probs`` (n, N) -> (n, n_draws) int64.

    Rows need not be normalised (each is scaled by its own sum). Vectorised inverse-CDF
    sampling: each row's cumulative sum, then a search of the row's scaled uniforms in it,
    over cache-sized blocks of rows (:func:`draw_block`). The uniforms are sorted within
    each row first, which makes the search cache-friendly; the draws of a row then come in
    item-id order, which is immaterial for i.i.d. draws used as a set or a sample. A
    zero-probability action is never drawn (except in a row that is all zeros, which has no
    distribution).

    Randomness: ``rng.random((n, n_draws))`` once, so the draws are element-wise
    reproducible for a seed.
    """
    probs = np.asarray(probs)
    n, n_actions = probs.shape
    u = np.sort(rng.random((n, n_draws)), axis=1)
    out = np.empty((n, n_draws), dtype=np.int64)
    sub = max(1, _SEARCH_BLOCK_CELLS // max(n_actions, 1))
    for a in range(0, n, sub):
        b = min(n, a + sub)
        draw_block(probs[a:b], u[a:b], out[a:b])
    return out


def draw_block(probs: np.ndarray, u: np.ndarray, out: np.ndarray) -> None:
    """Inverse-CDF draws for a block of rows, written into ``out`` (m, n_draws).

    ``probs`` (m, N) any non-negative float rows, ``u`` (m, n_draws) sorted uniforms in
    [0, 1). Per-row cumulative sums (torch's: the same sequential float64 additions as
    numpy's at twice the speed), searched while the block is in cache (issue 23: a
    cumulative sum of the flattened block, searched afterwards, measured 1.4x slower).
    """
    import torch  # lazy: a prompt or sequential environment may log without torch loaded

    n_actions = probs.shape[1]
    # torch reads only writable, contiguous arrays (a uniform policy's rows are a read-only
    # broadcast view): those are copied, others read in place.
    rows = np.require(probs, dtype=np.float64, requirements=["C", "W"])
    cdf = torch.cumsum(torch.from_numpy(rows), 1)
    ends = cdf[:, -1].numpy()
    queries = u * ends[:, None]
    # u < 1 puts a query below its row's end, but rounding may reach it: keep it strictly
    # below, so the search lands on an action of positive probability.
    np.minimum(queries, np.nextafter(ends, -np.inf)[:, None], out=queries)
    idx = torch.searchsorted(cdf, torch.from_numpy(queries), right=True).numpy()
    np.clip(idx, 0, n_actions - 1, out=out)  # the clip: all-zero rows only


_SEARCH_BLOCK_CELLS = 1 << 15
"""Cells per block of :func:`sample_categorical`'s cumulative sums and search: 256 KB of
float64, so each row's CDF is still in cache when it is searched (searching a 16 MB block
measured 8.6 ms per 2,000 x 1,000 block, memory latency per query)."""


SOFTMAX_BLOCK_ROWS = 256
"""Rows per block of :func:`softmax_draws`: 256 x 1,000 float32 cells stay in cache, which
measured 4-6x faster than 2,000-row blocks for the same arithmetic."""


def softmax_draws(
    scores: np.ndarray, temperature: float, n_draws: int, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """``n_draws`` i.i.d. draws per row from softmax(scores / temperature), with the
    probabilities they were drawn from.

    Why not Gumbel-max: it needs one uniform per action *per draw* (k x n x N for k
    candidates), where inverse-CDF sampling needs one per draw; the probabilities are
    needed anyway for the propensities. What makes this fast is torch's float32 softmax
    and cumulative sum over cache-sized blocks of rows.

    Exactness: the softmax is computed in float32 (p32), its cumulative sum in float64, and
    row i draws action j with probability p32_ij / sum_j p32_ij up to float64 rounding. The
    returned probabilities are exactly that ratio (float64), so the propensities describe
    the sampler, not a float64 softmax it approximates. An action whose float32 softmax
    underflows to 0 (a score more than 87 * temperature below the row's best) is never drawn
    and reported with probability 0.

    Args:
        scores: (n, N) finite scores.
        temperature: > 0.
        n_draws: draws per row (0: the probabilities only).
        rng: the only source of randomness: ``rng.random((n, n_draws))`` once (unused, and
            may be None, when ``n_draws`` is 0).

    Returns:
        (draws (n, n_draws) int64, probs (n, N) float64 rows summing to 1).
    """
    import torch  # lazy: environments that log without a softmax need no torch

    n, n_actions = scores.shape
    u = torch.from_numpy(rng.random((n, n_draws))) if n_draws else None
    draws = np.empty((n, n_draws), dtype=np.int64)
    probs = np.empty((n, n_actions), dtype=np.float64)
    z = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    inv_t = 1.0 / temperature
    with torch.no_grad():
        for lo in range(0, n, SOFTMAX_BLOCK_ROWS):
            hi = min(n, lo + SOFTMAX_BLOCK_ROWS)
            p32 = torch.softmax(z[lo:hi] * inv_t, dim=1)
            cdf = torch.cumsum(p32, dim=1, dtype=torch.float64)
            total = cdf[:, -1:]
            torch.div(p32.to(torch.float64), total, out=torch.from_numpy(probs[lo:hi]))
            if u is None:
                continue
            # u < 1, but u * total may round up to total: keep each query strictly below
            # its row's end so that it lands on an action of positive probability.
            queries = torch.minimum(u[lo:hi] * total, torch.nextafter(total, total.new_zeros(1)))
            draws[lo:hi] = torch.searchsorted(cdf, queries, right=True).numpy()
    return draws, probs
