"""The one contract between agents and the harness: what an agent is given, what it declares.

An agent learns from logs and acts::

    agent.fit(dataset, deployment=None)
    actions = agent.act(obs_batch)      # (n, d) -> (n,) prompt/item ids or (n, k) candidate sets

A plug-in whose ``fit`` takes the dataset only is wrapped as ``AgentHandle(agent,
plain_fit=True)``: the harness then calls ``fit(dataset)``. That is the one place a plain
``fit`` is supported; the benchmark runner decides it once, when it loads a plug-in class
(:func:`benchmarks.plugins.build_agent`), and nothing reads signatures at call time.

``deployment`` is a :class:`Deployment`: the public parts of the system the logs came from
(the behaviour policy, the fixed ranker, the sentence generator, the simulated text user).
They belong to the recommender team, never to the simulated user's private response model.

Capabilities are typing Protocols, checked once when the harness wraps an agent
(:class:`AgentHandle`) instead of probing attributes at every use:

- :class:`CandidateSampler` (two-stage): ``act`` draws its k candidates from
  ``candidate_probs(obs)`` (n, N), i.i.d. (``with_replacement = True``) or as k distinct items
  (``with_replacement = False``, uniform only). The harness turns this into the exact
  probability that the ranker shows each item (:mod:`recsim_envs.ope.policy`).
- :class:`StochasticPolicy` (prompt, sequential): ``act`` samples one action from
  ``action_probs(obs)`` (n, A).
- :class:`OnlineLearner`: learns from transitions the harness steps through, handed over by
  ``observe`` (the one way an agent receives online data); ``explore`` is how it acts while
  learning. :class:`EpisodeLearner` is the adapter form of learners that keep their own
  training loop (stable-baselines3): the harness gives them an environment factory.
- ``rank_items(obs, k)`` (optional, two-stage): the agent's own top-``k`` items (n, k),
  for the one-stage ranking metrics deeper than its candidate set.
- :class:`Privileged`: a skyline that reads the live environment (``bind_env``). Every
  agent with ``offline = False`` (it reads or learns from the live environment: ``bind_env``,
  or an online learner) is a skyline and is never given off-policy rows.

One policy per agent: where an agent exposes a distribution, the harness checks once that
``act`` samples from it (:meth:`AgentHandle.check_agreement`), then evaluates and estimates
that same policy. An agent whose ``act`` is deterministic (top-k, greedy) and that declares
no distribution is evaluated and estimated as the deterministic policy ``act`` deploys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from recsim_envs.data import LoggedDataset


@dataclass(frozen=True)
class Deployment:
    """The deployed system's public parts that the logs came from (each optional).

    Attributes:
        family: ``two_stage``, ``prompt`` or ``sequential``.
        behaviour: the behaviour (logging) policy, a
            :class:`recsim_envs.core.policies.BehaviourPolicy`.
        ranker: the fixed second-stage ranker (two-stage).
        n_candidates: k, the candidate-set size (two-stage).
        generator: the frozen sentence generator, which holds no reward (prompt).
        text_user: a factory ``() -> simulated text user`` (sequential; iALP's language
            model stub sees the public catalogue only).
    """

    family: str
    behaviour: Any = None
    ranker: Any = None
    n_candidates: int | None = None
    generator: Any = None
    text_user: Callable[[], Any] | None = None


@runtime_checkable
class Agent(Protocol):
    def fit(self, dataset: LoggedDataset, deployment: Deployment | None = None) -> Any: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class CandidateSampler(Protocol):
    with_replacement: bool

    def candidate_probs(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class StochasticPolicy(Protocol):
    def action_probs(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class OnlineLearner(Protocol):
    def explore(self, obs: np.ndarray) -> Any: ...

    def observe(self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray,
                terminated: bool, truncated: bool) -> None: ...


@runtime_checkable
class EpisodeLearner(Protocol):
    def learn_episodes(self, n_episodes: int, make_env: Callable[[], Any]) -> Any: ...


@runtime_checkable
class Privileged(Protocol):
    def bind_env(self, env: Any) -> None: ...


@runtime_checkable
class ItemRanker(Protocol):
    def rank_items(self, obs: np.ndarray, k: int) -> np.ndarray: ...


class ContractError(TypeError):
    """An agent that breaks the contract (the message names the agent and the fix)."""


RETIRED_SPELLINGS = {
    "act_samples": "declare candidate_probs(obs) and with_replacement (two-stage) or "
                   "action_probs(obs) (one action per observation)",
}
"""Capability names no code reads (once documented), and what to declare instead: an agent
that sets one would silently be estimated as a policy it is not."""


def agent_label(agent: Any) -> str:
    return str(getattr(agent, "name", type(agent).__name__))


class AgentHandle:
    """An agent with its capabilities resolved once; what the harness works with.

    The handle forwards only what the contract names (``fit``, ``act``, the distribution,
    ``rank_items``, ``bind_env``, ``explore``/``observe``, ``learn_episodes``); anything
    else is read from ``handle.agent`` explicitly.

    Attributes:
        agent: the wrapped agent.
        name: its label in messages.
        plain_fit: ``fit`` takes the dataset only (a plug-in; see the module docstring).
        privileged: a skyline (``offline = False``); never gets off-policy rows.
        sampler, stochastic, online, episodic, binds_env, ranks_items: the protocols it
            implements.
    """

    def __init__(self, agent: Any, name: str | None = None, *, plain_fit: bool = False) -> None:
        if isinstance(agent, AgentHandle):
            plain_fit = plain_fit or agent.plain_fit
            agent = agent.agent
        if not isinstance(agent, Agent):
            raise ContractError(f"{type(agent).__name__} is not an agent: it needs "
                                "fit(dataset, deployment=None) and act(obs)")
        self.agent = agent
        self.name = name or agent_label(agent)
        self.plain_fit = bool(plain_fit)
        # offline = False means one thing: the agent learns from or reads the live
        # environment, not only logs (a skyline, never an off-policy candidate). It must
        # say how: read it (bind_env) or learn from the transitions the harness steps.
        self.privileged = getattr(agent, "offline", True) is False
        self.binds_env = isinstance(agent, Privileged)
        self.online = isinstance(agent, OnlineLearner)
        self.episodic = isinstance(agent, EpisodeLearner)
        if self.privileged and not (self.binds_env or self.online or self.episodic):
            raise ContractError(
                f"agent {self.name!r} is a skyline (offline = False) but neither reads the "
                "environment (bind_env(env)) nor learns online (explore(obs) and observe(...), "
                "or learn_episodes(n, make_env))")
        for attr, fix in RETIRED_SPELLINGS.items():
            if hasattr(agent, attr):
                raise ContractError(f"agent {self.name!r} declares {attr!r}, which the harness "
                                    f"does not read: {fix}")
        self.sampler = isinstance(agent, CandidateSampler)
        self.stochastic = isinstance(agent, StochasticPolicy)
        self.ranks_items = isinstance(agent, ItemRanker)

    # -------------------------------------------------------------- the contract's calls
    def fit(self, dataset: LoggedDataset, deployment: Deployment | None = None) -> AgentHandle:
        n_candidates = getattr(deployment, "n_candidates", None)
        if n_candidates is not None and self.stochastic and not self.sampler:
            # Actions here are candidate sets: a distribution over single items says nothing
            # about which sets act() draws, so its estimates would be of another policy.
            raise ContractError(
                f"agent {self.name!r} declares action_probs, but this environment's actions "
                f"are sets of {n_candidates} candidates: declare candidate_probs(obs)"
                " (n, n_items) and with_replacement (how act draws its candidates from it), or "
                "drop action_probs to be evaluated as the deterministic policy act() deploys")
        if self.plain_fit:
            self.agent.fit(dataset)
        else:
            self.agent.fit(dataset, deployment)
        return self

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.agent.act(obs)

    def rank_items(self, obs: np.ndarray, k: int) -> np.ndarray:
        """The agent's top-``k`` items (n, k) (``ItemRanker``); ``act`` otherwise."""
        return self.agent.rank_items(obs, k) if self.ranks_items else self.act(obs)

    def bind_env(self, env: Any) -> None:
        """Give a skyline that reads the live environment (``Privileged``) that environment;
        nothing for any other agent."""
        if self.binds_env:
            self.agent.bind_env(env)

    def explore(self, obs: np.ndarray) -> Any:
        """How an online learner acts while learning (``act`` for other agents)."""
        return self.agent.explore(obs) if self.online else self.act(obs)

    def observe(self, obs: np.ndarray, action: Any, reward: Any, next_obs: np.ndarray,
                terminated: Any, truncated: Any) -> None:
        """Hand an online learner one transition (nothing for other agents)."""
        if self.online:
            self.agent.observe(obs, action, reward, next_obs, terminated, truncated)

    def learn_episodes(self, n_episodes: int, make_env: Callable[[], Any]) -> Any:
        if not self.episodic:
            raise ContractError(f"agent {self.name!r} has no learn_episodes(n, make_env)")
        return self.agent.learn_episodes(n_episodes, make_env)

    # -------------------------------------------------------------- distributions
    def distribution(self, obs: np.ndarray, n_actions: int) -> np.ndarray | None:
        """The deployed policy's distribution (n, n_actions): ``candidate_probs`` of a
        sampler or ``action_probs`` of a stochastic policy; None for deterministic agents."""
        if self.sampler:
            probs, what = self.agent.candidate_probs(obs), "candidate_probs"
        elif self.stochastic:
            probs, what = self.agent.action_probs(obs), "action_probs"
        else:
            return None
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(obs), n_actions):
            raise ContractError(f"agent {self.name!r}: {what} returned shape {probs.shape}; "
                                f"expected ({len(obs)}, {n_actions})")
        if (not np.all(np.isfinite(probs)) or probs.min() < -1e-9
                or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)):
            raise ContractError(f"agent {self.name!r}: {what} rows must be finite, "
                                "non-negative and sum to 1")
        return np.clip(probs, 0.0, None)

    def check_agreement(self, obs: np.ndarray, n_actions: int, n_draws: int | None = None,
                        max_tv: float = 0.25, rng: np.random.Generator | None = None) -> None:
        """Check once that ``act`` samples from the declared distribution.

        Repeats each of up to 4 observations ``n_draws`` times (default 50 per action,
        at least 2,000), and compares the frequency of ``act``'s choices (for samplers: of
        every candidate drawn) with the declared distribution by total variation. With 50
        draws per action the expected total variation of a faithful sampler is about
        0.4 * sqrt(1/50) = 0.06, so ``max_tv = 0.25`` only flags a different policy (e.g. an
        ``act`` that always picks action 0 while ``action_probs`` is uniform: TV ~ 1).

        The check draws from its own generator (``rng``; default seeded 0), never the
        agent's: while it runs, every ``numpy.random.Generator`` the agent holds (as an
        attribute, or one level down) is swapped for ``rng`` and put back afterwards, so
        the agent's later draws, and its online value, are the same whether the check ran
        or not. (An agent that draws from anything else, e.g. a global generator, is not
        covered: the contract asks agents to draw from a seeded generator they hold.)
        """
        obs = np.asarray(obs)[:4]
        probs = self.distribution(obs, n_actions)
        if probs is None:
            return
        with _own_generator(self.agent, rng or np.random.default_rng(0)):
            self._check_agreement(obs, probs, n_actions, n_draws, max_tv)

    def _check_agreement(self, obs: np.ndarray, probs: np.ndarray, n_actions: int,
                         n_draws: int | None, max_tv: float) -> None:
        if self.sampler and not self.agent.with_replacement:
            flat = probs[probs > 0]
            if not np.allclose(flat, flat[0]):
                raise ContractError(
                    f"agent {self.name!r} draws candidates without replacement from a "
                    "non-uniform distribution: its shown-item probability has no closed form "
                    "here; draw with replacement (with_replacement = True) or uniformly")
        n_draws = n_draws or max(2000, 50 * n_actions)
        for row, p in zip(obs, probs, strict=True):
            actions = np.asarray(self.agent.act(np.repeat(row[None], n_draws, axis=0)))
            counts = np.bincount(actions.reshape(-1), minlength=n_actions).astype(np.float64)
            freq = counts / counts.sum()
            tv = 0.5 * float(np.abs(freq - p).sum())
            if tv > max_tv:
                raise ContractError(
                    f"agent {self.name!r}: act() does not sample from its declared "
                    f"distribution (total variation {tv:.2f} over {n_draws} draws); the "
                    "harness evaluates and estimates one policy, so make act sample from "
                    "action_probs/candidate_probs or drop the distribution")


def _generators(obj: Any, depth: int = 2) -> list[tuple[Any, str]]:
    """(owner, attribute) of every ``numpy.random.Generator`` held by ``obj`` as an
    attribute, or by one of its attributes (``depth`` levels)."""
    found: list[tuple[Any, str]] = []
    for name, value in list(getattr(obj, "__dict__", {}).items()):
        if isinstance(value, np.random.Generator):
            found.append((obj, name))
        elif depth > 1 and hasattr(value, "__dict__") and not isinstance(value, type):
            found.extend(_generators(value, depth - 1))
    return found


@contextlib.contextmanager
def _own_generator(agent: Any, rng: np.random.Generator) -> Iterator[None]:
    """Point every generator ``agent`` holds at ``rng`` while the block runs, then restore
    the agent's own (untouched: they drew nothing)."""
    held = [(owner, name, getattr(owner, name)) for owner, name in _generators(agent)]
    try:
        for owner, name, _ in held:
            setattr(owner, name, rng)
        yield
    finally:
        for owner, name, gen in held:
            setattr(owner, name, gen)
