"""Off-policy estimates for multi-step sessions (the iALP setting, Wang et al., WSDM 2025).

Logged data are whole sessions: session estimators need every session complete. The
estimates are of the agent's mean session return over the users the held-out log comes from
(``meta.info["users"]``); each estimate's note names that population.

Same users as the online value: the online value averages over the world's evaluation
(test) users, while the runner's logs come from its training users (issue 21 measured the
difference in every estimate's error). So when ``env`` is given - the runner passes it -
and the held-out log is not already of the evaluation users, :func:`evaluation_log`
re-logs it from them: same behaviour policy, number of sessions and seed
(``SequentialRecEnv.log_sessions(..., users="test")``). Agents still fit on training users
only; that log serves the estimates alone. Without ``env`` (your own logs) the estimates are
of the population your log comes from.

Estimators (SCOPE-RL's names), all of the agent itself (a deterministic agent is a one-hot
of ``act``; nothing is softened):

- ``pdis`` / ``wpdis``: per-decision IS (Precup et al., ICML 2000) and its weighted form.
  A deterministic agent over ~13-turn sessions gets status "low_ess" (shown, with a warning);
  "no_support" only where it puts mass on items the behaviour policy never takes.
- ``dm``: the direct method on cross-fitted linear fitted-Q evaluation (Le, Voloshin and Yue,
  ICML 2019) over :class:`~recsim_envs.ope.session_features.SessionFeatures` (what the agents
  see: the observation, the items' public attributes, the turn);
- ``dr``: per-decision doubly robust (Jiang and Li, ICML 2016) with the same cross-fitted Q.

- ``rollout``: model-based - the agent played in a rating model fitted on the held-out
  sessions under the stated quit rule (:mod:`recsim_envs.ope.session_model`); needs no
  importance weight, so it serves deterministic agents as well as stochastic ones.

DM and DR intervals refit the Q-function in every bootstrap replicate
(:mod:`recsim_envs.ope.session_fqe`); the rollout's refits the rating model and simulates
again in every replicate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from recsim_envs.data import LoggedDataset
from recsim_envs.evaluation import AgentHandle, Deployment
from recsim_envs.ope.crossfit import CROSS_FIT_FOLDS, fold_ids
from recsim_envs.ope.estimate import (
    WEIGHT_FREE,
    OffPolicyEstimate,
    join_notes,
    support_masses,
    thin_note,
)
from recsim_envs.ope.session_features import SessionFeatures
from recsim_envs.ope.session_fqe import SessionFQEData, fqe_dm_dr
from recsim_envs.ope.session_model import rollout_estimate
from recsim_envs.ope.session_rollout import SessionRules
from recsim_envs.ope.sessions import SessionLog, pdis, wpdis
from recsim_envs.ope.targets import target_distribution
from recsim_envs.sequential.observation import ObsLayout
from recsim_envs.sequential.view import SessionView
from recsim_envs.sequential.world import COLOURS

FQE_ITERATIONS = 30
"""Bellman backups of FQE: the sessions' 30-turn limit (exact for a finite horizon)."""
FQE_RIDGE = 0.1
"""L2 penalty of each linear FQE fit: small against the features' scale (0-1 indicators,
ratings up to 5), only there to keep a fit solvable when a feature is constant in a fold."""
N_BOOT = 200
"""Bootstrap replicates of DM and DR (each refits FQE on both folds)."""
ROLLOUT_CALIBRATED = True
"""The rollout's interval is printed as a 95% interval: its calibration (50 logs, behaviour,
two deterministic agents, ``bc`` and ``dqn``; docs/ope.md, "Sequential estimates") covers
>= 90% for every agent, and the slow calibration test fails if one falls below."""
DEFAULT_SESSION = {"max_turns": 30, "quit_rule": "category", "quit_window": 5,
                   "max_same_category": 2}
"""``SequentialRec-v0``'s turn limit and stated quit rule where ``meta.env_kwargs`` do not
name them."""


def population_note(heldout: LoggedDataset) -> str:
    """Which users the estimate averages over (``meta.info["users"]``)."""
    users = heldout.meta.info.get("users", "train")
    who = ("the evaluation (test) users, as the online value" if users == "test" else
           f"the {users} users the log comes from (not the evaluation users of the online "
           "value)")
    return f"mean session return over {who}"


def session_features(heldout: LoggedDataset) -> SessionFeatures:
    """The FQE features of ``heldout``'s system arrays and turn limit."""
    heldout.require("obs_layout", "item_features", "item_category")
    kw = {**DEFAULT_SESSION, **dict(heldout.meta.env_kwargs or {})}
    return SessionFeatures(ObsLayout.from_array(heldout.system["obs_layout"]),
                           heldout.system["item_features"], heldout.system["item_category"],
                           len(COLOURS), int(kw["max_turns"]), int(kw["quit_window"]),
                           int(kw["max_same_category"]) if kw["quit_rule"] == "category"
                           else None)


ROLLOUT_ENV = "recsim_envs/SequentialRec-v0"
"""The world whose response the rollout's model covers: ratings from a fixed matrix and the
stated category quit rule (a fitted world's patience or the distance rule are not public)."""


