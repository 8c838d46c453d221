"""The prompt family's skyline: REINFORCE trained online on live rewards (not off-policy).

Reference: Williams (1992), "Simple statistical gradient-following algorithms for
connectionist reinforcement learning" (REINFORCE with a running-mean baseline); used as the
SKYLINE row beside the off-policy learners of Kiyohara et al. (2025): it bounds what logged
data could give.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import as_batch
from agents.prompt.base import PromptPolicyAgent, check_prompt_dataset, make_policy_net
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset


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
        generator = torch.Generator().manual_seed(self.config.seed)
        self.net = make_policy_net(obs_dim, n_prompts, self.config.hidden, generator)
        self._opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr, fused=True)
        self._baseline = 0.0
        self._n_updates = 0
        self._act_rng = np.random.default_rng(self.config.seed)
        self.fitted = True
        return self

    def explore(self, obs: np.ndarray) -> np.ndarray:
        """How it acts while learning online: it samples from its current policy, as act."""
        return self.act(obs)

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


__all__ = ["OnlinePG", "train_online"]
