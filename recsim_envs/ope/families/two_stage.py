"""Off-policy estimates for two-stage recommendation (Ma et al., WWW 2020).

The agent is the candidate generator: ``act`` returns k item ids per user, the
environment's fixed ranker shows one. Online value: the expected clicks of the shown item
per user. Off-policy estimates are of the same value: the logged action is the item shown
first, so the target's probability of it goes through the ranker - exactly, as the agent
draws its candidates (:func:`recsim_envs.ope.policy.shown_item_distribution`), or a one-hot
of the ranker's choice for deterministic generators. The behaviour policy's shown-item
distribution (the same formula: its k i.i.d. draws) gives the unsupported and thin masses.

DM and DR use a bilinear ridge model of clicks on (user features, item features),
cross-fitted (:mod:`recsim_envs.ope.crossfit`): each half of the held-out log is scored by a
model fitted on the other half plus the training log (when given). DR's interval is then
the bootstrap over held-out rounds of its per-round terms. DM's interval is the same
bootstrap of its terms, which holds the model's bias fixed: it is labelled not calibrated,
as is IPS's (:data:`INTERVAL_CALIBRATED`, checked by the calibration tests).

Needs only the library: the ranker comes from ``deployment.ranker`` or, without one, from
the log's ``system`` arrays (``ranker_weights``, ``item_features``); the behaviour policy
(for the masses) from ``deployment.behaviour``; ``env`` is not used.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope.bandit import bandit_estimates, relabel
from recsim_envs.ope.crossfit import cross_fit
from recsim_envs.ope.estimate import OffPolicyEstimate
from recsim_envs.ope.policy import one_hot, shown_item_distribution
from recsim_envs.ope.targets import agent_actions
from recsim_envs.two_stage.ranker import BilinearRanker, with_bias_column
from recsim_envs.two_stage.view import TwoStageView

REWARD_MODEL_RIDGE = 1.0
INTERVAL_CALIBRATED = {"ips": False, "snips": True, "dm": False, "dr": True}
"""Whether each estimator's interval is a 95% interval over logs in this family. The rule:
True only where the calibration (``tests/test_ope_calibration.py``, slow: 200 replicate
logs of the quick world, targets random / logging / ce) measured >= 90% coverage for every
target (among its logs labelled calibrated), and the test fails if a True here measures
below. Per estimate, IPS-type and DR intervals are labelled calibrated only with status
"supported" (this log's ESS and the ESS expected under the behaviour policy both >= 10,
:func:`recsim_envs.ope.estimate.expected_ess`), IPS and SNIPS also only without thin mass
(:mod:`recsim_envs.ope.bandit`). Measured (docs/ope.md): IPS 0.84 on ``ce`` (heavy-tailed
weights: the percentile bootstrap of a skewed mean under-covers), DM 0.00-0.87 (the reward
model's bias is in no bootstrap over rounds); SNIPS 0.96 and DR 0.94-0.97 where labelled,
DR 0.907 on the random target (thin mass 0.19; 9% of its logs low ESS)."""
_NOT_CALIBRATED = ("not a 95% interval over logs: the two-stage calibration measured this "
                   "estimator's coverage below 90% (docs/ope.md)")


def estimate(
    agent: AgentHandle, heldout: LoggedDataset, deployment: Deployment,
    rng: np.random.Generator, *, train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Estimates of the agent's two-stage value from ``heldout``; ``train`` (optional) joins
    each fold's reward-model fit. ``{}`` for logs of the paper's without-replacement
    protocol."""
    if heldout.meta.info.get("protocol") == "without_replacement":
        # The paper's protocol (TwoStagePaper-v0) logs movies drawn without replacement,
        # not the ranker's picks: no estimator here targets the two-stage value from them.
        return {}
    view = TwoStageView.of(heldout)
    ctx, n_items, k = heldout.context, view.n_items, view.n_candidates
    space = gym.spaces.MultiDiscrete(np.full(k, n_items))
    ranker = deployment.ranker
    if ranker is None:
        ranker = BilinearRanker(np.asarray(view.ranker_weights, dtype=np.float32),
                                np.asarray(view.item_features, dtype=np.float32))
    scores = ranker.scores_all(ctx)
    if agent.sampler:
        per_draw = agent.distribution(ctx, n_items)
        target = shown_item_distribution(per_draw, scores, k,
                                         bool(agent.agent.with_replacement))
    else:
        candidates = agent_actions(agent, ctx, space, agent.name)
        target = one_hot(ranker.select(ctx, candidates, 1)[:, 0], n_items)
    behaviour = None
    if deployment.behaviour is not None:
        # the log's candidates are k i.i.d. draws of the behaviour policy (two_stage.log)
        behaviour = shown_item_distribution(np.asarray(deployment.behaviour.probs(ctx)),
                                            scores, k, True)
    q = cross_fit(len(heldout), _fit_predict(view, train), rng)
    rows = np.arange(len(heldout))
    out = bandit_estimates(
        target[rows, heldout.action], heldout.pscore, heldout.reward,
        dm_terms=(target * q).sum(axis=1), q_logged=q[rows, heldout.action], rng=rng,
        target_probs=None if behaviour is None else target, behaviour_probs=behaviour,
        n_boot_model=1000, dm_calibrated=INTERVAL_CALIBRATED["dm"],
        dr_calibrated=INTERVAL_CALIBRATED["dr"],
    )
    return relabel(out, INTERVAL_CALIBRATED, _NOT_CALIBRATED)


def _fit_predict(view: TwoStageView, train: LoggedDataset | None):
    """``fit_predict(fit_rows, eval_rows) -> (len(eval_rows), n_items)`` click estimates of
    the reward model fitted on ``fit_rows`` of the held-out log plus ``train``."""
    ds = view.dataset
    parts = [ds] if train is None else [TwoStageView.of(train).dataset, ds]
    n_train = 0 if train is None else len(train)
    ctx = np.concatenate([np.asarray(p.context, dtype=np.float64) for p in parts])
    action = np.concatenate([np.asarray(p.action, dtype=np.int64) for p in parts])
    reward = np.concatenate([np.asarray(p.reward, dtype=np.float64) for p in parts])
    items = np.asarray(view.item_features, dtype=np.float64)

    def fit_predict(fit_rows: np.ndarray, eval_rows: np.ndarray) -> np.ndarray:
        keep = np.concatenate([np.arange(n_train), n_train + fit_rows])
        model = _RewardModel(ctx[keep], action[keep], reward[keep], items)
        return model.predict(ctx[n_train + eval_rows])

    return fit_predict


class _RewardModel:
    """A bilinear ridge model of clicks on (user features, item features): the
    direct-method model of DM and DR; contexts (n, d) -> (n, N) click estimates in [0, 1].

    Ridge regression on the outer product [x, 1] (x) [f, 1] (as
    :func:`recsim_envs.two_stage.ranker.fit_bilinear`): context (m, d_x), action (m,),
    reward (m,) logged rounds; item_features (N, d_f).
    """

    def __init__(self, context: np.ndarray, action: np.ndarray, reward: np.ndarray,
                 item_features: np.ndarray) -> None:
        self.items = with_bias_column(np.asarray(item_features, dtype=np.float64))
        self.x = with_bias_column(np.asarray(context, dtype=np.float64))
        self.action = np.asarray(action, dtype=np.int64)
        self.shape = (self.x.shape[1], self.items.shape[1])
        self.reward = np.asarray(reward, dtype=np.float64)
        # Rows of one item share f: the Gram matrix sum_i c_i (x_i x_i^T) (x) (f_a f_a^T)
        # is then a sum over items of per-item user moments, O(items * d^4) instead of
        # O(rows * d^4) - about 10x cheaper per fit when items << rows.
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

    def predict(self, ctx: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        import torch  # single-threaded in the runner; numpy's BLAS may oversubscribe

        w = self.weights if weights is None else weights
        x = torch.from_numpy(with_bias_column(np.asarray(ctx, dtype=np.float64)))
        right = torch.from_numpy(np.asarray(w, dtype=np.float64) @ self.items.T)
        return (x @ right).clamp_(0.0, 1.0).numpy()