def session_rules(heldout: LoggedDataset) -> SessionRules | None:
    """The public rules of ``heldout``'s world for the rollout estimate, or None where the
    session does not end by the stated category rule alone (:data:`ROLLOUT_ENV`)."""
    kw = {**DEFAULT_SESSION, **dict(heldout.meta.env_kwargs or {})}
    if heldout.meta.env_id != ROLLOUT_ENV or kw["quit_rule"] != "category":
        return None
    items = np.asarray(heldout.system["item_features"])
    cat = np.asarray(heldout.system["item_category"], np.int64)
    n_cat = int(cat.max()) + 1
    return SessionRules(
        layout=ObsLayout.from_array(heldout.system["obs_layout"]), item_category=cat,
        item_colour=np.argmax(items[:, n_cat:n_cat + len(COLOURS)], axis=1),
        item_popularity=items[:, -1], max_turns=int(kw["max_turns"]),
        quit_window=int(kw["quit_window"]), max_same=int(kw["max_same_category"]),
        rating_min=float(kw.get("rating_min", 1.0)), rating_max=float(kw.get("rating_max", 5.0)),
        reward_type=str(kw.get("reward_type", "rating")),
        click_threshold=float(kw.get("click_threshold", 4.0)))


def rollout(agent: AgentHandle, heldout: LoggedDataset, view: SessionView,
            rng: np.random.Generator) -> OffPolicyEstimate:
    """The model-based rollout estimate (:mod:`recsim_envs.ope.session_model`)."""
    rules = session_rules(heldout)
    m = len(np.unique(view.episode_id))
    if rules is None:
        return OffPolicyEstimate.no_support(
            "rollout", n=m, unit="sessions", n_support=0, ess=None, interval="",
            note=f"the rollout needs {ROLLOUT_ENV} with the stated category quit rule")
    rating = view.next_context[:, -1]  # the last feedback slot: the rating just given
    return rollout_estimate(agent, rules, heldout.context, heldout.action, rating,
                            view.episode_id, view.step, rng=rng, n_boot=N_BOOT,
                            calibrated=ROLLOUT_CALIBRATED)


def evaluation_log(env: gym.Env, policy: Any, like: LoggedDataset) -> LoggedDataset:
    """``like`` itself if it holds the evaluation users' sessions, else as many complete
    sessions as ``like``, with its seed, of ``env``'s evaluation users under ``policy``."""
    if like.meta.info.get("users") == "test":
        return like
    n_sessions = len(np.unique(SessionView.of(like).episode_id))
    seed = int(like.meta.seed)
    return env.unwrapped.log_sessions(policy, n_sessions, rng=np.random.default_rng(seed),
                                      seed=seed, users="test")


def estimate(
    agent: AgentHandle, heldout: LoggedDataset, deployment: Deployment,
    rng: np.random.Generator, *, train: LoggedDataset | None = None, env: gym.Env | None = None,
) -> dict[str, OffPolicyEstimate]:
    """Estimates of the agent's mean session return from the complete sessions of
    ``heldout``, re-logged from the evaluation users when ``env`` is given (module
    docstring). ``train`` is not used: FQE is cross-fitted on the held-out sessions, which
    come from the population the estimate is about."""
    if env is not None and deployment.behaviour is not None:
        heldout = evaluation_log(env, deployment.behaviour, heldout)
    view = SessionView.of(heldout)
    view.require_complete()
    n_items = heldout.meta.n_actions
    space = gym.spaces.Discrete(n_items)
    ctx, nxt, turn = heldout.context, view.next_context, view.step
    target = target_distribution(agent, ctx, n_items, space)
    target_next = target_distribution(agent, nxt, n_items, space)
    unsupported = thin = None
    if deployment.behaviour is not None:
        # thin: behaviour probability below 1 / (10 n) for n logged turns (draws)
        unsupported, thin = support_masses(target, deployment.behaviour.probs(ctx))
    rows = np.arange(len(heldout))
    log = SessionLog.from_rows(view.episode_id, turn, heldout.reward, heldout.pscore,
                               target[rows, heldout.action])
    who = population_note(heldout)
    out = {
        "pdis": pdis(log, rng=rng, unsupported_mass=unsupported),
        "wpdis": wpdis(log, rng=rng, unsupported_mass=unsupported),
    }
    feats = session_features(heldout)
    taken, state = feats.taken_and_expected(ctx, turn, heldout.action, target)
    data = SessionFQEData(
        log=log, features=taken, state_features=state,
        next_features=feats.expected(nxt, turn + 1, target_next),
        continues=(~view.ended).astype(np.float64),
        folds=fold_ids(log.n_sessions, CROSS_FIT_FOLDS, rng),
    )
    out["dm"], out["dr"] = fqe_dm_dr(data, rng=rng, n_boot=N_BOOT, ridge=FQE_RIDGE,
                                     n_iterations=FQE_ITERATIONS,
                                     unsupported_mass=unsupported, thin_mass=thin)
    out["rollout"] = rollout(agent, heldout, view, rng)
    return {k: dataclasses.replace(
        v, note=join_notes(v.note, who, thin_note(thin) if k not in WEIGHT_FREE else ""),
        thin_mass=thin)
        for k, v in out.items()}
