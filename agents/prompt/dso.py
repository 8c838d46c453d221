"""DSO: Direct Sentence Off-policy gradient (Kiyohara, Cao, Saito, Joachims, 2025).

Reference: "Prompt Optimization with Logged Bandit Data" (arXiv 2504.02646; RecSys 2025 as
"An Off-Policy Learning Approach for Steering Sentence Generation towards Personalization"),
Section 4 (the estimator) and Section 5 / Appendix (the settings used here).

Action-space importance weights pi_theta(a|x)/pi_0(a|x) explode with many prompts. DSO
weights in sentence space instead, where many prompts write similar sentences:

    w(phi(s), x) = pi_theta(phi(s) | x) / pi_0(phi(s) | x),
    pi(phi(s) | x) = E_{a ~ pi(.|x), s' ~ p(.|q, a)} [K(s, s')]   (kernel-smoothed density).

Per logged row i and step, draw a' ~ pi_theta(.|x_i), let the frozen generator write s' from
(q_i, a'), and minimise

    -clip(K(s_i, s') / pi0_hat(phi(s_i) | x_i), weight_clip) * r_i * log pi_theta(a' | x_i),

whose expectation over a' is the kernel policy gradient. The density pi0_hat is fit once
before policy training: by default an MLP f(x, q, s) with a softplus output regressed on
K(s, s') for s' written under pi_0 (``density="model"``), or by Monte Carlo over
``n_mc`` sentences written under pi_0 (``density="mc"``). Kernels:
Gaussian exp(-d^2 / (2 tau^2)) or uniform 1[d <= tau], with d = ||o - o'|| / dim(o);
like the reference code, noise of std ``embedding_noise`` is added to both embeddings first
(std 1 for real-valued embeddings, none for unit-norm text embeddings, by default).

Bandwidth (``bandwidth_rule="within_query"``, default): tau = ``bandwidth`` (0.5) x the median
of d(s_i, s') over logged rows, s' written for the row's own query and a prompt drawn from
pi_0 - the distances the kernel has to resolve. In the synthetic reference world this gives
tau of about 1.2 (the reference: tau = 1); the same rule scales to unit-norm text embeddings.

The generator is part of the deployed system, not the user: the harness passes its handle
(``env.unwrapped.generator``, an :class:`recsim_envs.prompt.text.EmbeddingGenerator`) to
``fit(dataset, generator=handle)`` or sets ``agent.generator`` before ``fit``. The
user's reward model is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.base import AgentError
from agents.prompt.base import PromptPGConfig, PromptPolicyAgent
from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset
from recsim_envs.data.dataset import DatasetError
from recsim_envs.prompt.text.diagnostics import AUTHORS_TAU
from recsim_envs.prompt.text.kernel import KERNELS, kernel_distance, kernel_values
from recsim_envs.prompt.view import PromptView

DENSITIES = ("auto", "model", "mc")
BANDWIDTH_RULES = ("within_query", "fixed", "median")
BANDWIDTH_ROWS = 2000
"""Logged rows whose distances set the bandwidth (``within_query`` and ``median`` rules)."""


@dataclass
class DSOConfig(PromptPGConfig):
    """Settings of :class:`DSO` (defaults: the reference's).

    Attributes (besides :class:`PromptPGConfig`'s):
        kernel: "gaussian" (default) or "uniform".
        bandwidth: the factor b > 0 of the bandwidth rule (0.5); larger tau: less variance,
            more bias. ``"authors"``: tau = 1 whatever the rule (the authors' code's fixed
            bandwidth; in the synthetic world about 0.43 x the within-query median).
        bandwidth_rule: how tau is set from b:
            "within_query" (default): tau = b * the median of d(s_i, s') over logged rows,
            s' written by the generator for the row's own query q_i and a prompt drawn from
            pi_0(.|x_i) (the pairs the density pi_0(phi(s)|x) averages over). Distances
            between sentences of one query are what the kernel must resolve; in the
            synthetic reference world the median is about 2.3, so b = 0.5 gives tau about
            1.2, the reference's scale (the paper finds tau in 0.5-2 equally good), and
            the same rule adapts to unit-norm text embeddings (median about 0.03).
            "fixed": tau = b (the reference code: tau = 1).
            "median": tau = b * the median of d over random pairs of logged sentences
            (different queries: too wide whenever the query moves the sentence more than
            the prompt; kept for comparison).
        embedding_noise: std of the noise added to both embeddings before the distance (1.0
            in the reference code; 0 turns it off). None (default): 1.0 for real-valued
            generator embeddings, 0 for unit-norm text embeddings (where noise of std 1 per
            dimension would swamp every distance).
        density: "model" (fitted MLP), "mc" (Monte Carlo) or "auto" (default): "model" for
            real-valued embeddings (the reference), "mc" for unit-norm text embeddings,
            whose kernel density the small MLP does not track (measured in the paraphrase
            world: its fit correlates at -0.2 with the Monte Carlo density).
            Unit-norm: every logged embedding has norm 1 within 1e-3.
        n_mc: sentences per logged row for the Monte Carlo density (100).
        density_steps: Adam steps of the density model (3,000).
        density_batch: rows per density-model step (128).
        density_lr: Adam learning rate of the density model (1e-3).
        min_density: floor of pi0_hat, so a weight is never a division by ~0.
    """

    kernel: str = "gaussian"
    bandwidth: float | str = 0.5
    bandwidth_rule: str = "within_query"
    embedding_noise: float | None = None
    density: str = "auto"
    n_mc: int = 100
    density_steps: int = 3000
    density_batch: int = 128
    density_lr: float = 1e-3
    min_density: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if self.bandwidth != "authors" and not (
            isinstance(self.bandwidth, int | float) and np.isfinite(self.bandwidth)
            and self.bandwidth > 0
        ):
            raise ValueError(
                f"the kernel bandwidth tau must be a positive number or 'authors' (tau = 1), got "
                f"{self.bandwidth!r}"
            )
        if self.bandwidth_rule not in BANDWIDTH_RULES:
            raise ValueError(
                f"bandwidth_rule must be one of {BANDWIDTH_RULES}, got {self.bandwidth_rule!r}"
            )
        if self.embedding_noise is not None and not self.embedding_noise >= 0:
            raise ValueError(f"embedding_noise must be >= 0, got {self.embedding_noise}")
        if self.density not in DENSITIES:
            raise ValueError(f"density must be one of {DENSITIES}, got {self.density!r}")
        if self.n_mc < 1 or self.density_steps < 0 or self.density_batch < 1:
            raise ValueError("n_mc and density_batch must be >= 1, density_steps >= 0")
        if not self.density_lr > 0 or not self.min_density > 0:
            raise ValueError("density_lr and min_density must be > 0")


class DSO(PromptPolicyAgent):
    """Kernel policy gradient in sentence space (see the module docstring)."""

    name = "dso"
    Config = DSOConfig

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.generator = None
        self.timings: dict[str, float] = {}

    def fit(self, dataset: LoggedDataset, deployment: Any = None, generator: Any = None,
            **kwargs: Any) -> DSO:
        """Learn from logged rounds, writing fresh sentences with the frozen ``generator``.

        Args:
            dataset: logged prompt rounds whose :class:`PromptView` holds the
                ``sentence_embedding`` (n, d_s), ``pi_b`` (n, n_prompts) and ``query_slice``.
            deployment: the deployed system; its ``generator`` is the frozen generator.
            generator: the frozen generator handle (``generate(query, prompt_ids, rng)``)
                given directly; defaults to the deployment's, then ``self.generator``.
        """
        import time

        generator = generator if generator is not None else getattr(deployment, "generator",
                                                                    None)
        if generator is not None:
            self.generator = generator
        t0 = time.perf_counter()
        out = super().fit(dataset, **kwargs)
        self.timings["total"] = time.perf_counter() - t0
        self.timings["policy"] = self.timings["total"] - self.timings.get("density", 0.0)
        return out

    # ---------------------------------------------------------------- preparation
    def _prepare(self, dataset: LoggedDataset, generator, **kwargs: Any) -> None:
        # ``generator`` is the training loop's torch generator; the frozen sentence
        # generator is ``self.generator``.
        import time

        super()._prepare(dataset, generator, **kwargs)
        view = PromptView.of(dataset)
        if view.sentence_embedding is None:
            raise DatasetError(
                "dso needs the logged sentences: the dataset has no extras['sentence_embedding'] "
                f"(it has {sorted(dataset.extras)}); collect it from a prompt environment, "
                "whose log_rounds records the embedding of each generated sentence"
            )
        if view.pi_b is None:
            raise DatasetError(
                "dso estimates pi_0(phi(s)|x) by writing sentences under the behaviour policy and "
                "needs its full distribution extras['pi_b'] (n, n_prompts); collect with "
                "log_pi_b=True"
            )
        qs = view.query_slice
        if qs is None:
            raise DatasetError(
                "dso needs meta.info['query_slice'] (where the query sits in the context) to "
                "feed the generator; collect the data from a prompt environment"
            )
        self._check_generator(view)
        cfg = self.config
        self._query = dataset.context[:, qs[0] : qs[1]].astype(np.float64)
        self._sent = view.sentence_embedding.astype(np.float64)
        self._pi_b = view.pi_b.astype(np.float64)
        text = bool(np.all(np.abs(np.linalg.norm(self._sent, axis=1) - 1.0) < 1e-3))
        self.embedding_noise = (cfg.embedding_noise if cfg.embedding_noise is not None
                                else (0.0 if text else 1.0))
        self.density = cfg.density if cfg.density != "auto" else ("mc" if text else "model")
        self.tau = (AUTHORS_TAU if cfg.bandwidth == "authors"
                    else cfg.bandwidth * self._bandwidth_scale(len(dataset)))
        t0 = time.perf_counter()
        if self.density == "mc":
            density = self._mc_density(np.arange(len(dataset)))
        else:
            density = self._model_density(dataset.context, generator)
        self.timings["density"] = time.perf_counter() - t0
        self.pi0_hat = np.maximum(density, cfg.min_density)
        self._r = dataset.reward.astype(np.float64)

    def _bandwidth_scale(self, n: int) -> float:
        """The median distance of :attr:`DSOConfig.bandwidth_rule` (1 for ``fixed``)."""
        rule = self.config.bandwidth_rule
        if rule == "fixed":
            return 1.0
        rows = self._np_rng.integers(0, n, size=min(BANDWIDTH_ROWS, n))
        if rule == "within_query":
            prompts = sample_categorical(self._pi_b[rows], 1, self._np_rng)[:, 0]
            other = self._generated(rows, prompts)
        else:  # "median": another logged sentence, usually of another query
            other = self._sent[self._np_rng.integers(0, n, size=len(rows))]
        d = kernel_distance(self._noisy(self._sent[rows]), self._noisy(other))
        return float(np.median(d[d > 0])) if np.any(d > 0) else 1.0

    def _check_generator(self, view: PromptView) -> None:
        n_prompts = view.dataset.meta.n_actions
        g = self.generator
        if g is None or not hasattr(g, "generate"):
            raise AgentError(
                "dso needs the frozen generator to write sentences for sampled prompts: pass "
                "fit(dataset, generator=env.unwrapped.generator) (or set agent.generator)"
            )
        if int(getattr(g, "n_prompts", n_prompts)) != n_prompts:
            raise AgentError(
                f"the generator knows {g.n_prompts} prompts; the data has {n_prompts}"
            )
        d_s = view.sentence_embedding.shape[1]
        if int(getattr(g, "dim_sentence", d_s)) != d_s:
            raise AgentError(
                f"the generator writes {g.dim_sentence}-dimensional embeddings; the logged "
                f"sentence embeddings have {d_s} dimensions"
            )

    def _noisy(self, emb: np.ndarray) -> np.ndarray:
        if self.embedding_noise == 0:
            return emb
        return emb + self.embedding_noise * self._np_rng.standard_normal(emb.shape)

    def _generated(self, rows: np.ndarray, prompts: np.ndarray) -> np.ndarray:
        out = np.asarray(self.generator.generate(self._query[rows], prompts, self._np_rng))
        if out.shape != (len(rows), self._sent.shape[1]):
            raise AgentError(
                f"the generator returned embeddings of shape {out.shape}; expected "
                f"({len(rows)}, {self._sent.shape[1]}) like the logged sentences"
            )
        return out

    def _kernel_to_pi0_draws(self, rows: np.ndarray) -> np.ndarray:
        """K(s_i, s') with s' written for a' ~ pi_0(.|x_i): (m,) rows -> (m,)."""
        prompts = sample_categorical(self._pi_b[rows], 1, self._np_rng)[:, 0]
        s_new = self._generated(rows, prompts)
        cfg = self.config
        return kernel_values(
            self._noisy(self._sent[rows]), self._noisy(s_new), cfg.kernel, self.tau
        )

    def _mc_density(self, rows: np.ndarray) -> np.ndarray:
        """Monte Carlo pi_0(phi(s_i)|x_i): mean of K over ``n_mc`` draws per row."""
        n_mc = self.config.n_mc
        chunk = max(1, 200_000 // n_mc)
        out = np.empty(len(rows))
        for start in range(0, len(rows), chunk):  # chunks bound memory
            r = np.repeat(rows[start : start + chunk], n_mc)
            k = self._kernel_to_pi0_draws(r)
            out[start : start + chunk] = k.reshape(-1, n_mc).mean(axis=1)
        return out

    def _model_density(self, context: np.ndarray, generator) -> np.ndarray:
        """Fit f(x, q, s) >= 0 to K(s_i, s') by least squares; returns f on the logged rows.

        The MLP is initialised from the torch ``generator``; its minibatches and the
        sentences it regresses on come from the agent's numpy generator.
        """
        import torch

        from agents.networks import init_from_generator  # lazy: torch

        cfg = self.config
        feats = np.hstack([context.astype(np.float32), self._sent.astype(np.float32)])
        mu, sd = feats.mean(0), feats.std(0) + 1e-6  # standardise: sentences vary in scale
        x_all = torch.from_numpy((feats - mu) / sd)
        net = torch.nn.Sequential(
            torch.nn.Linear(feats.shape[1], cfg.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(cfg.hidden, 1),
            torch.nn.Softplus(),
        )
        init_from_generator(net, generator)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.density_lr)
        n = len(feats)
        for _ in range(cfg.density_steps):
            rows = self._np_rng.integers(0, n, size=min(cfg.density_batch, n))
            target = torch.from_numpy(self._kernel_to_pi0_draws(rows).astype(np.float32))
            loss = ((net(x_all[rows])[:, 0] - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return net(x_all)[:, 0].double().numpy()

    # ---------------------------------------------------------------- gradient
    def _loss(self, idx, logp, generator):
        import torch

        cfg = self.config
        # a' ~ pi_theta(.|x_i) by inverse CDF (torch.multinomial costs ~10x more here)
        prompts = sample_categorical(logp.detach().exp().double().numpy(), 1, self._np_rng)[:, 0]
        rows = idx.numpy()
        s_new = self._generated(rows, prompts)
        k = kernel_values(
            self._noisy(self._sent[rows]), self._noisy(s_new), cfg.kernel, self.tau
        )
        w = np.minimum(k / self.pi0_hat[rows], cfg.weight_clip) * self._r[rows]
        lp = logp.gather(1, torch.from_numpy(prompts)[:, None])[:, 0]
        return -(torch.from_numpy(w.astype(np.float32)) * lp).mean()
