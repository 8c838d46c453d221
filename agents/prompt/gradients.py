"""Off-policy policy gradients over prompts: the baselines DSO is compared with.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5 and Appendix. Each is a leaf on
:class:`~agents.prompt.base.PromptPolicyAgent` that supplies a surrogate loss:

* :class:`RegressionPG` (``regression_pg``): grad E_{a ~ pi}[q_hat(x, a)], with q_hat an MLP
  reward regressor on [x, q, e_a] fit on the logged data.
* :class:`ISPG` (``is_pg``): action-space importance sampling, -w r log pi(a_i|x),
  w = pi(a_i|x)/pi_0(a_i|x) detached and clipped.
* :class:`DRPG` (``dr_pg``): IS on r - q_hat plus the regression term.
* :class:`POTEC` (``potec``): Saito et al. (2024)'s two-stage policy: a cluster policy learned
  with the DR gradient on cluster propensities, then greedy on q_hat within the cluster.

The regression term is computed exactly over all prompts (sum_a pi(a|x) q_hat(x, a))
instead of with one sampled prompt as in the reference code: the same expected gradient
with less variance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.prompt.base import PromptPGConfig, PromptPolicyAgent, clipped_weight
from recsim_envs.data import LoggedDataset
from recsim_envs.data.dataset import DatasetError
from recsim_envs.prompt.text.regressor import PromptRewardRegressor, RegressorConfig
from recsim_envs.prompt.view import PromptView

# ---------------------------------------------------------------------- reward regressor
PROMPT_FEATURES = ("logged", "random")


@dataclass
class RegressionPGConfig(PromptPGConfig):
    """:class:`PromptPGConfig` plus which prompt features e_a the reward regressor reads.

    Attributes:
        prompt_features: "logged" (default): the system's features
            ``system['prompt_embeddings']`` (in the text worlds, from the prompt's text);
            "random": a random Gaussian code per prompt of the same width, drawn from
            ``seed`` (the regressor then learns each prompt's effect from that prompt's
            own rounds: the regression without text features).
    """

    prompt_features: str = "logged"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prompt_features not in PROMPT_FEATURES:
            raise ValueError(f"prompt_features must be one of {PROMPT_FEATURES}, got "
                             f"{self.prompt_features!r}")


def fit_regressor(dataset: LoggedDataset, config: PromptPGConfig, agent: str):
    """q_hat on [x, q, e_a] fit on the logged rows (the view's ``prompt_embeddings``;
    replaced by a random code per prompt where ``config.prompt_features == "random"``)."""
    try:
        emb = PromptView.of(dataset).prompt_embeddings  # checked: (n_prompts, d)
    except DatasetError as exc:
        raise DatasetError(f"{agent} fits its reward regressor on the prompt features: "
                           f"{exc}") from exc
    if getattr(config, "prompt_features", "logged") == "random":
        emb = np.random.default_rng([config.seed, 17]).standard_normal(emb.shape)
    reg = PromptRewardRegressor(emb, RegressorConfig(n_steps=config.regressor_steps))
    return reg.fit(dataset.context, dataset.action, dataset.reward, seed=config.seed + 1)


def _regressor_state(reg: PromptRewardRegressor) -> dict[str, Any]:
    """The fitted q_hat as checkpoint entries ``reg.*`` (arrays only)."""
    state = {f"reg.{k}": v for k, v in reg.params.items()}
    state["reg.prompt_embeddings"] = reg.prompt_embeddings
    return state


def _regressor_from_state(state: dict[str, Any]) -> PromptRewardRegressor:
    """Rebuild the q_hat saved by :func:`_regressor_state`."""
    reg = PromptRewardRegressor(state["reg.prompt_embeddings"])
    reg.params = {
        k[4:]: np.asarray(v) for k, v in state.items()
        if k.startswith("reg.") and k != "reg.prompt_embeddings"
    }
    return reg


# ---------------------------------------------------------------------- estimators
class RegressionPG(PromptPolicyAgent):
    """Model-based policy gradient: maximise sum_a pi(a|x) q_hat(x, a) on logged contexts."""

    name = "regression_pg"
    Config = RegressionPGConfig

    def _prepare(self, dataset, generator, **kwargs):
        import torch

        super()._prepare(dataset, generator, **kwargs)
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self._qhat = torch.from_numpy(self.regressor.predict_all(dataset.context))  # (n, P)

    def _loss(self, idx, logp, generator):
        return -(logp.exp() * self._qhat[idx]).sum(dim=1).mean()


class ISPG(PromptPolicyAgent):
    """Action-space importance sampling: loss -clip(pi(a_i|x_i)/pscore_i) r_i log pi(a_i|x_i)."""

    name = "is_pg"

    def _prepare(self, dataset, generator, **kwargs):
        import torch

        super()._prepare(dataset, generator, **kwargs)
        self._a = torch.from_numpy(dataset.action)
        self._r = torch.from_numpy(dataset.reward.astype(np.float32))
        self._ps = torch.from_numpy(dataset.pscore.astype(np.float32))

    def _is_term(self, idx, logp, target):
        lp = logp.gather(1, self._a[idx, None])[:, 0]
        return clipped_weight(lp, self._ps[idx], self.config.weight_clip) * target * lp

    def _loss(self, idx, logp, generator):
        return -self._is_term(idx, logp, self._r[idx]).mean()


class DRPG(ISPG):
    """Doubly robust: IS on r - q_hat(x, a_i) plus the regression term sum_a pi q_hat."""

    name = "dr_pg"
    Config = RegressionPGConfig

    def _prepare(self, dataset, generator, **kwargs):
        import torch

        super()._prepare(dataset, generator, **kwargs)
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self._qhat = torch.from_numpy(self.regressor.predict_all(dataset.context))
        self._resid = self._r - self._qhat.gather(1, self._a[:, None])[:, 0]

    def _loss(self, idx, logp, generator):
        model = (logp.exp() * self._qhat[idx]).sum(dim=1)
        return -(self._is_term(idx, logp, self._resid[idx]) + model).mean()


@dataclass
class POTECConfig(PromptPGConfig):
    """:class:`PromptPGConfig` plus the number of k-means clusters of prompt embeddings."""

    n_clusters: int = 10
    kmeans_iters: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_clusters < 1 or self.kmeans_iters < 1:
            raise ValueError("n_clusters and kmeans_iters must be >= 1")


def kmeans(points: np.ndarray, k: int, n_iters: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding: (n, d) -> (n,) cluster labels in [0, k)."""
    x = np.asarray(points, dtype=np.float64)
    k = min(k, len(x))
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):  # k-means++: next centre with probability ~ squared distance
        d2 = ((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1).min(1)
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(len(x), 1.0 / len(x))
        centres.append(x[rng.choice(len(x), p=p)])
    c = np.array(centres)
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(n_iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(c)
        np.add.at(sums, labels, x)
        nonempty = counts > 0
        c[nonempty] = sums[nonempty] / counts[nonempty, None]
    return labels


class POTEC(PromptPolicyAgent):
    """Two-stage policy (Saito et al., 2024, POTEC) over k-means clusters of prompt embeddings.

    Stage 1: pi_theta(c | x) over clusters, trained with the DR gradient using cluster
    propensities pi_0(c_i | x) = sum_{a in c_i} pi_0(a | x) (needs the logged ``pi_b``).
    Stage 2: the prompt in the chosen cluster with the highest q_hat(x, a).
    """

    name = "potec"
    Config = POTECConfig

    def _n_outputs(self) -> int:
        return int(self.labels.max()) + 1

    def _prepare(self, dataset, generator, **kwargs):
        import torch

        super()._prepare(dataset, generator, **kwargs)
        view = PromptView.of(dataset)
        if view.pi_b is None:
            raise DatasetError(
                "potec needs the behaviour policy's full distribution (extras['pi_b'], "
                "(n, n_prompts)) for cluster propensities; collect with log_pi_b=True"
            )
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self.labels = kmeans(
            view.prompt_embeddings,
            self.config.n_clusters,
            self.config.kmeans_iters,
            self._np_rng,
        )
        k = int(self.labels.max()) + 1
        onehot = np.eye(k, dtype=np.float64)[self.labels]  # (P, K)
        pscore_c = (view.pi_b.astype(np.float64) @ onehot)[
            np.arange(len(dataset)), self.labels[dataset.action]
        ]
        qhat = self.regressor.predict_all(dataset.context)
        best_val, _ = self._best_in_cluster(qhat)
        self._c = torch.from_numpy(self.labels[dataset.action])
        self._ps = torch.from_numpy(np.clip(pscore_c, 1e-12, 1.0).astype(np.float32))
        resid = dataset.reward - qhat[np.arange(len(dataset)), dataset.action]
        self._resid = torch.from_numpy(resid.astype(np.float32))
        self._vbest = torch.from_numpy(best_val.astype(np.float32))

    def _best_in_cluster(self, qhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster, the max of q_hat and its prompt: (n, P) -> (n, K), (n, K)."""
        k = int(self.labels.max()) + 1
        vals = np.empty((len(qhat), k), dtype=np.float64)
        args = np.empty((len(qhat), k), dtype=np.int64)
        for c in range(k):  # loop over the few clusters, vectorised over rows
            members = np.flatnonzero(self.labels == c)
            j = qhat[:, members].argmax(axis=1)
            args[:, c] = members[j]
            vals[:, c] = qhat[np.arange(len(qhat)), members[j]]
        return vals, args

    def _loss(self, idx, logp, generator):
        lp = logp.gather(1, self._c[idx, None])[:, 0]
        w = clipped_weight(lp, self._ps[idx], self.config.weight_clip)
        model = (logp.exp() * self._vbest[idx]).sum(dim=1)
        return -(w * self._resid[idx] * lp + model).mean()

    def _policy_probs(self, obs: np.ndarray) -> np.ndarray:
        cluster_probs = super()._policy_probs(obs)  # (n, K)
        _, args = self._best_in_cluster(self.regressor.predict_all(obs))
        out = np.zeros((len(obs), self.n_prompts))
        rows = np.repeat(np.arange(len(obs)), args.shape[1])
        np.add.at(out, (rows, args.ravel()), cluster_probs.ravel())
        return out

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state:
            state.update(_regressor_state(self.regressor))
            state["labels"] = self.labels
        return state

    def _restore_extra(self, state: dict[str, Any]) -> None:
        self.labels = np.asarray(state["labels"])
        self.regressor = _regressor_from_state(state)

