"""iALP's actor-critic: the offline pre-training loop and the update shared with A-iALP online.

Paper: Wang et al., "Large Language Model driven Policy Exploration for Recommender
Systems", WSDM 2025 (an actor-critic pre-trained on imagined sessions); the losses below
(expected-SARSA target, reward-model anchor, all-action policy gradient with a
behaviour-cloning pull as in TD3+BC, Fujimoto and Gu, NeurIPS 2021) are ours
(``docs/sequential.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from agents.sequential.ialp.reward_model import public_profile


class ActorCritic:
    """The actor-critic half of :class:`~agents.sequential.ialp.pretrain.IALP` (a mixin).

    Reads the agent's ``config`` (an :class:`~agents.sequential.ialp.config.IALPConfig`),
    its networks ``actor``, ``critic``, ``critic_target``, ``reward_model`` ((n, dim) ->
    (n, n_items)), ``actor_opt``, ``critic_opt``, the calibration ``reward_scale``, the
    stated ``quit_rule`` (or None) and the numpy generator ``_rng``; the agent builds them.
    """

    config: Any

    def _fit_actor_critic(self, s, a, r, s2, d, a_bc) -> None:
        """``ac_updates`` :meth:`_update` steps on minibatches (from ``_rng``) of the
        offline columns (T, dim), (T,), (T,), (T, dim), (T,), (T,)."""
        c = self.config
        tensors = [torch.as_tensor(np.asarray(x)) for x in (s, a, r, s2, d, a_bc)]
        tensors[2] = tensors[2].float()
        tensors[4] = tensors[4].float()
        n = len(tensors[0])
        for _ in range(c.ac_updates):
            b = torch.as_tensor(self._rng.integers(n, size=c.batch_size))
            bs, ba, br, bs2, bd, bbc = (x[b] for x in tensors)
            self._update(bs, ba, br, bs2, bd, bbc, c.bc_weight, c.anchor_weight)

    # ------------------------------------------------------------ updates
    def _next_value(self, s2: torch.Tensor) -> torch.Tensor:
        """Expected SARSA: sum_a pi(a|s') Q_target(s', a)."""
        pi = torch.softmax(self.actor(s2), dim=1)
        return (pi * self.critic_target(s2)).sum(1)

    def calibrated_reward(self, s: torch.Tensor) -> torch.Tensor:
        """(n, dim) -> (n, n_items) the reward model on the reward scale:
        ``a r(s, j) + b`` (``reward_scale = [a, b]``), plus ``c_pop popularity_j + c_like
        like(s, j)`` when the calibration read the public profile (``[a, b, c_pop,
        c_like]``, ``calibration="profile"``)."""
        scale = torch.as_tensor(self.reward_scale)
        out = scale[0] * self.reward_model(s) + scale[1]
        if len(scale) > 2:
            pop, like = public_profile(self.layout, self.item_features, self.item_category,
                                       s.numpy())
            out = out + scale[2] * torch.as_tensor(pop) + scale[3] * torch.as_tensor(like)
        return out

    def _continues(self, s: torch.Tensor) -> torch.Tensor | float:
        """(n, dim) -> (n, n_items) 1 - quit(s, a') by the stated rule, or 1 (as_built)."""
        if self.quit_rule is None:
            return 1.0
        return torch.as_tensor(~self.quit_rule.quits(s.numpy()), dtype=torch.float32)

    def _update(self, s, a, r, s2, d, a_bc, bc_weight: float, anchor_weight: float) -> None:
        """One critic (TD) and one actor (all-action policy gradient) step on a batch.

        Critic: (Q(s, a) - [r + gamma (1 - d) V(s')])^2 for the taken action, plus
        ``anchor_weight`` * mean over the other actions a' of
        (Q(s, a') - [r_hat(s, a') + gamma (1 - quit(s, a')) V(s')])^2, where r_hat is the
        calibrated reward model, quit the stated quit rule (1 - quit = 1 in the as_built
        variant) and V(s') the value after the taken action (an approximation: the next
        state's value is assumed not to depend on which item was shown). The anchor is
        ours: it gives the critic the language model's view of every item, not only of
        the items that were shown. Actor: maximise
        sum_a pi(a|s) A(s, a) + entropy * H(pi) - bc_weight * log pi(a_bc|s), with
        A(s, a) = (Q(s, a) - mean_a' Q(s, a')) / (batch mean of the std of Q(s, .)).
        """
        c = self.config
        with torch.no_grad():
            v2 = self._next_value(s2)
            y = r + c.gamma * (1.0 - d) * v2
        q_all = self.critic(s)
        q = q_all.gather(1, a[:, None])[:, 0]
        critic_loss = F.mse_loss(q, y)
        if anchor_weight > 0:
            with torch.no_grad():
                y_all = self.calibrated_reward(s) + c.gamma * self._continues(s) * v2[:, None]
                mask = torch.ones_like(q_all)
                mask[torch.arange(len(a)), a] = 0.0
            anchor = (((q_all - y_all) ** 2) * mask).sum() / mask.sum()
            critic_loss = critic_loss + anchor_weight * anchor
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        logits = self.actor(s)
        logp = torch.log_softmax(logits, dim=1)
        pi = logp.exp()
        with torch.no_grad():
            qs = self.critic(s)
            # Q varies little across items relative to its level (~ r / (1 - gamma)), so
            # scale by the spread across items, not by |Q| (which would stall the actor).
            qs = (qs - qs.mean(1, keepdim=True)) / qs.std(1).mean().clamp_min(1e-3)
        loss = -(pi * qs).sum(1).mean() + c.entropy * (pi * logp).sum(1).mean()
        if bc_weight > 0:
            loss = loss + bc_weight * F.nll_loss(logp, a_bc)
        self.actor_opt.zero_grad()
        loss.backward()
        self.actor_opt.step()
        with torch.no_grad():
            for p, pt in zip(self.critic.parameters(), self.critic_target.parameters(),
                             strict=True):
                pt.mul_(1 - c.tau).add_(c.tau * p)
