"""The prompt family's single environment: the one-step loop every prompt world shares.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025; RecSys 2025), Section 5, and the authors' OfflinePrompts code.

:class:`PromptEnvBase` is a one-step contextual bandit over prompts: reset draws a user
context and a query, step lets the frozen generator write a sentence for the chosen prompt
and the user reward it; it also logs rounds (:meth:`PromptEnvBase.log_rounds`) and values
policies on a fixed evaluation sample. The worlds subclass it:
:class:`~recsim_envs.prompt.envs.PromptSentenceEnv` (synthetic) and
:class:`~recsim_envs.prompt.text_envs.PromptSentenceTextEnv` (text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from recsim_envs.core.built_world import build_from_env, check_built_world
from recsim_envs.core.policies import BehaviourPolicy, sample_categorical
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.prompt.family import FAMILY
from recsim_envs.prompt.text.components import EmbeddingGenerator, SentenceReward, check_prompt_ids

ProbsFn = Callable[[np.ndarray], np.ndarray]
"""A policy as its action distribution: observations (n, d) -> (n, n_prompts)."""


class PromptEnvBase(gym.Env):
    """A one-step contextual bandit over prompts (shared by the prompt-to-sentence family).

    Subclasses build the world in ``__init__`` (setting ``generator``, ``reward_model``,
    ``dim_user``, ``dim_query``, ``reward_noise``, ``obs_low``/``obs_high``) and implement
    :meth:`sample_contexts` and :meth:`expected_reward_matrix`. Observations are
    ``[x, q]``: the user context (``dim_user``) then the query (``dim_query``).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}
    family = FAMILY.name
    default_id: str  # the registered id, for datasets logged by an env built directly

    generator: EmbeddingGenerator
    reward_model: SentenceReward
    dim_user: int
    dim_query: int
    reward_noise: float
    n_eval: int
    eval_seed: int
    log_pi_b: bool

    build_world = classmethod(build_from_env)  # the world to pass as built_world=

    @property
    def world_kind(self) -> str:
        return self.default_id

    def world_settings(self) -> dict[str, Any]:
        return self._world_settings

    def shared_world(self) -> dict[str, Any]:
        """The frozen state (generator, user, tables) environments of a cell share."""
        return dict(vars(self))

    def _adopt_world(self, built: Any, settings: dict[str, Any],
                     render_mode: str | None) -> None:
        """Take the frozen state of ``built`` (made by :meth:`build_world` from the same
        ``settings``) instead of building it."""
        state = check_built_world(built, self.default_id, settings)
        self.__dict__.update(state)
        self._finish_init(render_mode, state["env_kwargs"])

    def _finish_init(self, render_mode: str | None, env_kwargs: dict[str, Any]) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.env_kwargs = dict(env_kwargs)
        self.n_prompts = int(self.generator.n_prompts)
        self.action_space = spaces.Discrete(self.n_prompts)
        self.observation_space = spaces.Box(
            low=self.obs_low.astype(np.float32),
            high=self.obs_high.astype(np.float32),
            dtype=np.float32,
        )
        self._obs: np.ndarray | None = None
        self._last: dict[str, Any] | None = None
        self._eval_contexts: np.ndarray | None = None
        self._eval_matrix: np.ndarray | None = None

    # ------------------------------------------------------------------ world
    @property
    def obs_dim(self) -> int:
        """Width of an observation [x, q]: ``dim_user + dim_query``."""
        return self.dim_user + self.dim_query

    def split(self, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, d_x + d_q) observations -> user contexts (n, d_x) and queries (n, d_q)."""
        c = np.asarray(contexts, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.obs_dim:
            raise ValueError(f"contexts must have shape (n, {self.obs_dim}), got {c.shape}")
        return c[:, : self.dim_user], c[:, self.dim_user :]

    def sample_contexts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw n observations [x, q], (n, d_x + d_q) float32."""
        return self.contexts_from_noise(self.context_noise(n, rng))

    def context_noise(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The random draws behind n contexts, each array (n, ...)."""
        raise NotImplementedError

    def contexts_from_noise(self, noise: tuple[np.ndarray, ...]) -> np.ndarray:
        """Contexts (n, d_x + d_q) float32 from :meth:`context_noise`'s draws (batched)."""
        raise NotImplementedError

    def expected_reward_matrix(self, contexts: np.ndarray) -> np.ndarray:
        """E[r | x, q, a] for every prompt: (n, d_x + d_q) -> (n, n_prompts) float64."""
        raise NotImplementedError

    def expected_reward(self, contexts: np.ndarray, prompt_ids: np.ndarray) -> np.ndarray:
        """E[r | x, q, a_i] per row: (n, d_x + d_q), (n,) -> (n,) float64."""
        raise NotImplementedError

    def _generate(
        self,
        query: np.ndarray,
        prompt_ids: np.ndarray,
        rng: np.random.Generator,
        with_text: bool = False,
    ) -> tuple[np.ndarray, list[str] | None]:
        """Sentence embeddings (n, d_s) and, for text environments, the sentences."""
        generator = self.generator
        if hasattr(generator, "draw_noise") and hasattr(generator, "from_noise"):
            noise = generator.draw_noise(len(prompt_ids), rng)
            return self._from_noise(query, prompt_ids, noise, with_text)
        return self._checked_embedding(generator.generate(query, prompt_ids, rng)), None

    def _from_noise(
        self, query: np.ndarray, prompt_ids: np.ndarray, noise: np.ndarray, with_text: bool
    ) -> tuple[np.ndarray, list[str] | None]:
        """Sentences for given sampling noise (generators with a noise/transform split)."""
        return self._checked_embedding(self.generator.from_noise(query, prompt_ids, noise)), None

    def _checked_embedding(self, emb: np.ndarray) -> np.ndarray:
        emb = np.asarray(emb, dtype=np.float64)
        want = self.reward_model.dim_sentence
        if emb.ndim != 2 or emb.shape[1] != want:
            raise ValueError(
                f"the generator/encoder returned sentence embeddings of shape {emb.shape}; the "
                f"reward model reads {want}-dimensional embeddings: plug in an encoder of "
                f"dimension {want} or a reward model for the encoder's dimension"
            )
        if not np.all(np.isfinite(emb)):
            raise ValueError("the generator/encoder returned NaN or infinite sentence embeddings")
        return emb

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._obs = self.sample_contexts(1, self.np_random)[0]
        self._last = None
        return self._obs.copy(), {}

    def step(self, action):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        a = _scalar_prompt(action, self.n_prompts)
        ctx = self._obs[None].astype(np.float64)
        user, query = self.split(ctx)
        ids = np.array([a], dtype=np.int64)
        emb, text = self._generate(query, ids, self.np_random, with_text=True)
        noise = self.np_random.standard_normal(1)
        mean_s = self.reward_model.expected(user, query, emb)
        reward = float(mean_s[0] + self.reward_noise * noise[0])
        info = {
            "prompt": a,
            "sentence_embedding": emb[0].astype(np.float32),
            "expected_reward": float(self.expected_reward(ctx, ids)[0]),
            "sentence_expected_reward": float(mean_s[0]),
        }
        if text is not None:
            info["sentence"] = text[0]
        self._last = {**info, "reward": reward}
        return self._obs.copy(), reward, True, False, info

    def render(self):
        if self.render_mode != "ansi":
            return None
        if self._obs is None:
            return "(not reset)"
        user, query = self.split(self._obs[None])
        lines = [
            f"user context x = {np.array2string(user[0], precision=3)}",
            f"query q = {np.array2string(query[0], precision=3)}",
        ]
        if self._last is not None:
            lines.append(f"prompt {self._last['prompt']}")
            if "sentence" in self._last:
                lines.append(f"sentence: {self._last['sentence']}")
            lines.append(
                f"sentence embedding = "
                f"{np.array2string(self._last['sentence_embedding'], precision=3)}"
            )
            lines.append(
                f"reward {self._last['reward']:.4f} (expected given the prompt "
                f"{self._last['expected_reward']:.4f})"
            )
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ logging
    def log_rounds(
        self, policy: BehaviourPolicy, n_rounds: int, rng: np.random.Generator, seed: int
    ) -> LoggedDataset:
        """Log ``n_rounds`` rounds of ``policy``, vectorised.

        Returns a :class:`LoggedDataset` whose ``context`` is the observation [x, q] and
        whose extras are ``sentence_embedding`` (n, d_s) float32 (the logged sentence
        phi(s)) and, unless ``log_pi_b=False``, ``pi_b`` (n, n_prompts) float32: the behaviour
        policy's full distribution, which density estimation under pi_0 (DSO) and
        cluster propensities (POTEC) need. ``system["prompt_embeddings"]`` holds the prompt
        features the deployed system knows. ``expected_reward`` is E[r | x, q, a].
        """
        if policy.n_actions != self.n_prompts:
            raise ValueError(
                f"the behaviour policy has {policy.n_actions} actions but the environment "
                f"has {self.n_prompts} prompts"
            )
        contexts = self.sample_contexts(int(n_rounds), rng)
        probs = np.asarray(policy.probs(contexts), dtype=np.float64)
        if probs.shape != (n_rounds, self.n_prompts):
            raise ValueError(
                f"policy.probs returned shape {probs.shape}; expected ({n_rounds}, "
                f"{self.n_prompts})"
            )
        actions = sample_categorical(probs, 1, rng)[:, 0]
        pscore = probs[np.arange(n_rounds), actions]
        user, query = self.split(contexts)
        emb, _ = self._generate(query, actions, rng)
        mean_s = self.reward_model.expected(user, query, emb)
        reward = mean_s + self.reward_noise * rng.standard_normal(n_rounds)
        extras = {"sentence_embedding": emb.astype(np.float32)}
        if self.log_pi_b:
            extras["pi_b"] = probs.astype(np.float32)
        meta = DatasetMeta(
            env_id=self.spec.id if self.spec is not None else self.default_id,
            env_kwargs=self.env_kwargs,
            n_actions=self.n_prompts,
            policy_name=policy.name,
            policy_settings=policy.settings(),
            seed=seed,
            info={
                "family": self.family,
                "action": "prompt index",
                "dim_user": self.dim_user,
                "dim_query": self.dim_query,
                "query_slice": [self.dim_user, self.obs_dim],
                "dim_sentence": int(emb.shape[1]),
            },
        )
        return LoggedDataset(
            context=contexts,
            action=actions,
            pscore=pscore,
            reward=reward,
            expected_reward=self.expected_reward(contexts, actions),
            meta=meta,
            extras=extras,
            system={"prompt_embeddings": self.system_prompt_embeddings()},
        )

    def system_prompt_embeddings(self) -> np.ndarray:
        """(n_prompts, d_p) features of the prompts, known to the deployed system."""
        raise NotImplementedError

    # ------------------------------------------------------------------ evaluation
    @property
    def eval_contexts(self) -> np.ndarray:
        """The fixed evaluation sample, (n_eval, d_x + d_q), drawn from ``eval_seed``."""
        if self._eval_contexts is None:
            self._eval_contexts = self.sample_contexts(
                self.n_eval, np.random.default_rng(self.eval_seed)
            )
        return self._eval_contexts

    @property
    def eval_reward_matrix(self) -> np.ndarray:
        """E[r | x, q, a] on :attr:`eval_contexts`, (n_eval, n_prompts), cached."""
        if self._eval_matrix is None:
            self._eval_matrix = self.expected_reward_matrix(self.eval_contexts)
        return self._eval_matrix

    def policy_value(self, probs_fn: ProbsFn) -> float:
        """V(pi) = mean over evaluation contexts of sum_a pi(a|x, q) E[r | x, q, a]."""
        probs = np.asarray(probs_fn(self.eval_contexts), dtype=np.float64)
        if probs.shape != self.eval_reward_matrix.shape:
            raise ValueError(
                f"the policy returned probabilities of shape {probs.shape}; expected "
                f"{self.eval_reward_matrix.shape}"
            )
        if not np.all(np.isfinite(probs)) or np.any(probs < -1e-9):
            raise ValueError("the policy returned NaN, infinite or negative probabilities")
        if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("the policy's probabilities do not sum to 1 per row")
        return float((probs * self.eval_reward_matrix).sum(axis=1).mean())

    def uniform_value(self) -> float:
        """V of the uniform policy over prompts."""
        return float(self.eval_reward_matrix.mean())

    def best_value(self) -> float:
        """V of the best policy, argmax_a E[r | x, q, a] per context."""
        return float(self.eval_reward_matrix.max(axis=1).mean())

    def optimality(self, probs_fn: ProbsFn) -> float:
        """(V(pi) - V(uniform)) / (V(best) - V(uniform)): 0 for uniform, 1 for the best policy."""
        u, b = self.uniform_value(), self.best_value()
        return (self.policy_value(probs_fn) - u) / (b - u)


def _scalar_prompt(action: Any, n_prompts: int) -> int:
    arr = np.asarray(action)
    if arr.shape not in ((), (1,)):
        raise ValueError(f"the action must be one prompt index, got an array of shape {arr.shape}")
    return int(check_prompt_ids(arr.reshape(1), n_prompts)[0])

