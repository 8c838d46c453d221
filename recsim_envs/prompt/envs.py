"""Prompt-to-sentence environments: pick a prompt, a frozen generator writes, the user rewards.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025; RecSys 2025), Section 5, and the authors' OfflinePrompts code.

This module holds the shared loop (:class:`PromptEnvBase`, :class:`PromptVectorEnvBase`) and
the synthetic benchmark ``recsim_envs/PromptSentence-v0`` (:class:`PromptSentenceEnv`), plus
:func:`reference_behaviour_policy`, the benchmark's logging policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from recsim_envs.core.policies import (
    BehaviourPolicy,
    SoftmaxPolicy,
    UniformPolicy,
    sample_categorical,
)
from recsim_envs.data.dataset import DatasetMeta, LoggedDataset
from recsim_envs.prompt.text.components import (
    BilinearSentenceReward,
    EmbeddingGenerator,
    GaussianSentenceGenerator,
    SentenceReward,
    check_prompt_ids,
    row_dot,
    small_matmul,
)

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
    family = "prompt"

    generator: EmbeddingGenerator
    reward_model: SentenceReward
    dim_user: int
    dim_query: int
    reward_noise: float
    n_eval: int
    eval_seed: int
    log_pi_b: bool

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
    def dim_obs(self) -> int:
        return self.dim_user + self.dim_query

    def split(self, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, d_x + d_q) observations -> user contexts (n, d_x) and queries (n, d_q)."""
        c = np.asarray(contexts, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.dim_obs:
            raise ValueError(f"contexts must have shape (n, {self.dim_obs}), got {c.shape}")
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
        gen = self.generator
        if hasattr(gen, "draw_noise") and hasattr(gen, "from_noise"):
            noise = gen.draw_noise(len(prompt_ids), rng)
            return self._from_noise(query, prompt_ids, noise, with_text)
        return self._checked_embedding(gen.generate(query, prompt_ids, rng)), None

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
                "query_slice": [self.dim_user, self.dim_obs],
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


class PromptVectorEnvBase(VectorEnv):
    """Native vector version of a :class:`PromptEnvBase`: ``num_envs`` independent users.

    Every sub-env draws from its own generator (seeded ``seed + i``) in the order the
    single environment does; the arithmetic runs once for the batch. Episodes last one
    step, so each step ends every sub-env and resets it in the same step
    (``AutoresetMode.SAME_STEP``); the observation that ended goes to ``info["final_obs"]``
    and the step's info to ``info["final_info"]`` and, as resets add no info, also to the
    top level of ``info``.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
    family = "prompt"
    single_env_cls: type[PromptEnvBase] = PromptEnvBase

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        kwargs.pop("render_mode", None)
        kwargs.pop("max_episode_steps", None)
        self.env = self.single_env_cls(**kwargs)
        self.num_envs = int(num_envs)
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs = [seeding.np_random(None)[0] for _ in range(self.num_envs)]
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            seeds = seed if isinstance(seed, list) else [seed + i for i in range(self.num_envs)]
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} sub-envs")
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        self._obs = self._draw_contexts()
        return self._obs.copy(), {}

    def _draw_contexts(self) -> np.ndarray:
        # Each sub-env's draws from its own generator, then one batched transform.
        parts = [self.env.context_noise(1, r) for r in self._rngs]
        noise = tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        return self.env.contexts_from_noise(noise)

    def step(self, actions):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        env = self.env
        ids = check_prompt_ids(np.asarray(actions).reshape(-1), env.n_prompts, self.num_envs)
        ctx = self._obs.astype(np.float64)
        user, query = env.split(ctx)
        emb, text = self._generate_batch(query, ids)
        noise = np.array([r.standard_normal(1)[0] for r in self._rngs])
        mean_s = env.reward_model.expected(user, query, emb)
        rewards = mean_s + env.reward_noise * noise
        step_info: dict[str, Any] = {
            "prompt": ids,
            "sentence_embedding": emb.astype(np.float32),
            "expected_reward": env.expected_reward(ctx, ids),
            "sentence_expected_reward": mean_s,
        }
        if text is not None:
            step_info["sentence"] = np.array(text, dtype=object)
        mask = np.ones(self.num_envs, dtype=bool)
        final_obs = np.empty(self.num_envs, dtype=object)
        for i in range(self.num_envs):  # object array of per-env observations, as gymnasium's
            final_obs[i] = self._obs[i].copy()
        masks = {f"_{k}": mask.copy() for k in step_info}
        # The step's info at the top level too (the reset adds none), so per-step keys such
        # as expected_reward read the same as in an env without autoreset.
        info = {
            **step_info,
            **masks,
            "final_obs": final_obs,
            "_final_obs": mask.copy(),
            "final_info": {**step_info, **masks},
            "_final_info": mask.copy(),
        }
        self._obs = self._draw_contexts()
        terminated = np.ones(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs.copy(), rewards, terminated, truncated, info

    def _generate_batch(self, query: np.ndarray, ids: np.ndarray):
        gen = self.env.generator
        if hasattr(gen, "draw_noise") and hasattr(gen, "from_noise"):
            # Each sub-env's sampling noise from its own generator, then one batched transform.
            noise = np.concatenate([gen.draw_noise(1, r) for r in self._rngs])
            return self.env._from_noise(query, ids, noise, with_text=True)
        parts = [
            self.env._generate(query[i : i + 1], ids[i : i + 1], r, with_text=True)
            for i, r in enumerate(self._rngs)
        ]  # plug-in generators without a noise/transform split: one call per sub-env
        emb = np.concatenate([p[0] for p in parts])
        text = None if parts[0][1] is None else [p[1][0] for p in parts]
        return emb, text


# ====================================================================== synthetic benchmark


class PromptSentenceEnv(PromptEnvBase):
    """## Description

    The synthetic benchmark of DSO (Kiyohara et al., 2025, Section 5): a user with context x
    asks about a query q; the agent picks one of ``n_prompts`` prompts; a frozen generator
    writes a sentence whose embedding is o = q M + 5 sin(e_a N) + noise (the noise stands for
    sampling from a language model); the user's reward depends on (x, q, o) only:
    E[r | x, q, o] = ((x Q + q R) . o) / 250, r = E[r] + N(0, reward_noise^2).

    ## User Model

    The reward is bilinear in (x, q) and the sentence embedding o. The user never sees the
    prompt, only the sentence; many prompts write similar sentences, which is what DSO's
    sentence-space weighting exploits.

    ## Action Space

    ``Discrete(n_prompts)``: the prompt index (1,000 by default; 10 to 10,000 allowed).

    ## Observation Space

    ``Box(-100, 100, (dim_user + dim_query,), float32)``: [x, q], jointly Gaussian with
    covariance L L^T, L uniform in [-1, 1]. The bounds lie beyond 20 standard deviations;
    values are clipped to them (it never happens in practice).

    ## Rewards

    Real-valued; see the description. ``info`` holds ``sentence_embedding`` (d_s,),
    ``expected_reward`` = E[r | x, q, a] (closed form, the generator noise has zero mean),
    ``sentence_expected_reward`` = E[r | x, q, o] and ``prompt``.

    ## Starting State

    A fresh (x, q) from ``self.np_random`` on every reset.

    ## Episode End

    One step: ``terminated=True`` after the prompt is used.

    ## Arguments

    * ``n_prompts`` (1000): number of candidate prompts, 10 to 10,000.
    * ``reward_noise`` (1.0): standard deviation of the reward noise.
    * ``generator_noise`` (1.0): standard deviation of the sentence noise.
    * ``dim_user``, ``dim_query``, ``dim_prompt``, ``dim_sentence`` (5 each).
    * ``world_seed`` (0): seeds L, M, N, Q, R and the prompt embeddings; logging and
      evaluation built with the same seed see the same world.
    * ``published_code_quirk`` (False): reproduce the authors' code, which adds the mean
      sentence twice (o = 2 f + noise) and, through its seeding, uses M = Q and N = R. The
      default follows the model the paper states, where the generator does not share the
      user's reward directions; the quirk is there to compare with the published figures.
    * ``n_eval`` (10,000), ``eval_seed`` (12345): the fixed evaluation sample of contexts.
    * ``log_pi_b`` (True): log the behaviour policy's full distribution as ``pi_b``.
    * ``render_mode``: ``"ansi"`` or None.

    ## Version History

    * v0: initial version.
    """

    default_id = "recsim_envs/PromptSentence-v0"

    def __init__(
        self,
        n_prompts: int = 1000,
        reward_noise: float = 1.0,
        generator_noise: float = 1.0,
        dim_user: int = 5,
        dim_query: int = 5,
        dim_prompt: int = 5,
        dim_sentence: int = 5,
        world_seed: int = 0,
        published_code_quirk: bool = False,
        n_eval: int = 10_000,
        eval_seed: int = 12345,
        log_pi_b: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if not 10 <= int(n_prompts) <= 10_000:
            raise ValueError(f"n_prompts must be between 10 and 10,000, got {n_prompts}")
        for name, value in (("reward_noise", reward_noise), ("generator_noise", generator_noise)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        for name, value in (
            ("dim_user", dim_user),
            ("dim_query", dim_query),
            ("dim_prompt", dim_prompt),
            ("dim_sentence", dim_sentence),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if published_code_quirk and not (dim_user == dim_query and dim_prompt == dim_query):
            raise ValueError(
                "published_code_quirk=True shares M with Q and N with R, which needs "
                "dim_user == dim_query == dim_prompt"
            )
        if int(n_eval) < 1:
            raise ValueError(f"n_eval must be >= 1, got {n_eval}")
        self.dim_user, self.dim_query = int(dim_user), int(dim_query)
        self.reward_noise = float(reward_noise)
        self.n_eval, self.eval_seed = int(n_eval), int(eval_seed)
        self.log_pi_b = bool(log_pi_b)
        self.published_code_quirk = bool(published_code_quirk)

        world = np.random.default_rng(world_seed)
        d = self.dim_user + self.dim_query
        self.chol = world.uniform(-1.0, 1.0, size=(d, d))  # L: (x, q) ~ N(0, L L^T)
        prompts = world.standard_normal((int(n_prompts), int(dim_prompt)))
        user_w = world.standard_normal((self.dim_user, int(dim_sentence)))  # Q
        query_w = world.standard_normal((self.dim_query, int(dim_sentence)))  # R
        if self.published_code_quirk:
            gen_query_w, gen_prompt_w, repeat = user_w, query_w, 2.0
        else:
            gen_query_w = world.standard_normal((self.dim_query, int(dim_sentence)))  # M
            gen_prompt_w = world.standard_normal((int(dim_prompt), int(dim_sentence)))  # N
            repeat = 1.0
        self.generator = GaussianSentenceGenerator(
            gen_query_w, gen_prompt_w, prompts, noise_std=float(generator_noise), repeat=repeat
        )
        self.reward_model = BilinearSentenceReward(user_w, query_w, scale=1.0 / 250.0)
        self.obs_low = np.full(d, -100.0)
        self.obs_high = np.full(d, 100.0)
        self._finish_init(
            render_mode,
            {
                "n_prompts": int(n_prompts),
                "reward_noise": float(reward_noise),
                "generator_noise": float(generator_noise),
                "dim_user": int(dim_user),
                "dim_query": int(dim_query),
                "dim_prompt": int(dim_prompt),
                "dim_sentence": int(dim_sentence),
                "world_seed": int(world_seed),
                "published_code_quirk": bool(published_code_quirk),
                "n_eval": int(n_eval),
                "eval_seed": int(eval_seed),
                "log_pi_b": bool(log_pi_b),
            },
        )

    def context_noise(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return (rng.standard_normal((n, self.chol.shape[0])),)

    def contexts_from_noise(self, noise: tuple[np.ndarray, ...]) -> np.ndarray:
        ctx = small_matmul(noise[0], self.chol.T)
        return np.clip(ctx, self.obs_low, self.obs_high).astype(np.float32)

    def system_prompt_embeddings(self) -> np.ndarray:
        return self.generator.prompt_embeddings.astype(np.float32)

    def expected_reward_matrix(self, contexts: np.ndarray) -> np.ndarray:
        # E[r|x,q,a] = u . E[o|q,a] with u = (xQ + qR)/250 and E[o|q,a] = c qM + c 5 sin(e_a N).
        user, query = self.split(contexts)
        u = self.reward_model.direction(user, query)
        base = (u * self.generator.query_part(query)).sum(axis=1, keepdims=True)
        return base + u @ self.generator.prompt_part().T

    def expected_reward(self, contexts: np.ndarray, prompt_ids: np.ndarray) -> np.ndarray:
        user, query = self.split(contexts)
        ids = check_prompt_ids(prompt_ids, self.n_prompts, len(user))
        return row_dot(self.reward_model.direction(user, query), self.generator.mean(query, ids))


class PromptSentenceVectorEnv(PromptVectorEnvBase):
    """Native vector env of :class:`PromptSentenceEnv` (see :class:`PromptVectorEnvBase`)."""

    single_env_cls = PromptSentenceEnv


# ====================================================================== behaviour policy


def reference_behaviour_policy(
    env: PromptEnvBase,
    seed: int = 0,
    n_rounds: int = 10_000,
    beta: float = 1.0,
    regressor_steps: int = 3000,
) -> SoftmaxPolicy:
    """The benchmark's logging policy: softmax(beta * q_hat) (Kiyohara et al., 2025, Sec. 5).

    q_hat is an MLP on [x, q, e_a] (100 hidden units) fit on ``n_rounds`` rounds logged by
    the uniform policy. With beta = 1 the policy is nearly uniform, as in the paper.

    Args:
        env: a prompt environment (``env.unwrapped`` of a made one).
        seed: seeds the uniform rounds and the regressor's training.
        n_rounds: uniform rounds to fit q_hat on.
        beta: inverse temperature.
        regressor_steps: Adam steps of the regressor fit.

    Returns:
        A :class:`SoftmaxPolicy` over ``env.n_prompts`` prompts (picklable).
    """
    from recsim_envs.prompt.text.regressor import PromptRewardRegressor, RegressorConfig

    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    rng = np.random.default_rng(seed)
    data = env.log_rounds(UniformPolicy(env.n_prompts), n_rounds, rng=rng, seed=seed)
    reg = PromptRewardRegressor(
        data.system["prompt_embeddings"], RegressorConfig(n_steps=regressor_steps)
    ).fit(data.context, data.action, data.reward, seed=seed)
    return SoftmaxPolicy(
        reg,
        env.n_prompts,
        temperature=1.0 / beta,
        scorer_name=f"mlp_reward_regressor(uniform {n_rounds} rounds, seed {seed})",
        name="softmax_regressor",
    )
