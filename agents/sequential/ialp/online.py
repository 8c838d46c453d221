"""A-iALP: online adaptation of a pre-trained iALP policy (Wang et al., WSDM 2025).

- :class:`AIALPFineTune` (A-iALP_ft): the same actor-critic updates online, with epsilon
  exploration; in the ``quit_aware`` variant the actor keeps a behaviour-cloning pull
  (``online_bc_weight``, 0.1) toward the frozen pre-trained actor's greedy item, the
  measured fix for fine-tuning drifting onto repeated items.
- :class:`AIALPAdaptive` (A-iALP_ap, our reading of the adaptive variant, in the spirit of
  Policy Expansion, Zhang et al., ICLR 2023): the pre-trained actor stays frozen beside an
  online actor (its copy at the start); each step both propose an item and a judge picks
  one by softmax(beta * [Q(s, a_pre), Q(s, a_on)]) (argmax when deployed). The judge is
  the frozen pre-trained critic (``judge="frozen_critic"``, quit_aware) or the online
  critic (``"online_critic"``, as_built; measured: it picks the online actor's item at
  chance quality early on). Only the online actor and the critic learn.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import torch

from agents.sequential.ialp.pretrain import IALP
from agents.sequential.ialp.replay import ReplayBuffer
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset


class AIALPFineTune(IALP):
    """A-iALP_ft: iALP pre-training, then online fine-tuning of actor and critic.

    Online (through the harness): :meth:`explore` samples from the actor (with
    ``epsilon`` uniform exploration); :meth:`observe` stores the transition and runs
    ``updates_per_step`` actor-critic updates on replayed online transitions. The online
    generator is created from ``(seed, 1)`` when the online phase starts, so ``fit`` and
    :meth:`from_pretrained` on the same pre-trained networks behave identically online.
    """

    name: ClassVar[str] = "a_ialp_ft"

    @torch_threads(1)
    def fit(self, dataset: LoggedDataset, deployment: Any = None, *,
            llm: Any = None) -> AIALPFineTune:
        super().fit(dataset, deployment, llm=llm)
        self._start_online()
        return self

    def from_pretrained(self, pre: IALP) -> AIALPFineTune:
        """Start from an already pre-trained :class:`IALP` (copies its networks)."""
        pre._require_fitted()
        IALP.load_state_dict(self, copy.deepcopy(pre.state_dict()))
        self.fit_info = dict(pre.fit_info)
        self.fitted = True
        self._start_online()
        return self

    def _start_online(self) -> None:
        c = self.config
        self._make_optims(c.online_lr)
        self.buffer = ReplayBuffer(self.layout.dim, c.buffer_size)
        self.online_steps = 0
        self._rng = np.random.default_rng((c.seed, 1))
        self.actor_pre = copy.deepcopy(self.actor).requires_grad_(False)
        self._online = True

    def _sample(self, logits: torch.Tensor) -> np.ndarray:
        """Sample from softmax(logits) with epsilon-uniform mixing, from the agent's rng."""
        p = torch.softmax(logits, dim=1).double().numpy()
        p = (1 - self.config.epsilon) * p + self.config.epsilon / p.shape[1]
        u = self._rng.random((len(p), 1))
        return np.minimum((p.cumsum(1) < u).sum(1), p.shape[1] - 1)

    @torch_threads(1)
    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        """Exploring action for online training episodes."""
        x, single = self._obs(obs)
        with torch.no_grad():
            a = self._sample(self.actor(x))
        return int(a[0]) if single else a

    @torch_threads(1)
    def observe(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        """Store one online transition and learn from the replay buffer."""
        self.buffer.add(np.asarray(obs, np.float32), int(action), float(reward),
                        np.asarray(next_obs, np.float32), float(bool(terminated)))
        self.online_steps += 1
        c = self.config
        if self.buffer.size < c.learning_starts:
            return
        for _ in range(c.updates_per_step):
            s, a, r, s2, d = self.buffer.sample(c.online_batch, self._rng)
            if c.online_bc_target == "pretrained":
                with torch.no_grad():
                    a_bc = self.actor_pre(s).argmax(1)
            else:
                a_bc = a
            self._update(s, a, r, s2, d, a_bc, c.online_bc_weight, c.online_anchor_weight)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state and self._online:
            state["actor_pre"] = self.actor_pre.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._online = False
        if state and "actor_pre" in state:
            self._start_online()
            self.actor_pre.load_state_dict(state["actor_pre"])


class AIALPAdaptive(AIALPFineTune):
    """A-iALP_ap (see the module docstring): frozen pre-trained actor + online actor, judged.

    ``choice_counts`` counts the proposals used while exploring: [pre-trained, online].
    """

    name: ClassVar[str] = "a_ialp_ap"

    def _start_online(self) -> None:
        super()._start_online()
        self.critic_pre = copy.deepcopy(self.critic).requires_grad_(False)
        self.choice_counts = np.zeros(2, np.int64)

    def _judge(self) -> torch.nn.Module:
        return self.critic_pre if self.config.judge == "frozen_critic" else self.critic

    def _composite(self, x: torch.Tensor, a_pre, a_on, stochastic: bool) -> np.ndarray:
        """(n,) proposals -> (n,) pick: 0 the pre-trained item, 1 the online one."""
        with torch.no_grad():
            q = self._judge()(x)
        idx = torch.arange(len(x))
        qs = torch.stack([q[idx, torch.as_tensor(a_pre)], q[idx, torch.as_tensor(a_on)]], 1)
        if stochastic:
            p = torch.softmax(self.config.beta * qs, dim=1)[:, 1].double().numpy()
            return (self._rng.random(len(x)) < p).astype(np.int64)
        return qs.argmax(1).numpy()

    def _next_value(self, s2: torch.Tensor) -> torch.Tensor:
        """Online: the target critic's value of the composite choice at s' (greedy
        proposals, weighted as the judge would pick); offline: expected SARSA."""
        if not self._online:
            return super()._next_value(s2)
        q = self.critic_target(s2)
        qj = q if self.config.judge == "online_critic" else self.critic_pre(s2)
        idx = torch.arange(len(s2))
        props = (self.actor_pre(s2).argmax(1), self.actor(s2).argmax(1))
        qs = torch.stack([q[idx, p] for p in props], 1)
        w = torch.softmax(self.config.beta * torch.stack([qj[idx, p] for p in props], 1), dim=1)
        return (w * qs).sum(1)

    @torch_threads(1)
    def explore(self, obs: np.ndarray) -> np.ndarray | int:
        x, single = self._obs(obs)
        with torch.no_grad():
            a_pre, a_on = self._sample(self.actor_pre(x)), self._sample(self.actor(x))
        pick = self._composite(x, a_pre, a_on, stochastic=True)
        self.choice_counts += np.bincount(pick, minlength=2)
        a = np.where(pick == 1, a_on, a_pre)
        return int(a[0]) if single else a

    @torch_threads(1)
    def act(self, obs: np.ndarray) -> np.ndarray | int:
        if not self._online:
            return super().act(obs)
        x, single = self._obs(obs)
        with torch.no_grad():
            a_pre, a_on = self.actor_pre(x).argmax(1).numpy(), self.actor(x).argmax(1).numpy()
        pick = self._composite(x, a_pre, a_on, stochastic=False)
        a = np.where(pick == 1, a_on, a_pre)
        return int(a[0]) if single else a

    def stats(self) -> dict[str, int]:
        """Proposals used while exploring: pre-trained vs online."""
        pre, online = (int(n) for n in self.choice_counts)
        return {"choice_pre": pre, "choice_online": online}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if state and self._online:
            state["critic_pre"] = self.critic_pre.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if state and "critic_pre" in state:
            self.critic_pre.load_state_dict(state["critic_pre"])
