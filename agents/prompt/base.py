"""What every prompt agent shares: data checks, the softmax policy over prompts, its training.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 5 and Appendix. Every learner of the family (DSO and its
baselines) is a softmax policy pi_theta(a | x, q) given by an MLP on the observation [x, q]
(100 hidden units), trained with Adam (lr 5e-4, 20,000 steps of batch 32 by default) on a
policy-gradient surrogate built from logged rounds. :class:`PromptPolicyAgent` holds that
loop; each method is a leaf that supplies the surrogate: :mod:`agents.prompt.dso` (DSO),
:mod:`agents.prompt.gradients` (regression, IS, DR, POTEC), :mod:`agents.prompt.online`
(the online skyline) and :mod:`agents.prompt.reference` (uniform and logging policies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from agents.base import AgentError, BaseAgent, as_batch
from recsim_envs.core.policies import sample_categorical
from recsim_envs.core.threads import torch_threads
from recsim_envs.data import LoggedDataset
from recsim_envs.prompt.family import FAMILY


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


def make_policy_net(obs_dim: int, n_out: int, hidden: int, generator):
    """MLP obs (d) -> hidden -> n_out logits, initialised from the torch ``generator``."""
    from agents.networks import MLP, init_from_generator  # lazy: torch

    return init_from_generator(MLP(obs_dim, [hidden], n_out), generator)


def clipped_weight(logp_taken, pscore, weight_clip: float):
    """Detached importance weights min(pi_theta(a_i|x_i) / pscore_i, weight_clip).

    Args:
        logp_taken: (m,) torch tensor, log pi_theta of the logged (or clustered) action.
        pscore: (m,) torch tensor, the behaviour policy's probability of it.
        weight_clip: the upper clip (Kiyohara et al., 2025: 200).

    Returns:
        (m,) torch tensor; no gradient flows through it (the score-function form).
    """
    import torch

    return torch.clamp(logp_taken.detach().exp() / pscore, max=weight_clip)


def check_prompt_dataset(dataset: LoggedDataset, agent: str) -> None:
    """Raise a clear error unless ``dataset`` is non-empty logged prompt data."""
    if not isinstance(dataset, LoggedDataset):
        raise AgentError(f"{agent} learns from a LoggedDataset, got {type(dataset).__name__}")
    if len(dataset) == 0:
        raise AgentError(f"{agent} got an empty dataset")
    family = dataset.family
    if family not in (None, FAMILY.name):
        raise AgentError(
            f"{agent} learns prompt policies; the dataset comes from the {family!r} family "
            f"({dataset.meta.env_id})"
        )


class PromptAgent(BaseAgent):
    """Base of every prompt agent: the sizes read from the logged data, and a generator for
    :meth:`act`'s draws seeded by ``config.seed``."""

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.obs_dim = 0
        self.n_prompts = 0
        self._act_rng = np.random.default_rng(self.config.seed)

    def _read_sizes(self, dataset: LoggedDataset) -> None:
        """Check that ``dataset`` is logged prompt data; read ``obs_dim`` and ``n_prompts``."""
        check_prompt_dataset(dataset, self.name)
        self.obs_dim = int(dataset.context.shape[1])
        self.n_prompts = int(dataset.meta.n_actions)


class PromptPolicyAgent(PromptAgent):
    """Base of the prompt learners: a softmax MLP policy trained by a gradient estimate.

    Subclasses implement :meth:`_prepare` (precompute per-row tensors from the dataset)
    and :meth:`_loss` (the policy-gradient surrogate on a minibatch).
    """

    Config: ClassVar[type] = PromptPGConfig

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.net = None

    # ---------------------------------------------------------------- training
    def fit(self, dataset: LoggedDataset, deployment: Any = None, *,
            checkpoints: Sequence[int] = (),
            on_checkpoint: Callable[[int], None] | None = None,
            **kwargs: Any) -> PromptPolicyAgent:
        """Learn the policy from logged rounds only; returns ``self``.

        Args:
            dataset: logged prompt rounds.
            deployment: the deployed system (unused by the action-space learners).
            checkpoints: step counts (1..n_steps) after which ``on_checkpoint(step)`` is
                called with the policy as trained so far (``action_probs`` usable inside).
                The callback must not draw from the agent's generators; then the policy at
                checkpoint k equals that of a run with ``n_steps = k`` (the minibatches are
                one stream, drawn up front), so one long run gives a learning curve.
        """
        import torch

        self._read_sizes(dataset)
        cfg = self.config
        marks = {int(k) for k in checkpoints}
        if marks and (min(marks) < 1 or max(marks) > cfg.n_steps):
            raise AgentError(
                f"checkpoints must lie in 1..n_steps = {cfg.n_steps}, got {sorted(marks)}"
            )
        if marks and on_checkpoint is None:
            raise AgentError("checkpoints given without on_checkpoint(step) to call")
        with torch_threads(cfg.n_threads):
            generator = torch.Generator().manual_seed(cfg.seed)
            self._np_rng = np.random.default_rng(cfg.seed)
            self._prepare(dataset, generator, **kwargs)
            self.net = make_policy_net(self.obs_dim, self._n_outputs(), cfg.hidden, generator)
            # fused Adam: one kernel for all parameters, about 30% faster for nets this small
            opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, fused=True)
            obs = torch.from_numpy(np.ascontiguousarray(dataset.context, dtype=np.float32))
            n = len(dataset)
            batches = torch.randint(
                0, n, (cfg.n_steps, min(cfg.batch_size, n)), generator=generator
            )  # all minibatch indices drawn at once
            for step, idx in enumerate(batches, start=1):
                logp = torch.log_softmax(self.net(obs[idx]), dim=1)
                loss = self._loss(idx, logp, generator)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step in marks:
                    self.fitted = True
                    on_checkpoint(step)
        self._act_rng = np.random.default_rng(cfg.seed)
        self.fitted = True
        return self

    def _n_outputs(self) -> int:
        return self.n_prompts

    def _prepare(self, dataset: LoggedDataset, generator, **kwargs: Any) -> None:
        """Per-row tensors from ``dataset``, before the policy net is built; ``generator``
        (torch) is the one the net's initialisation and minibatches draw from next."""
        if kwargs:
            raise AgentError(f"{self.name}.fit got unexpected arguments {sorted(kwargs)}")

    def _loss(self, idx, logp, generator):
        """The surrogate on minibatch rows ``idx`` (m,), given log pi_theta (m, n_outputs)."""
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
