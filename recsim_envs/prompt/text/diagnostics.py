"""Is a prompt world a fair test of DSO? Four numbers per world.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025). DSO weights logged rows by a kernel between sentences; it can only
beat action-space estimators where (a) the kernel tells prompts apart, (b) the prompt moves
the sentence, (c) prompt features do not give the prompt's effect away to a regression, and
(d) the best policy is personalised. For a prompt environment (``env.unwrapped``) this module
measures:

* ``kernel_contrast``: E[K(s, s') | same query, same prompt] / E[K(s, s') | same query,
  different prompts], prompts uniform, at a given bandwidth (1 means the kernel is blind to
  the prompt);
* ``prompt_variance_share``: the share of a sentence embedding's variance, given the query,
  explained by the prompt (one-way analysis of variance per query, prompts uniform);
* ``keyword_r2``: how well the system's prompt features predict a prompt's effect linearly:
  per context, the centred row of E[r | x, q, a] over prompts is regressed on the prompt
  features (least squares with an intercept, 5-fold cross-validation over prompts); pooled
  out-of-fold R^2;
* ``best_fixed_optimality``: the optimality of the best context-free prompt (one prompt for
  everybody), (max_a V(a) - V(uniform)) / (V(best) - V(uniform));
* ``noise_gap_ratio``: reward noise std / (V(best) - V(uniform)) (authors' LLM benchmark:
  about 0.25);
* ``intent_accuracy``: how often a linear classifier reads a prompt's intent (its paraphrase
  group) from the prompt features, out of fold (chance: 1 / number of intents);
* ``kernel_contrast_authors``: the contrast at the authors' fixed tau = 1, beside the rule's.

``python -m recsim_envs prompt-diagnostics ENV_ID [--kwargs JSON]`` prints them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recsim_envs.prompt.text.kernel import kernel_distance, kernel_values

AUTHORS_TAU = 1.0
"""The authors' code's fixed kernel bandwidth (DSO's ``bandwidth="authors"``)."""


def within_query_distances(env: Any, n: int, rng: np.random.Generator,
                           embedding_noise: float = 0.0) -> np.ndarray:
    """d(s, s') = ||s - s'|| / dim for ``n`` pairs of sentences written for the same query
    with two independent uniform prompts, after adding N(0, embedding_noise^2) to each:
    (n,). Its median is DSO's ``within_query`` bandwidth scale."""
    s1, _, s3, _ = _sentence_triples(env, n, rng, embedding_noise)
    return kernel_distance(s1, s3)


def _sentence_triples(env: Any, n: int, rng: np.random.Generator, noise: float):
    """s1, s2 from (q, a); s3 from (q, a') with a' != a; all (n, d_s); and the queries."""
    _, query = env.split(env.sample_contexts(n, rng))
    a = rng.integers(0, env.n_prompts, n)
    other = (a + rng.integers(1, env.n_prompts, n)) % env.n_prompts  # uniform over a' != a
    s1, s2, s3 = (np.asarray(env.generator.generate(query, p, rng), dtype=np.float64)
                  for p in (a, a, other))
    if noise > 0:
        s1, s2, s3 = (s + noise * rng.standard_normal(s.shape) for s in (s1, s2, s3))
    return s1, s2, s3, query


def kernel_contrast(env: Any, bandwidth: float, rng: np.random.Generator, n: int = 4000,
                    embedding_noise: float = 0.0) -> float:
    """E[K | same query, same prompt] / E[K | same query, different prompts] (float).

    Args:
        env: a prompt environment (unwrapped).
        bandwidth: tau of the Gaussian kernel on d = ||s - s'|| / dim.
        rng: source of contexts, prompts and sentences.
        n: pairs of each kind.
        embedding_noise: std of the noise DSO adds to both embeddings (1 in the reference).
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    s1, s2, s3, _ = _sentence_triples(env, n, rng, embedding_noise)
    # the DSO kernel, Gaussian
    same = kernel_values(s1, s2, "gaussian", bandwidth)
    return float(same.mean() / kernel_values(s1, s3, "gaussian", bandwidth).mean())


def prompt_variance_share(env: Any, rng: np.random.Generator, n_queries: int = 100,
                          n_prompts: int = 50, n_sentences: int = 4) -> float:
    """Share of Var(phi(s) | q) explained by the prompt, averaged over queries (float).

    Per query: ``n_prompts`` uniform prompts, ``n_sentences`` sentences each; share =
    1 - (pooled within-prompt variance) / (total variance), both unbiased, summed over
    embedding dimensions.
    """
    _, query = env.split(env.sample_contexts(n_queries, rng))
    m, k = min(n_prompts, env.n_prompts), n_sentences
    prompts = np.stack([rng.choice(env.n_prompts, m, replace=False) for _ in range(n_queries)])
    q = np.repeat(query, m * k, axis=0)
    s = np.asarray(env.generator.generate(q, np.repeat(prompts.reshape(-1), k), rng))
    s = s.reshape(n_queries, m, k, -1)
    within = s.var(axis=2, ddof=1).sum(axis=-1).mean(axis=1)  # (n_queries,)
    total = s.reshape(n_queries, m * k, -1).var(axis=1, ddof=1).sum(axis=-1)
    return float(np.mean(1.0 - within / total))


def keyword_r2(env: Any, n_contexts: int = 500, n_folds: int = 5,
               rng: np.random.Generator | None = None) -> float:
    """Out-of-fold R^2 of a linear map from prompt features to each context's prompt effects.

    effects (n_contexts, n_prompts) = E[r | x, q, a] minus its row mean; features
    (n_prompts, d_p) = ``env.system_prompt_embeddings()`` plus an intercept; the prompts are
    split in ``n_folds`` folds and each fold's effects are predicted by least squares on the
    others (a separate coefficient vector per context, so personalisation is allowed).
    Below 0 when the fit is worse than predicting no effect (few prompts per feature).
    """
    rng = rng or np.random.default_rng(0)
    ctx = env.eval_contexts[:n_contexts]
    effects = env.expected_reward_matrix(ctx)
    effects = effects - effects.mean(axis=1, keepdims=True)
    feats = np.asarray(env.system_prompt_embeddings(), dtype=np.float64)
    feats = np.hstack([np.ones((len(feats), 1)), feats])
    fold = rng.permutation(env.n_prompts) % n_folds
    sse = 0.0
    for f in range(n_folds):  # a handful of least-squares fits
        train, test = fold != f, fold == f
        coef, *_ = np.linalg.lstsq(feats[train], effects[:, train].T, rcond=None)
        sse += float(((feats[test] @ coef - effects[:, test].T) ** 2).sum())
    return 1.0 - sse / float((effects**2).sum())


def intent_accuracy(env: Any, n_folds: int = 5, rng: np.random.Generator | None = None,
                    ridge: float = 1.0) -> float | None:
    """Out-of-fold accuracy of a linear classifier reading a prompt's intent (its group of
    paraphrases, ``env.prompt_group``) from the system's prompt features (float in [0, 1]).

    One-vs-rest ridge regression on one-hot intents (features standardised, an intercept,
    penalty ``ridge``), prompts split in ``n_folds`` folds, argmax score; chance is about
    1 / n_groups. None for worlds without paraphrase groups (every prompt its own intent).
    """
    groups = getattr(env, "prompt_group", None)
    if groups is None:
        return None
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups == env.n_prompts or n_groups < 2:
        return None
    rng = rng or np.random.default_rng(0)
    feats = np.asarray(env.system_prompt_embeddings(), dtype=np.float64)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-12)
    x = np.hstack([np.ones((len(feats), 1)), feats])
    y = np.eye(n_groups)[groups]
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    fold = rng.permutation(env.n_prompts) % n_folds
    correct = 0
    for f in range(n_folds):
        train, test = fold != f, fold == f
        coef = np.linalg.solve(x[train].T @ x[train] + penalty, x[train].T @ y[train])
        correct += int((np.argmax(x[test] @ coef, axis=1) == groups[test]).sum())
    return correct / env.n_prompts


def noise_gap_ratio(env: Any) -> float:
    """Reward noise std over the best-vs-uniform gap V(best) - V(uniform) on the evaluation
    contexts (the authors' LLM benchmark: about 0.05 / 0.2 = 0.25)."""
    m = env.eval_reward_matrix
    return float(env.reward_noise) / float(m.max(axis=1).mean() - m.mean())


def best_fixed_optimality(env: Any) -> float:
    """Optimality of the best context-free prompt on the evaluation contexts (float)."""
    m = env.eval_reward_matrix
    uniform, best = float(m.mean()), float(m.max(axis=1).mean())
    return (float(m.mean(axis=0).max()) - uniform) / (best - uniform)


@dataclass
class PromptDiagnostics:
    """The four numbers of a prompt world (see the module docstring), plus the bandwidth."""

    env_id: str
    n_prompts: int
    n_groups: int
    bandwidth: float
    bandwidth_rule: str
    embedding_noise: float
    kernel_contrast: float
    kernel_contrast_authors: float
    prompt_variance_share: float
    keyword_r2: float
    best_fixed_optimality: float
    noise_gap_ratio: float
    intent_accuracy: float | None
    intent_chance: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(env: Any, seed: int = 0, bandwidth: float = 1.0, bandwidth_rule: str = "within_query",
             embedding_noise: float = 0.0, n_pairs: int = 4000) -> PromptDiagnostics:
    """All four diagnostics of ``env`` (``env.unwrapped`` of a made prompt environment).

    Args:
        env: a prompt environment.
        seed: seeds every draw.
        bandwidth: tau (``bandwidth_rule="fixed"``) or the factor on the median
            within-query distance (``"within_query"``, DSO's default rule).
        bandwidth_rule: "fixed" or "within_query".
        embedding_noise: std of the noise added to both embeddings before the kernel.
        n_pairs: sentence pairs for the contrast (and the bandwidth's median).
    """
    if bandwidth_rule not in ("fixed", "within_query"):
        raise ValueError(f"bandwidth_rule must be 'fixed' or 'within_query', got "
                         f"{bandwidth_rule!r}")
    rng = np.random.default_rng(seed)
    tau = float(bandwidth)
    if bandwidth_rule == "within_query":
        tau *= float(np.median(within_query_distances(env, n_pairs, rng, embedding_noise)))
    groups = getattr(env, "prompt_group", None)
    n_groups = int(env.n_prompts if groups is None else len(np.unique(groups)))
    accuracy = intent_accuracy(env, rng=rng)
    return PromptDiagnostics(
        env_id=env.spec.id if getattr(env, "spec", None) is not None else type(env).__name__,
        n_prompts=int(env.n_prompts),
        n_groups=n_groups,
        bandwidth=tau,
        bandwidth_rule=bandwidth_rule,
        embedding_noise=float(embedding_noise),
        kernel_contrast=kernel_contrast(env, tau, rng, n_pairs, embedding_noise),
        kernel_contrast_authors=kernel_contrast(env, AUTHORS_TAU, rng, n_pairs, embedding_noise),
        prompt_variance_share=prompt_variance_share(env, rng),
        keyword_r2=keyword_r2(env, rng=rng),
        best_fixed_optimality=best_fixed_optimality(env),
        noise_gap_ratio=noise_gap_ratio(env),
        intent_accuracy=accuracy,
        intent_chance=None if accuracy is None else 1.0 / n_groups,
    )
