"""Off-policy baselines for prompt selection, and the prompt family's reference policies.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5 and Appendix: the baselines DSO is compared with.

Every learner is a softmax policy pi_theta(a | x, q) given by an MLP on the observation
[x, q] (100 hidden units), trained with Adam (lr 5e-4, 20,000 steps of batch 32 by default)
on a policy-gradient estimate built from logged rounds:

* :class:`RegressionPG` (``regression_pg``): grad E_{a ~ pi}[q_hat(x, a)], with q_hat an MLP
  reward regressor on [x, q, e_a] fit on the logged data.
* :class:`ISPG` (``is_pg``): action-space importance sampling, -w r log pi(a_i|x),
  w = pi(a_i|x)/pi_0(a_i|x) detached and clipped.
* :class:`DRPG` (``dr_pg``): IS on r - q_hat plus the regression term.
* :class:`POTEC` (``potec``): Saito et al. (2024)'s two-stage policy: a cluster policy learned
  with the DR gradient on cluster propensities, then greedy on q_hat within the cluster.
* :class:`OnlinePG` (``online_pg``): SKYLINE, trained online on rewards from the
  environment (``offline = False``); it bounds what logged data could give.
* :class:`UniformPrompt` (``uniform``) and :class:`PromptLogging` (``prompt_logging``).

The regression term is computed exactly over all prompts (sum_a pi(a|x) q_hat(x, a))
instead of with one sampled prompt as in the reference code: the same expected gradient
with less variance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.core.policies import sample_categorical
from recsim_envs.data import LoggedDataset
from recsim_envs.data.dataset import DatasetError
from recsim_envs.prompt.text.regressor import (
    PromptRewardRegressor,
    RegressorConfig,
    _init_linear,
    torch_threads,
)


# ---------------------------------------------------------------------- shared machinery
@dataclass
class PromptPGConfig:
    """Settings shared by the prompt policy-gradient learners.

    Attributes:
        seed: seeds the network initialisation, the minibatches and every sampled draw.
        hidden: hidden units of the policy MLP (100 in the reference).
        n_steps: Adam steps of policy training (20,000 in the reference).
        batch_size: logged rows per step (32).
        lr: Adam learning rate (5e-4).
        weight_clip: upper clip of importance weights (200).
        regressor_steps: Adam steps of the reward regressor q_hat (if the method uses one).
        n_threads: torch threads during training (1 is fastest for nets this small).
    """

    seed: int = 0
    hidden: int = 100
    n_steps: int = 20_000
    batch_size: int = 32
    lr: float = 5e-4
    weight_clip: float = 200.0
    regressor_steps: int = 3000
    n_threads: int = 1

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.batch_size < 1 or self.n_threads < 1:
            raise ValueError("hidden, batch_size and n_threads must be >= 1")
        if self.n_steps < 0 or self.regressor_steps < 0:
            raise ValueError("n_steps and regressor_steps must be >= 0")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.weight_clip > 0:
            raise ValueError(f"weight_clip must be > 0, got {self.weight_clip}")


def make_policy_net(obs_dim: int, n_out: int, hidden: int, gen):
    """MLP obs (d) -> hidden -> n_out logits, initialised from the torch generator ``gen``."""
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(obs_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_out)
    )
    _init_linear(net, gen)
    return net


def check_prompt_dataset(dataset: LoggedDataset, agent: str) -> None:
    """Raise a clear error unless ``dataset`` is non-empty logged prompt data."""
    if not isinstance(dataset, LoggedDataset):
        raise AgentError(f"{agent} learns from a LoggedDataset, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise AgentError(f"{agent} got an empty dataset")
    family = dataset.meta.info.get("family")
    if family not in (None, "prompt"):
        raise AgentError(
            f"{agent} learns prompt policies; the dataset comes from the {family!r} family "
            f"({dataset.meta.env_id})"
        )


class PromptPolicyAgent(BaseAgent):
    """Base of the prompt learners: a softmax MLP policy trained by a gradient estimate.

    Subclasses implement :meth:`_prepare` (precompute per-row tensors from the dataset)
    and :meth:`_loss` (the policy-gradient surrogate on a minibatch).
    """

    Config: ClassVar[type] = PromptPGConfig
    n_policy_outputs_from_clusters: ClassVar[bool] = False

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.net = None
        self.obs_dim = 0
        self.n_prompts = 0
        self._act_rng = np.random.default_rng(self.config.seed)

    # ---------------------------------------------------------------- training
    def fit(self, dataset: LoggedDataset, deployment: Any = None,
            **kwargs: Any) -> PromptPolicyAgent:
        """Learn the policy from logged rounds only; returns ``self``."""
        import torch

        check_prompt_dataset(dataset, self.name)
        self.obs_dim = int(dataset.context.shape[1])
        self.n_prompts = int(dataset.meta.n_actions)
        cfg = self.config
        with torch_threads(cfg.n_threads):
            gen = torch.Generator().manual_seed(cfg.seed)
            self._np_rng = np.random.default_rng(cfg.seed)
            self._prepare(dataset, gen, **kwargs)
            self.net = make_policy_net(self.obs_dim, self._n_outputs(), cfg.hidden, gen)
            # fused Adam: one kernel for all parameters, about 30% faster for nets this small
            opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, fused=True)
            obs = torch.from_numpy(np.ascontiguousarray(dataset.context, dtype=np.float32))
            n = len(dataset)
            batches = torch.randint(
                0, n, (cfg.n_steps, min(cfg.batch_size, n)), generator=gen
            )  # all minibatch indices drawn at once
            for idx in batches:
                logp = torch.log_softmax(self.net(obs[idx]), dim=1)
                loss = self._loss(idx, logp, gen)
                opt.zero_grad()
                loss.backward()
                opt.step()
        self._act_rng = np.random.default_rng(cfg.seed)
        self.fitted = True
        return self

    def _n_outputs(self) -> int:
        return self.n_prompts

    def _prepare(self, dataset: LoggedDataset, gen, **kwargs: Any) -> None:
        if kwargs:
            raise AgentError(f"{self.name}.fit got unexpected arguments {sorted(kwargs)}")

    def _loss(self, idx, logp, gen):
        raise NotImplementedError

    # ---------------------------------------------------------------- acting
    def _policy_probs(self, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad(), torch_threads(self.config.n_threads):
            logits = self.net(torch.from_numpy(obs))
            return torch.softmax(logits.double(), dim=1).numpy()

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        """(n, d) or (d,) observations -> (n, n_prompts) probabilities of the learned policy."""
        self._require_fitted()
        arr, _ = as_batch(obs, self.obs_dim)
        return self._policy_probs(arr)

    def act(self, obs: np.ndarray):
        """Sample prompts from :meth:`action_probs` (seeded by ``config.seed``)."""
        self._require_fitted()
        arr, single = as_batch(obs, self.obs_dim)
        actions = sample_categorical(self._policy_probs(arr), 1, self._act_rng)[:, 0]
        return int(actions[0]) if single else actions

    # ---------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        if self.net is None:
            return {}
        state = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        state.update({"obs_dim": self.obs_dim, "n_prompts": self.n_prompts})
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        if not state:
            return
        self.obs_dim, self.n_prompts = int(state["obs_dim"]), int(state["n_prompts"])
        self._restore_extra(state)
        self.net = make_policy_net(
            self.obs_dim, self._n_outputs(), self.config.hidden, torch.Generator()
        )
        self.net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})

    def _restore_extra(self, state: dict[str, Any]) -> None:
        pass


def fit_regressor(dataset: LoggedDataset, config: PromptPGConfig, agent: str):
    """q_hat on [x, q, e_a] fit on the logged rows (needs ``system['prompt_embeddings']``)."""
    if "prompt_embeddings" not in dataset.system:
        raise DatasetError(
            f"{agent} needs the prompt features system['prompt_embeddings'] (n_prompts, d) to "
            "fit its reward regressor; collect the data from a prompt environment"
        )
    emb = dataset.system["prompt_embeddings"]
    if emb.shape[0] != dataset.meta.n_actions:
        raise DatasetError(
            f"system['prompt_embeddings'] has {emb.shape[0]} rows for "
            f"{dataset.meta.n_actions} prompts"
        )
    reg = PromptRewardRegressor(emb, RegressorConfig(n_steps=config.regressor_steps))
    return reg.fit(dataset.context, dataset.action, dataset.reward, seed=config.seed + 1)


def _regressor_state(reg: PromptRewardRegressor) -> dict[str, Any]:
    state = {f"reg.{k}": v for k, v in reg.params.items()}
    state["reg.prompt_embeddings"] = reg.prompt_embeddings
    return state


def _regressor_from_state(state: dict[str, Any]) -> PromptRewardRegressor:
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

    def _prepare(self, dataset, gen, **kwargs):
        import torch

        super()._prepare(dataset, gen, **kwargs)
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self._qhat = torch.from_numpy(self.regressor.predict_all(dataset.context))  # (n, P)

    def _loss(self, idx, logp, gen):
        return -(logp.exp() * self._qhat[idx]).sum(dim=1).mean()


class ISPG(PromptPolicyAgent):
    """Action-space importance sampling: loss -clip(pi(a_i|x_i)/pscore_i) r_i log pi(a_i|x_i)."""

    name = "is_pg"

    def _prepare(self, dataset, gen, **kwargs):
        import torch

        super()._prepare(dataset, gen, **kwargs)
        self._a = torch.from_numpy(dataset.action)
        self._r = torch.from_numpy(dataset.reward.astype(np.float32))
        self._ps = torch.from_numpy(dataset.pscore.astype(np.float32))

    def _is_term(self, idx, logp, target):
        import torch

        lp = logp.gather(1, self._a[idx, None])[:, 0]
        w = torch.clamp(lp.detach().exp() / self._ps[idx], max=self.config.weight_clip)
        return w * target * lp

    def _loss(self, idx, logp, gen):
        return -self._is_term(idx, logp, self._r[idx]).mean()


class DRPG(ISPG):
    """Doubly robust: IS on r - q_hat(x, a_i) plus the regression term sum_a pi q_hat."""

    name = "dr_pg"

    def _prepare(self, dataset, gen, **kwargs):
        import torch

        super()._prepare(dataset, gen, **kwargs)
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self._qhat = torch.from_numpy(self.regressor.predict_all(dataset.context))
        self._resid = self._r - self._qhat.gather(1, self._a[:, None])[:, 0]

    def _loss(self, idx, logp, gen):
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

    def _prepare(self, dataset, gen, **kwargs):
        import torch

        super()._prepare(dataset, gen, **kwargs)
        if "pi_b" not in dataset.extras:
            raise DatasetError(
                "potec needs the behaviour policy's full distribution (extras['pi_b'], "
                "(n, n_prompts)) for cluster propensities; collect with log_pi_b=True"
            )
        self.regressor = fit_regressor(dataset, self.config, self.name)
        self.labels = kmeans(
            dataset.system["prompt_embeddings"],
            self.config.n_clusters,
            self.config.kmeans_iters,
            self._np_rng,
        )
        k = int(self.labels.max()) + 1
        onehot = np.eye(k, dtype=np.float64)[self.labels]  # (P, K)
        pscore_c = (dataset.extras["pi_b"].astype(np.float64) @ onehot)[
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

    def _loss(self, idx, logp, gen):
        import torch

        lp = logp.gather(1, self._c[idx, None])[:, 0]
        w = torch.clamp(lp.detach().exp() / self._ps[idx], max=self.config.weight_clip)
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


# ---------------------------------------------------------------------- skyline
class OnlinePG(PromptPolicyAgent):
    """SKYLINE (privileged): REINFORCE trained online on rewards drawn from the environment.

    Not an off-policy method: ``fit(dataset)`` only reads the sizes (and the number of
    prompts) from the logged data; learning happens in :meth:`observe`, which the harness
    calls with the transitions it steps (batched: obs (n, d), action (n,), reward (n,)).
    Every ``batch_size`` transitions it takes one Adam step on
    -mean((r - b) log pi(a | x)) with b a running mean of rewards. See :func:`train_online`.
    """

    name = "online_pg"
    offline = False

    def fit(self, dataset: LoggedDataset, deployment: Any = None, **kwargs: Any) -> OnlinePG:
        check_prompt_dataset(dataset, self.name)
        return self.setup(int(dataset.context.shape[1]), int(dataset.meta.n_actions))

    def setup(self, obs_dim: int, n_prompts: int) -> OnlinePG:
        """Initialise an untrained policy for observations of width ``obs_dim``."""
        import torch

        self.obs_dim, self.n_prompts = obs_dim, n_prompts
        gen = torch.Generator().manual_seed(self.config.seed)
        self.net = make_policy_net(obs_dim, n_prompts, self.config.hidden, gen)
        self._opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr, fused=True)
        self._baseline = 0.0
        self._n_updates = 0
        self._act_rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    def observe(self, obs, action, reward, next_obs=None, terminated=True, truncated=False):
        import torch

        self._require_fitted()
        arr, _ = as_batch(obs, self.obs_dim)
        a = torch.from_numpy(np.atleast_1d(np.asarray(action, dtype=np.int64)))
        r = np.atleast_1d(np.asarray(reward, dtype=np.float64))
        with torch_threads(self.config.n_threads):
            logp = torch.log_softmax(self.net(torch.from_numpy(arr)), dim=1)
            lp = logp.gather(1, a[:, None])[:, 0]
            adv = torch.from_numpy((r - self._baseline).astype(np.float32))
            loss = -(adv * lp).mean()
            self._opt.zero_grad()
            loss.backward()
            self._opt.step()
        self._n_updates += 1
        # Running mean of rewards as the variance-reducing baseline.
        self._baseline += (float(r.mean()) - self._baseline) / min(self._n_updates, 100)


def train_online(agent: OnlinePG, vec_env, n_updates: int, seed: int) -> OnlinePG:
    """Harness loop for the skyline: ``n_updates`` steps of a native vector env.

    The environment stays with the harness; the agent sees (obs, action, reward) only.
    Each vector step of ``num_envs`` users is one policy update (use ``num_envs`` =
    ``agent.config.batch_size`` to match the offline learners' 20,000 x 32 budget).
    """
    obs, _ = vec_env.reset(seed=seed)
    for _ in range(n_updates):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, info = vec_env.step(action)
        agent.observe(obs, action, reward, next_obs, terminated, truncated)
        obs = next_obs
    return agent


# ---------------------------------------------------------------------- reference policies
@dataclass
class ReferenceConfig:
    """Settings of the reference policies: only the seed of :meth:`act`'s draws."""

    seed: int = 0


class UniformPrompt(BaseAgent):
    """Every prompt with probability 1 / n_prompts (the zero of the optimality metric)."""

    name = "uniform"
    Config = ReferenceConfig

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.obs_dim = 0
        self.n_prompts = 0
        self._act_rng = np.random.default_rng(self.config.seed)

    def fit(self, dataset: LoggedDataset, deployment: Any = None,
            **kwargs: Any) -> UniformPrompt:
        check_prompt_dataset(dataset, self.name)
        self.obs_dim = int(dataset.context.shape[1])
        self.n_prompts = int(dataset.meta.n_actions)
        self.fitted = True
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        arr, _ = as_batch(obs, self.obs_dim)
        return np.full((len(arr), self.n_prompts), 1.0 / self.n_prompts)

    def act(self, obs: np.ndarray):
        self._require_fitted()
        arr, single = as_batch(obs, self.obs_dim)
        actions = self._act_rng.integers(0, self.n_prompts, size=len(arr))
        return int(actions[0]) if single else actions

    def state_dict(self) -> dict[str, Any]:
        return {"obs_dim": self.obs_dim, "n_prompts": self.n_prompts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.obs_dim = int(state.get("obs_dim", 0))
        self.n_prompts = int(state.get("n_prompts", 0))


class PromptLogging(UniformPrompt):
    """The behaviour policy pi_0 that logged the data, replayed (reference row of the tables).

    The behaviour policy belongs to the deployed system, so the harness hands it over:
    ``fit(dataset, behaviour=policy)`` with a :class:`recsim_envs.core.policies.BehaviourPolicy`.
    It is not saved with :meth:`save` (only its name is known from the dataset).
    """

    name = "prompt_logging"

    def fit(self, dataset: LoggedDataset, deployment: Any = None, behaviour: Any = None,
            **kwargs: Any) -> PromptLogging:
        super().fit(dataset)
        behaviour = behaviour if behaviour is not None else getattr(deployment, "behaviour",
                                                                    None)
        if behaviour is None:
            raise AgentError(
                "prompt_logging replays the behaviour policy: pass fit(dataset, "
                f"behaviour=policy) with the policy that logged the data "
                f"({dataset.meta.policy_name!r})"
            )
        if behaviour.n_actions != self.n_prompts:
            raise AgentError(
                f"the behaviour policy has {behaviour.n_actions} actions; the data has "
                f"{self.n_prompts} prompts"
            )
        self.behaviour = behaviour
        return self

    def action_probs(self, obs: np.ndarray) -> np.ndarray:
        self._require_fitted()
        if getattr(self, "behaviour", None) is None:
            raise AgentError(
                "prompt_logging has no behaviour policy (a loaded checkpoint does not carry "
                "it): call fit(dataset, behaviour=policy)"
            )
        arr, _ = as_batch(obs, self.obs_dim)
        # The behaviour policy scores every prompt with an MLP: evaluate each distinct
        # observation once (the harness's sampling check repeats a few rows 50,000 times).
        uniq, inverse = np.unique(arr, axis=0, return_inverse=True)
        if len(uniq) == len(arr):
            return np.asarray(self.behaviour.probs(arr), dtype=np.float64)
        return np.asarray(self.behaviour.probs(uniq), dtype=np.float64)[inverse.reshape(-1)]

    def act(self, obs: np.ndarray):
        self._require_fitted()
        arr, single = as_batch(obs, self.obs_dim)
        actions = sample_categorical(self.action_probs(arr), 1, self._act_rng)[:, 0]
        return int(actions[0]) if single else actions


__all__ = [
    "DRPG",
    "ISPG",
    "POTEC",
    "OnlinePG",
    "PromptLogging",
    "PromptPGConfig",
    "PromptPolicyAgent",
    "RegressionPG",
    "UniformPrompt",
    "train_online",
]
