"""The logging protocol of Ma et al. (WWW 2020) and the diagnostics that compare two-stage worlds.

- :func:`draw_without_replacement` draws k distinct items per user from a softmax by
  successive sampling (Plackett-Luce; drawn as the top k of log p + Gumbel noise).
- :func:`inclusion_probabilities` gives the *exact* probability that an item is among those
  k draws (the authors' code logs the single-draw softmax probability instead, which is not
  the probability of what was logged). No closed form exists; the exponential-race identity
  below reduces it to a one-dimensional integral computed by quadrature (measured: within
  2e-8 of enumerating all ordered draws on 7 items; probabilities over 3,883 items sum to
  k within 4e-6).
- :func:`fit_logistic_bilinear` fits a bilinear model [x, 1] W [f, 1]^T with BCE (the
  reference's bilinear ranker and its two-tower logging model, with linear towers).
- :func:`world_properties` measures what makes the two-stage problem real (how peaked the
  logging policy is, how well the ranker agrees with the user), for any two-stage world.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)
_N_SEGMENTS = 16
_N_HEAVY = 64
_T_MIN = 1e-6


def draw_without_replacement(
    probs: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """k distinct items per row by successive sampling: (n, n_items) probs -> (n, k) int64.

    The first item is drawn from ``probs``, each next one from ``probs`` renormalised over
    the items not yet drawn; equivalently the k largest of log p + Gumbel noise (Gumbel
    top-k trick), returned in draw order. Items with probability 0 are never drawn.
    """
    probs = np.asarray(probs, dtype=np.float64)
    n, n_items = probs.shape
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be in [1, n_items={n_items}], got {k}")
    if np.any((probs > 0).sum(axis=1) < k):
        raise ValueError(f"every row needs at least k={k} items with positive probability")
    with np.errstate(divide="ignore"):
        keys = np.log(probs) + rng.gumbel(size=probs.shape)
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1).astype(np.int64)


def inclusion_probabilities(
    probs: np.ndarray, items: np.ndarray, k: int, chunk: int = 16
) -> np.ndarray:
    """Exact P(item in a k-draw successive sample without replacement from ``probs``).

    Exponential race: give item j an arrival time T_j ~ Exp(rate p_j); the k earliest
    arrivals are distributed as k successive draws without replacement. Hence

        P(i drawn) = int_0^inf p_i exp(-p_i t) P(N_{-i}(t) <= k - 1) dt,

    where N_{-i}(t) = sum_{j != i} B_j, B_j ~ Bernoulli(1 - exp(-p_j t)) independent. The
    count's law up to k - 1 is computed exactly: a product of Bernoulli factors over the 64
    most probable items (a loop over those 64 rank positions, vectorised over users and
    nodes) and, for the rest, elementary symmetric polynomials from power sums (Newton's
    identities, stable because the odds of those items are clipped at 1: they only exceed
    it where 64 heavier items are each more likely than not to have arrived, i.e. where the
    integrand is below 1e-13). The integral over log t from 1e-6 to 40 / p_(k+1) uses 16
    segments of 6-point Gauss-Legendre; [0, 1e-6] is integrated in closed form (there the
    count is below k with probability 1 - O(1e-6^k)). Beyond 40 / p_(k+1) at least k other
    items have arrived with probability 1 - O(k e^-40).

    Args:
        probs: (n, n_items) per-draw probabilities (rows sum to 1).
        items: (n, m) item ids whose inclusion probability is wanted.
        k: draws per row (k <= number of positive entries of each row).
        chunk: rows per block (memory ~ chunk * 96 * n_items floats).

    Returns:
        (n, m) float64 in (0, 1]; for one row, the probabilities of all items sum to k.
    """
    probs = np.asarray(probs, dtype=np.float64)
    items = np.asarray(items, dtype=np.int64)
    n, n_items = probs.shape
    if items.ndim != 2 or items.shape[0] != n:
        raise ValueError(f"items must be (n={n}, m), got shape {items.shape}")
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be in [1, n_items={n_items}], got {k}")
    if k == n_items:
        return np.ones(items.shape)
    out = np.empty(items.shape)
    for start in range(0, n, chunk):  # blocks of rows bound the (rows, nodes, items) arrays
        sl = slice(start, min(n, start + chunk))
        out[sl] = _inclusion_block(probs[sl], items[sl], k)
    return np.clip(out, 0.0, 1.0)


def _inclusion_block(p: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    b, n_items = p.shape
    rows = np.arange(b)
    h = min(_N_HEAVY, n_items)
    order = np.argsort(-p, axis=1, kind="stable")
    heavy = order[:, :h]  # (b, h)
    p_sorted = np.take_along_axis(p, order, axis=1)
    p_next = p_sorted[:, min(k, n_items - 1)]  # p_(k+1), the (k+1)-th largest
    t_max = 40.0 / np.maximum(p_next, 1e-300)
    # Nodes: composite Gauss-Legendre on log t in [log T_MIN, log t_max].
    lo, hi = np.log(_T_MIN), np.log(np.maximum(t_max, _T_MIN * 10))
    edges = lo + (hi - lo)[:, None] * np.linspace(0, 1, _N_SEGMENTS + 1)[None, :]  # (b, S+1)
    half = (edges[:, 1:] - edges[:, :-1]) / 2
    mid = (edges[:, 1:] + edges[:, :-1]) / 2
    log_t = (mid[:, :, None] + half[:, :, None] * _GL_X).reshape(b, -1)  # (b, T)
    w_log = (half[:, :, None] * _GL_W).reshape(b, -1)
    t = np.exp(log_t)

    is_heavy = np.zeros((b, n_items), dtype=bool)
    is_heavy[rows[:, None], heavy] = True
    p_light = np.where(is_heavy, 0.0, p)
    # Light items: odds r_j = e^{p_j t} - 1, clipped at 1 (see the docstring).
    odds = np.minimum(np.expm1(p_light[:, None, :] * t[:, :, None]), 1.0)  # (b, T, n)
    power = np.empty((k - 1, b, t.shape[1]))
    acc = np.ones_like(odds)
    for m in range(k - 1):
        acc *= odds
        power[m] = acc.sum(axis=2)
    light_mass = p_light.sum(axis=1)  # log prod (1 - q_j) = -t * mass, exactly

    m_items = items.shape[1]
    p_i = p[rows[:, None], items]  # (b, m)
    item_heavy = is_heavy[rows[:, None], items]
    # Leave item i out of the light part: remove its power-sum terms and its mass.
    odds_i = np.minimum(np.expm1(np.where(item_heavy, 0.0, p_i)[:, :, None] * t[:, None, :]),
                        1.0)  # (b, m, T)
    sums = power[:, :, None, :] - odds_i[None] ** np.arange(1, k)[:, None, None, None]
    mass = light_mass[:, None] - np.where(item_heavy, 0.0, p_i)
    light = _from_power_sums(sums, k)  # (k, b, m, T): e_0..e_{k-1}
    light *= np.exp(-t[:, None, :] * mass[:, :, None])[None]
    # Heavy part: exact product of Bernoulli factors, item i's factor left out.
    q_h = -np.expm1(-np.take_along_axis(p, heavy, axis=1)[:, :, None] * t[:, None, :])  # (b,h,T)
    poly = np.zeros((k, b, m_items, t.shape[1]))
    poly[0] = 1.0
    for j in range(h):  # the 64 heaviest rank positions, vectorised over rows, items, nodes
        q = np.where((heavy[:, j][:, None] == items)[:, :, None], 0.0, q_h[:, j][:, None, :])
        poly[1:] = poly[1:] * (1 - q) + poly[:-1] * q
        poly[0] = poly[0] * (1 - q)
    # P(N <= k - 1) = sum over a + c <= k - 1 of heavy_a * light_c.
    below = np.zeros((b, m_items, t.shape[1]))
    for a in range(k):
        below += poly[a] * light[: k - a].sum(axis=0)
    integrand = t[:, None, :] * p_i[:, :, None] * np.exp(-p_i[:, :, None] * t[:, None, :])
    head = -np.expm1(-p_i * _T_MIN)
    return head + (integrand * below * w_log[:, None, :]).sum(axis=2)


def _from_power_sums(sums: np.ndarray, k: int) -> np.ndarray:
    """Elementary symmetric polynomials e_0..e_{k-1} from power sums S_1..S_{k-1}
    (Newton's identities: m e_m = sum_{i=1}^m (-1)^(i-1) e_{m-i} S_i)."""
    e = np.zeros((k, *sums.shape[1:]))
    e[0] = 1.0
    for m in range(1, k):
        total = np.zeros(sums.shape[1:])
        for i in range(1, m + 1):
            total += (-1) ** (i - 1) * e[m - i] * sums[i - 1]
        e[m] = np.maximum(total / m, 0.0)
    return e


def fit_logistic_bilinear(
    user_features: np.ndarray, item_features: np.ndarray, labels: np.ndarray,
    l2: float = 1e-3, max_iter: int = 200, weights: np.ndarray | None = None,
) -> np.ndarray:
    """BCE fit of sigmoid([x, 1] W [f, 1]^T) to binary labels; returns W (d_u + 1, d_i + 1).

    The bilinear ranker of Ma et al. (item representation times a linear map of the user),
    and their two-tower logging model with linear towers, on observable features. Full-batch
    L-BFGS in float64 (deterministic: no random draws); ``l2`` penalises mean(W^2).

    Args:
        user_features: (n, d_u) rows' user features.
        item_features: (n, d_i) rows' item features.
        labels: (n,) in {0, 1}.
        weights: optional (n,) row weights.
    """
    import torch

    x = torch.from_numpy(np.hstack([user_features, np.ones((len(user_features), 1))]))
    f = torch.from_numpy(np.hstack([item_features, np.ones((len(item_features), 1))]))
    y = torch.from_numpy(np.asarray(labels, dtype=np.float64))
    w_row = None if weights is None else torch.from_numpy(np.asarray(weights, np.float64))
    w = torch.zeros((x.shape[1], f.shape[1]), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = ((x @ w) * f).sum(dim=1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=w_row)
        loss = loss + l2 * (w**2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy().astype(np.float32)


def softmax_rows(scores: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Row softmax of ``scale * scores``: (n, n_items) -> (n, n_items) float64."""
    z = scale * np.asarray(scores, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def scale_for_top1(scores: np.ndarray, target: float, iters: int = 60) -> float:
    """The score scale c with median_u max_j softmax(c * scores_u)_j = ``target`` (bisection
    on log c; the median top-1 probability increases with c)."""
    n_items = scores.shape[1]
    if not 1.0 / n_items < target < 1.0:
        raise ValueError(f"target top-1 probability must be in (1/{n_items}, 1), got {target}")
    lo, hi = -12.0, 12.0
    for _ in range(iters):
        mid = (lo + hi) / 2
        top1 = np.median(softmax_rows(scores, np.exp(mid)).max(axis=1))
        lo, hi = (mid, hi) if top1 < target else (lo, mid)
    return float(np.exp((lo + hi) / 2))


def world_properties(env: Any, policy: Any, n_users: int = 1000, seed: int = 0,
                     n_candidates: int | None = None) -> dict[str, float]:
    """What makes a two-stage world a two-stage problem, measured on ``n_users`` users.

    Args:
        env: a two-stage environment (single or vector; its ``unwrapped`` is used).
        policy: the behaviour policy (``probs(context) -> (n, n_items)``).
        n_users: users drawn with the online user sampler (seeded by ``seed``).
        n_candidates: k of the top-k checks (default: the environment's).

    Returns:
        ``behaviour_median_top1``: median over users of the logging softmax's largest
        probability; ``behaviour_items_half_mass``: median number of items holding half of
        it; ``ranker_truth_spearman``: median per-user rank correlation between the
        ranker's scores and the true click probabilities over all items;
        ``ranker_pick_positive_random{k}``: how often the ranker's pick among k uniformly
        random items is a positive (compare with ``positive_rate``: the ranker's lift);
        ``ranker_pick_positive_behaviour_top{k}``: the same among the logging policy's k
        most probable items, and ``best_positive_behaviour_top{k}`` how often those hold a
        positive at all; ``positive_rate``: share of (user, item) pairs that are positives
        (click probability > 0.5 for binary truth, else >= its 0.9 quantile).
    """
    base = env.unwrapped
    k = int(n_candidates or base.n_candidates)
    rng = np.random.default_rng(seed)
    users = base.world.users.from_uniforms(rng.random((n_users, base.world.users.n_uniforms)))
    truth = np.asarray(base.world.response.click_prob_all(users.hidden), dtype=np.float64)
    probs = np.asarray(policy.probs(users.features), dtype=np.float64)
    scores = base.world.ranker.scores_all(users.features)
    sorted_p = -np.sort(-probs, axis=1)
    half = (np.cumsum(sorted_p, axis=1) < 0.5).sum(axis=1) + 1
    binary = bool(np.all((truth == 0) | (truth == 1)))
    cut = 0.5 if binary else float(np.quantile(truth, 0.9))
    positives = truth > cut if binary else truth >= cut
    rho = _spearman_rows(scores, truth)
    rows = np.arange(n_users)
    rand = np.argsort(rng.random(truth.shape), axis=1)[:, :k]  # k distinct random items
    pick = np.take_along_axis(rand, np.argmax(np.take_along_axis(scores, rand, axis=1),
                                              axis=1)[:, None], axis=1)[:, 0]
    beh_top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    beh_pick = np.take_along_axis(beh_top, np.argmax(np.take_along_axis(scores, beh_top,
                                                     axis=1), axis=1)[:, None], axis=1)[:, 0]
    return {
        "behaviour_median_top1": float(np.median(sorted_p[:, 0])),
        "behaviour_items_half_mass": float(np.median(half)),
        "ranker_truth_spearman": float(np.nanmedian(rho)),
        f"ranker_pick_positive_random{k}": float(positives[rows, pick].mean()),
        f"ranker_pick_positive_behaviour_top{k}": float(positives[rows, beh_pick].mean()),
        f"best_positive_behaviour_top{k}": float(
            np.take_along_axis(positives, beh_top, axis=1).any(axis=1).mean()),
        "positive_rate": float(positives.mean()),
    }


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row Spearman correlation (average ranks for ties): (n, m), (n, m) -> (n,)."""
    ra, rb = _rank_rows(a), _rank_rows(b)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))


def _rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks per row (ties share their mean rank)."""
    a = np.asarray(a, dtype=np.float64)
    n, m = a.shape
    order = np.argsort(a, axis=1, kind="stable")
    sorted_a = np.take_along_axis(a, order, axis=1)
    pos = np.broadcast_to(np.arange(m, dtype=np.float64), (n, m))
    new = np.ones((n, m), dtype=bool)
    new[:, 1:] = sorted_a[:, 1:] != sorted_a[:, :-1]
    group = np.cumsum(new, axis=1) - 1  # tie-group index per row
    flat = group + (np.arange(n) * m)[:, None]
    sums = np.bincount(flat.ravel(), weights=pos.ravel(), minlength=n * m)
    counts = np.bincount(flat.ravel(), minlength=n * m)
    avg = (sums / np.maximum(counts, 1))[flat]
    out = np.empty((n, m))
    np.put_along_axis(out, order, avg, axis=1)
    return out


SYNTHETIC_PAPER_LIKE = {"n_items": 1000, "n_candidates": 30, "ranker_noise": 4.0}
"""Synthetic settings of ``experiments/two_stage_synthetic.toml`` (with temperature 0.5)."""


def compare_worlds(data_dir: str | None = None, n_users: int = 1000,
                   seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`world_properties` of the synthetic world (defaults and the paper-like settings)
    and, when MovieLens files are found (``data_dir`` or ``$RECSIM_ENVS_DATA``), of the paper
    world; each with the behaviour policy its benchmark uses."""
    import gymnasium as gym

    from recsim_envs.core.policies import SoftmaxPolicy
    from recsim_envs.two_stage.movielens_files import find_movielens

    worlds: dict[str, tuple[str, dict[str, Any], float]] = {
        "synthetic, defaults (temperature 1)": ("recsim_envs/TwoStageSynthetic-v0", {}, 1.0),
        "synthetic, paper-like (temperature 0.5)": ("recsim_envs/TwoStageSynthetic-v0",
                                                    dict(SYNTHETIC_PAPER_LIKE), 0.5),
    }
    try:
        fmt, folder = find_movielens(data_dir)
        worlds[f"paper world ({fmt} files)"] = ("recsim_envs/TwoStagePaper-v0",
                                                {"data_dir": str(folder)}, 1.0)
    except FileNotFoundError:
        pass
    out = {}
    for name, (env_id, kwargs, temperature) in worlds.items():
        env = gym.make(env_id, **kwargs)
        base = env.unwrapped
        policy = SoftmaxPolicy(base.behaviour_scorer(), base.n_items, temperature)
        out[name] = world_properties(env, policy, n_users, seed)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m recsim_envs.two_stage.paper_world [--data-dir DIR]``: print the comparison."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m recsim_envs.two_stage.paper_world",
                                     description="two-stage world properties, side by side")
    parser.add_argument("--data-dir", default=None, help="MovieLens folder (paper world)")
    parser.add_argument("--n-users", type=int, default=1000)
    args = parser.parse_args(argv)
    table = compare_worlds(args.data_dir, args.n_users)
    names = list(table)
    print("| property | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    keys = list(dict.fromkeys(k.replace("30", "K").replace("10", "K")
                              for props in table.values() for k in props))
    for key in keys:
        cells = []
        for props in table.values():
            match = [v for k, v in props.items()
                     if k.replace("30", "K").replace("10", "K") == key]
            cells.append(f"{match[0]:.3f}" if match else "-")
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
