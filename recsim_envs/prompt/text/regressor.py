"""A reward regressor q_hat(x, q, e_a) for prompt systems: an MLP on [observation, prompt].

Used twice, as in Kiyohara et al. (2025), Section 5: to build the benchmark's behaviour
policy (softmax over q_hat fit on uniform rounds) and as the model part of the regression,
DR and POTEC policy gradients. Scores for all prompts are computed with a factorised first
layer, ``relu(obs W_o + e_a W_e + b)``, so scoring n observations against P prompts costs
one (n, h) and one (P, h) product plus an (n, P, h) add, chunked to bound memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsim_envs.core.threads import torch_threads

_CHUNK_CELLS = 4_000_000  # rows * prompts * hidden per chunk: about 16 MB of float32


@dataclass
class RegressorConfig:
    """Training settings of :class:`PromptRewardRegressor`.

    Attributes:
        hidden: hidden units (100 in the reference).
        n_steps: Adam steps.
        batch_size: rows per step.
        lr: Adam learning rate.
        weight_decay: L2 penalty.
    """

    hidden: int = 100
    n_steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.n_steps < 0 or self.batch_size < 1:
            raise ValueError("hidden and batch_size must be >= 1 and n_steps >= 0")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


class PromptRewardRegressor:
    """q_hat(obs, a) = w2 . relu(W1 [obs, e_a] + b1) + b2, fit by least squares.

    Args:
        prompt_embeddings: (n_prompts, d_p) features of the prompts (system knowledge).
        config: training settings.
    """

    def __init__(self, prompt_embeddings: np.ndarray, config: RegressorConfig | None = None):
        self.prompt_embeddings = np.asarray(prompt_embeddings, dtype=np.float32)
        if self.prompt_embeddings.ndim != 2:
            raise ValueError(
                f"prompt_embeddings must be (n_prompts, d), got {self.prompt_embeddings.shape}"
            )
        self.config = config or RegressorConfig()
        self.params: dict[str, np.ndarray] = {}

    @property
    def n_prompts(self) -> int:
        return self.prompt_embeddings.shape[0]

    def fit(
        self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, seed: int
    ) -> PromptRewardRegressor:
        """Least-squares fit on logged rows: obs (n, d), actions (n,), rewards (n,)."""
        with torch_threads(1):
            return self._fit(obs, actions, rewards, seed)

    def _fit(self, obs, actions, rewards, seed: int) -> PromptRewardRegressor:
        import torch

        from recsim_envs.core.nn import MLP, init_from_generator  # lazy: torch

        obs = np.asarray(obs, dtype=np.float32)
        actions = np.asarray(actions, dtype=np.int64)
        rewards = np.asarray(rewards, dtype=np.float32)
        generator = torch.Generator().manual_seed(int(seed))
        d_o, d_p, h = obs.shape[1], self.prompt_embeddings.shape[1], self.config.hidden
        net = init_from_generator(MLP(d_o + d_p, [h], 1), generator)
        opt = torch.optim.Adam(
            net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay,
            fused=True,
        )
        x = torch.from_numpy(np.hstack([obs, self.prompt_embeddings[actions]]))
        y = torch.from_numpy(rewards)
        n = len(y)
        batches = torch.randint(
            0, n, (self.config.n_steps, min(self.config.batch_size, n)), generator=generator
        )
        for idx in batches:
            loss = ((net(x[idx]).squeeze(-1) - y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        w1 = net[0].weight.detach().numpy().T.astype(np.float32)  # (d_o + d_p, h)
        self.params = {
            "w_obs": w1[:d_o].copy(),
            "w_prompt": w1[d_o:].copy(),
            "b1": net[0].bias.detach().numpy().copy(),
            "w2": net[2].weight.detach().numpy()[0].copy(),
            "b2": net[2].bias.detach().numpy().copy(),
        }
        return self

    def predict_all(self, obs: np.ndarray) -> np.ndarray:
        """q_hat for every prompt: (n, d_o) -> (n, n_prompts) float32."""
        if not self.params:
            raise RuntimeError("the reward regressor must be fit before it predicts")
        obs = np.asarray(obs, dtype=np.float32)
        left = obs @ self.params["w_obs"] + self.params["b1"]  # (n, h)
        right = self.prompt_embeddings @ self.params["w_prompt"]  # (P, h)
        out = np.empty((len(obs), self.n_prompts), dtype=np.float32)
        step = max(1, _CHUNK_CELLS // (self.n_prompts * right.shape[1]))
        for start in range(0, len(obs), step):  # chunks bound memory, not a per-row loop
            hid = np.maximum(left[start : start + step, None, :] + right[None], 0.0)
            out[start : start + step] = hid @ self.params["w2"] + self.params["b2"][0]
        return out

    def predict(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """q_hat(obs_i, a_i): (n, d_o), (n,) -> (n,) float32."""
        obs = np.asarray(obs, dtype=np.float32)
        actions = np.asarray(actions, dtype=np.int64)
        hid = np.maximum(
            obs @ self.params["w_obs"]
            + self.prompt_embeddings[actions] @ self.params["w_prompt"]
            + self.params["b1"],
            0.0,
        )
        return hid @ self.params["w2"] + self.params["b2"][0]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Scorer of :class:`recsim_envs.core.policies.SoftmaxPolicy`: (n, d) -> (n, P)."""
        return self.predict_all(obs)
