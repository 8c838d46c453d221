"""Off-policy estimates for two-stage recommendation (Ma et al., WWW 2020).

The agent is the candidate generator: ``act`` returns k item ids per user, the
environment's fixed ranker shows one. Online value: the expected clicks of the shown item
per user. Off-policy estimates are of the same value: the logged action is the item shown
first, so the target's probability of it goes through the ranker - exactly, as the agent
draws its candidates (:func:`recsim_envs.ope.policy.shown_item_distribution`), or a one-hot
of the ranker's choice for deterministic generators.

DM and DR use a bilinear ridge model of clicks on (user features, item features) fitted on
the training log; their intervals refit it on a bootstrap resample of the training log in
every replicate, so they include the reward model's error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.data.views import TwoStageView
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope.bandit import bandit_estimates
from recsim_envs.ope.estimate import OffPolicyEstimate
from recsim_envs.ope.policy import one_hot, shown_item_distribution
from recsim_envs.ope.targets import agent_actions
from recsim_envs.two_stage.ranker import with_bias_column

REWARD_MODEL_RIDGE = 1.0
MODEL_REPLICATES = 100
"""Bootstrap replicates of DM and DR, each with the reward model refit (about 40 ms each)."""


def estimate(
    agent: AgentHandle, heldout: LoggedDataset, deployment: Deployment,
    rng: np.random.Generator, *, train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Estimates of the agent's two-stage value from ``heldout`` (reward model fitted on
    ``train``); ``{}`` for logs of the paper's without-replacement protocol."""
    if heldout.meta.info.get("protocol") == "without_replacement":
        # The paper's protocol (TwoStagePaper-v0) logs movies drawn without replacement,
        # not the ranker's picks: no estimator here targets the two-stage value from them.
        return {}
    view = TwoStageView.of(heldout)
    ctx, n_items, k = heldout.context, view.n_items, view.n_candidates
    space = gym.spaces.MultiDiscrete(np.full(k, n_items))
    ranker = deployment.ranker
    if agent.sampler:
        per_draw = agent.distribution(ctx, n_items)
        target = shown_item_distribution(per_draw, ranker.scores_all(ctx), k,
                                         bool(agent.agent.with_replacement))
    else:
        candidates = agent_actions(agent, ctx, space, agent.name)
        target = one_hot(ranker.select(ctx, candidates, 1)[:, 0], n_items)
    if train is None:
        raise ValueError("the two-stage DM and DR fit their reward model on a training log: "
                         "pass train=")
    model = _RewardModel(TwoStageView.of(train))
    q = model.predict(ctx)
    rows = np.arange(len(heldout))
    refits: list[tuple[np.ndarray, np.ndarray]] = []
    calls = [0]

    def refit(g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        # DM and DR each draw MODEL_REPLICATES refits; the second estimator reuses the
        # first one's (each replicate still pairs a refit with a fresh resample of the
        # held-out rounds), which halves the cost of the cell's slowest step.
        i = calls[0] % MODEL_REPLICATES
        calls[0] += 1
        if i == len(refits):
            q_b = model.predict(ctx, model.resampled(g))
            refits.append(((target * q_b).sum(axis=1), q_b[rows, heldout.action]))
        return refits[i]

    return bandit_estimates(
        target[rows, heldout.action], heldout.pscore, heldout.reward,
        dm_terms=(target * q).sum(axis=1), q_logged=q[rows, heldout.action],
        refit=refit, rng=rng, n_boot_model=MODEL_REPLICATES,
    )


class _RewardModel:
    """A bilinear ridge model of clicks on (user features, item features): the
    direct-method model of DM and DR; contexts (n, d) -> (n, N) click estimates in [0, 1].

    Ridge regression on the outer product [x, 1] (x) [f, 1] (as
    :func:`recsim_envs.two_stage.ranker.fit_bilinear`); the design matrix is built once so that a
    bootstrap refit only reweights the rows (counts from the resample).
    """

    def __init__(self, view: TwoStageView) -> None:
        ds = view.dataset
        self.items = with_bias_column(np.asarray(view.item_features, dtype=np.float64))
        self.x = with_bias_column(np.asarray(ds.context, dtype=np.float64))
        self.action = np.asarray(ds.action, dtype=np.int64)
        self.shape = (self.x.shape[1], self.items.shape[1])
        self.reward = np.asarray(ds.reward, dtype=np.float64)
        # Rows of one item share f: the Gram matrix sum_i c_i (x_i x_i^T) (x) (f_a f_a^T)
        # is then a sum over items of per-item user moments, O(items * d^4) instead of
        # O(rows * d^4) - about 10x cheaper per bootstrap refit when items << rows.
        self.by_item = len(self.items) < len(self.x)
        self._outer = None  # (rows, d_x^2) user outer products, built at the first solve
        if not self.by_item:
            f = self.items[self.action]
            self.design = np.einsum("mi,mj->mij", self.x, f).reshape(len(self.x), -1)
        self.weights = self._solve(np.ones(len(self.x)))

    def _solve(self, counts: np.ndarray) -> np.ndarray:
        import torch  # its BLAS solves this ~5x faster than numpy's on the reference machine

        d = self.shape[0] * self.shape[1]
        eye = REWARD_MODEL_RIDGE * torch.eye(d, dtype=torch.float64)
        if not self.by_item:
            design = torch.from_numpy(self.design)
            wd = design * torch.from_numpy(counts)[:, None]
            w = torch.linalg.solve(wd.T @ design + eye, wd.T @ torch.from_numpy(self.reward))
            return w.numpy().reshape(self.shape)
        x = torch.from_numpy(self.x)
        c = torch.from_numpy(counts)
        act = torch.from_numpy(self.action)
        f = torch.from_numpy(self.items)
        n_items = len(self.items)
        moments = torch.zeros((n_items, x.shape[1], x.shape[1]), dtype=torch.float64)
        if self._outer is None:
            self._outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), -1)
        moments.view(n_items, -1).index_add_(0, act, c[:, None] * self._outer)
        xr = torch.zeros((n_items, x.shape[1]), dtype=torch.float64)
        xr.index_add_(0, act, (c * torch.from_numpy(self.reward))[:, None] * x)
        dx, df = self.shape
        outer_f = (f[:, :, None] * f[:, None, :]).reshape(n_items, df * df)
        gram = (moments.reshape(n_items, dx * dx).T @ outer_f).reshape(dx, dx, df, df)
        gram = gram.permute(0, 2, 1, 3).reshape(d, d)
        rhs = torch.einsum("ai,ak->ik", xr, f).reshape(d)
        return torch.linalg.solve(gram + eye, rhs).numpy().reshape(self.shape)

    def resampled(self, rng: np.random.Generator) -> np.ndarray:
        """Weights refit on a bootstrap resample of the training rounds."""
        n = len(self.reward)
        return self._solve(np.bincount(rng.integers(n, size=n), minlength=n).astype(float))

    def predict(self, ctx: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        import torch  # single-threaded in the runner; numpy's BLAS may oversubscribe

        w = self.weights if weights is None else weights
        x = torch.from_numpy(with_bias_column(np.asarray(ctx, dtype=np.float64)))
        right = torch.from_numpy(np.asarray(w, dtype=np.float64) @ self.items.T)
        return (x @ right).clamp_(0.0, 1.0).numpy()
