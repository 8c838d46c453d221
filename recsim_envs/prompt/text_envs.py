"""``recsim_envs/PromptSentenceText-v0``: the prompt-to-sentence loop with real sentences.

Reference: Kiyohara, Cao, Saito, Joachims, "Prompt Optimization with Logged Bandit Data"
(arXiv 2504.02646, 2025), Section 6 (movie descriptions written by a frozen language model,
personalised by choosing the prompt). Here the language model is a small built-in template
writer (:mod:`recsim_envs.prompt.text.writer`) and the sentence encoder a hashed n-gram projection
(:mod:`recsim_envs.prompt.text.encoders`); both are pluggable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from recsim_envs.prompt.base import PromptEnvBase
from recsim_envs.prompt.text.components import BilinearSentenceReward, check_prompt_ids, row_dot
from recsim_envs.prompt.text.encoders import HashedNGramEncoder, TextEmbeddingGenerator
from recsim_envs.prompt.text.paraphrase import (
    N_INTENTS_MAX,
    blend_prompt_features,
    make_paraphrase_writer,
)
from recsim_envs.prompt.text.worlds import PARAPHRASE_ISSUE12, WORLDS  # noqa: F401 (re-export)
from recsim_envs.prompt.text.writer import (
    DIM_QUERY,
    GENRES,
    MAX_PROMPTS,
    MOODS,
    SETTINGS,
    TemplateWriter,
    make_writer,
)
from recsim_envs.prompt.vector import PromptVectorEnvBase

_N_COMBOS = len(GENRES) * len(MOODS) * len(SETTINGS)

class PromptSentenceTextEnv(PromptEnvBase):
    """## Description

    A user with context x asks for a blurb of a movie (the query q: genre, mood, setting).
    The agent picks a prompt, a (tone, aspect) keyword pair; a frozen writer produces an
    actual sentence from the query and the prompt with stochastic word choice (it follows
    the prompt's words with probability ``prompt_adherence``), a sentence encoder embeds it,
    and the user rewards the sentence.

    Two built-in worlds (``world``; docs/prompt.md measures both):

    * ``"keywords"`` (default of this id): a prompt is a (tone, aspect) keyword pair steering
      two of nine slots with adherence 0.7; 500 prompts. The kernel barely tells prompts
      apart and keywords predict a prompt's effect: not a fair test of DSO.
    * ``"paraphrase"`` (default of ``recsim_envs/PromptSentenceParaphrase-v0``): prompts are
      paraphrases of ``n_prompts / n_paraphrases`` (tone, aspect, style) intents
      (:mod:`recsim_envs.prompt.text.paraphrase`) steering seven of nine slots with
      adherence 0.9; the query enters the reward centred on its mean, so that no
      context-free prompt is near-optimal; 1,000 prompts, 50 paraphrases each (20 intents).

    ## User Model

    E[r | x, q, s] = scale * ((x W_x + (q - q0) W_q) . phi(s)) with phi(s) the encoder's
    embedding, q0 = 0 (keywords) or the mean query (paraphrase),
    W_x (d_x, d_s) and W_q (15, d_s) standard normal from ``world_seed``; r = E[r] +
    N(0, reward_noise^2). ``scale`` is set at construction so that the best policy beats the
    uniform one by ``reward_gap`` in expected reward on the evaluation contexts (0.5 by
    default, about the synthetic benchmark's gap), which fixes the signal-to-noise ratio
    whatever the encoder. Pass ``reward_model`` to use another (e.g. learned) model.

    ## Action Space

    ``Discrete(n_prompts)``: the prompt index (500 by default, the number of distinct
    (tone, aspect) pairs of the built-in writer; 10 to 500).

    ## Observation Space

    ``Box(shape=(dim_user + 15,), float32)``: x ~ N(0, I) (clipped to +-100), then the query's
    multi-hot attributes (6 genres, 5 moods, 4 settings), drawn from popularities fixed by
    ``world_seed``.

    ## Rewards

    Real-valued. ``info``: ``sentence`` (the text), ``sentence_embedding`` (d_s,),
    ``expected_reward`` = E[r | x, q, a] and ``sentence_expected_reward`` = E[r | x, q, s].
    E[r | x, q, a] has no closed form (the encoder is nonlinear): it is the average of
    E[r | x, q, s] over ``n_mc`` sentences per (query, prompt), written at construction
    from a fixed seed (common to every evaluation, so policies are compared on the same
    estimate; its Monte Carlo error is shown by ``tests/test_prompt_text.py``).

    ## Starting State

    A fresh (x, q) from ``self.np_random`` on every reset.

    ## Episode End

    One step: ``terminated=True``.

    ## Arguments

    * ``world`` ("keywords" or "paraphrase"), ``n_paraphrases`` (paraphrase world: 50).
    * ``n_prompts`` (keywords 500, paraphrase 1,000), ``reward_noise`` (keywords 1.0,
      paraphrase 0.125), ``reward_gap`` (0.5), ``dim_user`` (5).
    * ``prompt_feature_signal`` (keywords 1, paraphrase see ``WORLDS``): the weight of the
      prompt text's embedding in the system's prompt features (0: random features).
    * ``prompt_adherence`` (keywords 0.7, paraphrase 0.9), ``query_adherence`` (0.85): the
      writer's randomness.
    * ``encoder``: a :class:`~recsim_envs.prompt.text.encoders.SentenceEncoder` (default
      :class:`~recsim_envs.prompt.text.encoders.HashedNGramEncoder` with ``dim_sentence`` = 32).
    * ``writer``: a writer with ``n_prompts``, ``draw_noise``, ``choices``, ``render``,
      ``parse_query`` (default: the built-in
      :class:`~recsim_envs.prompt.text.writer.TemplateWriter`).
    * ``reward_model``: a :class:`~recsim_envs.prompt.text.components.SentenceReward`.
    * ``n_mc`` (32): sentences per (query, prompt) for E[r | x, q, a].
    * ``world_seed`` (0), ``n_eval`` (10,000), ``eval_seed`` (12345), ``log_pi_b`` (True),
      ``render_mode`` (``"ansi"`` or None).

    ## Version History

    * v0: initial version; ``world`` added (default "keywords": the original world, same
      draws from ``world_seed``); issue 20: the paraphrase world's reward noise (1.0 ->
      0.125) and prompt features (``prompt_feature_signal``) changed; the former defaults are
      ``PARAPHRASE_ISSUE12``. The keywords world is unchanged.
    """

    default_id = "recsim_envs/PromptSentenceText-v0"

    def __init__(
        self,
        n_prompts: int | None = None,
        reward_noise: float | None = None,
        reward_gap: float = 0.5,
        dim_user: int = 5,
        dim_sentence: int = 32,
        prompt_adherence: float | None = None,
        query_adherence: float = 0.85,
        world: str = "keywords",
        n_paraphrases: int | None = None,
        prompt_feature_signal: float | None = None,
        encoder: Any = None,
        writer: Any = None,
        reward_model: Any = None,
        n_mc: int = 32,
        world_seed: int = 0,
        n_eval: int = 10_000,
        eval_seed: int = 12345,
        log_pi_b: bool = True,
        render_mode: str | None = None,
        built_world: Any = None,
    ) -> None:
        # the settings as given (read first: locals() holds only the arguments here)
        settings = {k: v for k, v in locals().items()
                    if k not in ("self", "render_mode", "built_world", "__class__")}
        if built_world is not None:
            self._adopt_world(built_world, settings, render_mode)
            return
        self._world_settings = settings
        if world not in WORLDS:
            raise ValueError(f"world must be one of {sorted(WORLDS)}, got {world!r}")
        defaults = WORLDS[world]
        n_prompts = defaults["n_prompts"] if n_prompts is None else n_prompts
        if prompt_adherence is None:
            prompt_adherence = defaults["prompt_adherence"]
        if n_paraphrases is None:
            n_paraphrases = defaults["n_paraphrases"]
        reward_noise = defaults["reward_noise"] if reward_noise is None else reward_noise
        if prompt_feature_signal is None:
            prompt_feature_signal = defaults["prompt_feature_signal"]
        if not 0.0 <= float(prompt_feature_signal) <= 1.0:
            raise ValueError(f"prompt_feature_signal must lie in [0, 1], got "
                             f"{prompt_feature_signal}")
        self.prompt_feature_signal = float(prompt_feature_signal)
        max_prompts = MAX_PROMPTS if world == "keywords" else N_INTENTS_MAX
        if not 10 <= int(n_prompts) <= max_prompts:
            raise ValueError(f"n_prompts must be between 10 and {max_prompts} in the {world!r} "
                             f"world, got {n_prompts}")
        if not (np.isfinite(reward_noise) and reward_noise >= 0):
            raise ValueError(f"reward_noise must be a finite number >= 0, got {reward_noise}")
        if not reward_gap > 0:
            raise ValueError(f"reward_gap must be > 0, got {reward_gap}")
        if int(dim_user) < 1 or int(n_mc) < 1 or int(n_eval) < 1:
            raise ValueError("dim_user, n_mc and n_eval must be >= 1")
        self.dim_user, self.dim_query = int(dim_user), DIM_QUERY
        self.reward_noise = float(reward_noise)
        self.n_eval, self.eval_seed = int(n_eval), int(eval_seed)
        self.log_pi_b = bool(log_pi_b)
        self.n_mc = int(n_mc)

        self.world = world
        world_rng = np.random.default_rng(world_seed)
        if writer is None and world == "paraphrase":
            writer = make_paraphrase_writer(int(n_prompts), world_rng, int(n_paraphrases),
                                            prompt_adherence, query_adherence)
        elif writer is None:
            writer = make_writer(int(n_prompts), world_rng, prompt_adherence, query_adherence)
        elif writer.n_prompts != int(n_prompts):
            raise ValueError(
                f"the writer has {writer.n_prompts} prompts but n_prompts={n_prompts}"
            )
        if encoder is None:
            encoder = HashedNGramEncoder(dim=int(dim_sentence), seed=int(world_seed))
        self.writer, self.encoder = writer, encoder
        self.generator = TextEmbeddingGenerator(writer, encoder)
        self._probe_encoder()
        # Query popularity: Dirichlet(1) per attribute, fixed by the world.
        self.attr_probs = [world_rng.dirichlet(np.ones(k)) for k in (6, 5, 4)]
        if reward_model is None:
            d_s = int(encoder.dim)
            # Paraphrase world: the query enters centred on its mean, so that the mean
            # direction over users is zero and no context-free prompt is near-optimal.
            reward_model = BilinearSentenceReward(
                world_rng.standard_normal((self.dim_user, d_s)),
                world_rng.standard_normal((DIM_QUERY, d_s)),
                scale=1.0,
                query_offset=np.concatenate(self.attr_probs) if world == "paraphrase" else None,
            )
            calibrate = True
        else:
            calibrate = False
        if not hasattr(reward_model, "direction"):
            raise ValueError(
                "the reward model must be linear in the sentence embedding and expose "
                "direction(user, query) -> (n, d_s), so that E[r | x, q, a] = direction . "
                "E[phi(s) | q, a] can be computed for evaluation"
            )
        self.reward_model = reward_model
        if self.reward_model.dim_sentence != int(encoder.dim):
            raise ValueError(
                f"the reward model reads {self.reward_model.dim_sentence}-dimensional "
                f"embeddings but the encoder writes {encoder.dim}; use matching dimensions"
            )
        self.obs_low = np.concatenate([np.full(self.dim_user, -100.0), np.zeros(DIM_QUERY)])
        self.obs_high = np.concatenate([np.full(self.dim_user, 100.0), np.ones(DIM_QUERY)])
        self._finish_init(
            render_mode,
            {
                "n_prompts": int(n_prompts),
                "reward_noise": float(reward_noise),
                "reward_gap": float(reward_gap),
                "dim_user": int(dim_user),
                "dim_sentence": int(encoder.dim),
                "prompt_adherence": float(prompt_adherence),
                "query_adherence": float(query_adherence),
                "world": world,
                "n_paraphrases": int(n_paraphrases),
                "prompt_feature_signal": float(prompt_feature_signal),
                "encoder": type(encoder).__name__,
                "writer": type(writer).__name__,
                "reward_model": type(reward_model).__name__,
                "n_mc": int(n_mc),
                "world_seed": int(world_seed),
                "n_eval": int(n_eval),
                "eval_seed": int(eval_seed),
                "log_pi_b": bool(log_pi_b),
            },
        )
        # Prompts of one group (paraphrases of one intent) write from one distribution:
        # the Monte Carlo table is per group, shared by its prompts.
        self.prompt_group = np.asarray(
            getattr(writer, "prompt_group", np.arange(self.n_prompts)), dtype=np.int64)
        # The table dominates the cost of the world: environments that share one world
        # take it built (built_world=, see build_world) instead of computing it again.
        self.group_embeddings = self._mean_embedding_table(world_seed)  # (combos, groups, d_s)
        if calibrate:
            # Fix the reward scale from the world (before any learner runs): V(best) - V(uniform)
            # = reward_gap on the evaluation contexts. The gap is measured with the unscaled
            # user (scale 1), who is then rebuilt with the scale rather than mutated.
            m = self.eval_reward_matrix
            gap = float(m.max(axis=1).mean() - m.mean())
            self.reward_model = dataclasses.replace(
                self.reward_model, scale=float(reward_gap) / gap
            )
            self._eval_matrix = None

    def _probe_encoder(self) -> None:
        probe = self.writer.render(np.zeros((1, len(self.writer.slot_phrases)), dtype=np.int64)) \
            if hasattr(self.writer, "slot_phrases") else ["a probe sentence."]
        emb = np.asarray(self.encoder.encode(probe))
        if emb.ndim != 2 or emb.shape != (1, int(self.encoder.dim)):
            raise ValueError(
                f"the encoder declares dim={self.encoder.dim} but returned an embedding of shape "
                f"{emb.shape} for one sentence; fix its dim attribute or its output"
            )

    def _mean_embedding_table(self, world_seed: int) -> np.ndarray:
        """E[phi(s) | q, a] by Monte Carlo for every query type and prompt group:
        (n_combos, n_groups, d_s) (a group's first prompt writes for the group)."""
        rng = np.random.default_rng([int(world_seed), 7])
        groups, first = np.unique(self.prompt_group, return_index=True)
        if not np.array_equal(groups, np.arange(len(groups))):
            raise ValueError("the writer's prompt_group must number groups 0..n_groups-1")
        table = np.empty((_N_COMBOS, len(groups), int(self.encoder.dim)))
        prompts = np.repeat(first, self.n_mc)
        for c in range(_N_COMBOS):  # one batch of n_groups * n_mc sentences per query type
            query = np.repeat(self._combo_query(np.array([c])), len(prompts), axis=0)
            emb, _ = self._generate(query, prompts, rng)
            table[c] = emb.reshape(len(groups), self.n_mc, -1).mean(axis=1)
        return table

    @staticmethod
    def _combo_query(combo: np.ndarray) -> np.ndarray:
        """Query-type index (n,) -> multi-hot queries (n, 15)."""
        g, rest = np.divmod(combo, len(MOODS) * len(SETTINGS))
        m, s = np.divmod(rest, len(SETTINGS))
        q = np.zeros((len(combo), DIM_QUERY))
        rows = np.arange(len(combo))
        q[rows, g] = 1.0
        q[rows, len(GENRES) + m] = 1.0
        q[rows, len(GENRES) + len(MOODS) + s] = 1.0
        return q

    def _combo_of(self, query: np.ndarray) -> np.ndarray:
        g, m, s = TemplateWriter.parse_query(query)
        return (g * len(MOODS) + m) * len(SETTINGS) + s

    # ------------------------------------------------------------------ family hooks
    def _from_noise(self, query, prompt_ids, noise, with_text):
        emb, text = self.generator.write(query, prompt_ids, noise, with_text)
        return self._checked_embedding(emb), text

    def context_noise(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return rng.standard_normal((n, self.dim_user)), rng.random((n, 3))

    def contexts_from_noise(self, noise: tuple[np.ndarray, ...]) -> np.ndarray:
        x, u = noise
        x = np.clip(x, -100.0, 100.0)
        idx = [
            np.minimum((u[:, j, None] > np.cumsum(p)[None, :-1]).sum(1), len(p) - 1)
            for j, p in enumerate(self.attr_probs)
        ]
        combo = (idx[0] * len(MOODS) + idx[1]) * len(SETTINGS) + idx[2]
        return np.hstack([x, self._combo_query(combo)]).astype(np.float32)

    def system_prompt_embeddings(self) -> np.ndarray:
        """(n_prompts, d) what the system knows about its prompts: the encoder's embedding of
        each prompt's text, blended with a per-prompt random direction unless
        ``prompt_feature_signal`` is 1 (:func:`blend_prompt_features`)."""
        if not hasattr(self.writer, "prompt_text"):
            return np.eye(self.n_prompts, dtype=np.float32)
        text = np.asarray(self.encoder.encode(self.writer.prompt_text()), dtype=np.float64)
        if self.prompt_feature_signal < 1.0:
            rng = np.random.default_rng([int(self.env_kwargs["world_seed"]), 11])
            text = blend_prompt_features(text, self.prompt_feature_signal, rng)
        return text.astype(np.float32)

    def expected_reward_matrix(self, contexts: np.ndarray) -> np.ndarray:
        user, query = self.split(contexts)
        u = self.reward_model.direction(user, query)
        combo = self._combo_of(query)
        out = np.empty((len(u), self.n_prompts))
        for c in np.unique(combo):  # one product per query type (at most 120)
            rows = np.flatnonzero(combo == c)
            out[rows] = (u[rows] @ self.group_embeddings[c].T)[:, self.prompt_group]
        return out

    def expected_reward(self, contexts: np.ndarray, prompt_ids: np.ndarray) -> np.ndarray:
        user, query = self.split(contexts)
        ids = check_prompt_ids(prompt_ids, self.n_prompts, len(user))
        u = self.reward_model.direction(user, query)
        return row_dot(u, self.group_embeddings[self._combo_of(query), self.prompt_group[ids]])


class PromptSentenceTextVectorEnv(PromptVectorEnvBase):
    """Native vector env of :class:`PromptSentenceTextEnv` (see :class:`PromptVectorEnvBase`)."""

    single_env_cls = PromptSentenceTextEnv


class PromptSentenceParaphraseEnv(PromptSentenceTextEnv):
    """``recsim_envs/PromptSentenceParaphrase-v0``: :class:`PromptSentenceTextEnv` with
    ``world="paraphrase"`` (1,000 prompts, paraphrases of 100 intents; see the parent's
    docstring). A separate id so that suites and ``gymnasium.make`` name the world."""

    default_id = "recsim_envs/PromptSentenceParaphrase-v0"

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.setdefault("world", "paraphrase") != "paraphrase":
            raise ValueError("PromptSentenceParaphrase-v0 is the paraphrase world; use "
                             "PromptSentenceText-v0 for world='keywords'")
        super().__init__(**kwargs)


class PromptSentenceParaphraseVectorEnv(PromptVectorEnvBase):
    """Native vector env of :class:`PromptSentenceParaphraseEnv`."""

    single_env_cls = PromptSentenceParaphraseEnv
