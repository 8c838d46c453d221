"""iALP's reward model: Bradley-Terry on a language model's stated preferences, then an affine
calibration to the reward scale.

Paper: Wang et al., "Large Language Model driven Policy Exploration for Recommender
Systems", WSDM 2025 (a reward model learned from the language model's preferences); the
pairwise loss is Bradley and Terry's (Biometrika, 1952), the calibration is ours
(``docs/sequential.md``). The model itself is an
:class:`~agents.sequential.ialp.networks.ItemScorer`: (n, dim) states -> (n, n_items) scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recsim_envs.data import LoggedDataset
from recsim_envs.sequential.view import SessionView


def fit_bradley_terry(reward_model: nn.Module, imagined: dict[str, np.ndarray], config: Any,
                      rng: np.random.Generator) -> dict[str, float]:
    """Maximise log sigmoid(r(s, preferred) - r(s, not preferred)) over the imagined pairs.

    Args:
        reward_model: (n, dim) -> (n, n_items) scores, trained in place.
        imagined: :func:`~agents.sequential.ialp.imagination.imagine`'s arrays (``s`` (T, dim);
            ``pair_s``, ``pair_w``, ``pair_l`` (P,)).
        config: an :class:`~agents.sequential.ialp.config.IALPConfig` (``lr``,
            ``rm_updates``, ``batch_size``).
        rng: draws the minibatches (``rm_updates`` draws of ``batch_size`` pairs).

    Returns:
        ``rm_loss`` (last minibatch), ``rm_pair_accuracy`` (all pairs), ``n_pairs``.
    """
    c = config
    opt = torch.optim.Adam(reward_model.parameters(), lr=c.lr)
    s_all = torch.as_tensor(imagined["s"])
    idx_s, w, l_ = (torch.as_tensor(imagined[k]) for k in ("pair_s", "pair_w", "pair_l"))
    loss = torch.tensor(0.0)
    for _ in range(c.rm_updates):
        b = torch.as_tensor(rng.integers(len(idx_s), size=c.batch_size))
        r = reward_model(s_all[idx_s[b]])
        diff = r.gather(1, w[b, None]) - r.gather(1, l_[b, None])
        loss = -F.logsigmoid(diff).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        r = reward_model(s_all[idx_s])
        acc = (r.gather(1, w[:, None]) > r.gather(1, l_[:, None])).float().mean()
    return {"rm_loss": loss.item(), "rm_pair_accuracy": acc.item(), "n_pairs": int(len(idx_s))}


def predicted_reward(reward_model: nn.Module, s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(n, dim) states, (n,) items -> (n,) uncalibrated reward-model scores."""
    with torch.no_grad():
        r = reward_model(torch.as_tensor(s)).gather(1, torch.as_tensor(a)[:, None])
    return r[:, 0].numpy()


def public_profile(layout: Any, item_features: np.ndarray, item_category: np.ndarray,
                   s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) states -> popularity (1, n_items) and stated like (n, n_items) of every
    item: the public profile ``profile_greedy`` scores (popularity is the last item
    feature; the likes are the last 8 user features)."""
    from recsim_envs.sequential.world import CATEGORIES

    d = layout.user_dim
    likes = np.asarray(s)[:, 1 + d - len(CATEGORIES):1 + d]
    pop = np.asarray(item_features, np.float32)[None, :, -1]
    return pop, likes[:, np.asarray(item_category)].astype(np.float32)


def calibrated_transitions(reward_model: nn.Module, imagined: dict[str, np.ndarray],
                           dataset: LoggedDataset, use_logged: bool,
                           profile: Any = None
                           ) -> tuple[list[np.ndarray], np.ndarray, dict[str, float]]:
    """Imagined transitions with calibrated reward-model rewards, plus logged ones.

    Calibration: the Bradley-Terry scores have an arbitrary scale, so they are mapped
    affinely to the reward scale: by least squares against the logged rewards when
    logged rollouts are given (those are real feedback, no ratings matrix involved),
    otherwise to mean 3, standard deviation 1 on the imagined turns.

    With ``profile`` (a function (n, dim) states, (n,) items -> (n, 2) popularity and
    stated like; ``calibration="profile"``, issue 19) the least-squares fit also has these
    two public covariates: reward = a * score + b + c_pop * popularity + c_like * like, so
    the logged feedback says how much the public profile adds to the language model's view.

    Returns:
        The columns ``(s, a, r, s2, d, a_bc)`` over imagined then logged transitions
        ((T, dim), (T,), (T,), (T, dim), (T,), (T,)), the calibration ``(a, b)`` as float32
        (reward = a * score + b) and ``fit_info`` entries.
    """
    r_im = predicted_reward(reward_model, imagined["s"], imagined["a"])
    z = (1.0 / max(r_im.std(), 1e-6), 3.0 - r_im.mean() / max(r_im.std(), 1e-6))
    a_, b_ = z
    logged = use_logged and len(dataset) > 0
    if logged:
        view = SessionView.of(dataset)
        r_log_hat = predicted_reward(reward_model, dataset.context, dataset.action)
        design = np.stack([r_log_hat, np.ones_like(r_log_hat)], 1)
        if profile is not None:
            design = np.hstack([design, profile(dataset.context, dataset.action)])
        coef, *_ = np.linalg.lstsq(design, dataset.reward, rcond=None)
        if coef[0] > 0:  # else the reward model disagrees with the logs: keep z-scoring
            a_, b_ = float(coef[0]), float(coef[1])
            extra = [float(x) for x in coef[2:]]
        else:
            extra = [0.0, 0.0] if profile is not None else []
    else:
        extra = [0.0, 0.0] if profile is not None else []
    scale = np.array([a_, b_, *extra], np.float32)
    r_cal = a_ * r_im + b_
    if extra:
        r_cal = r_cal + profile(imagined["s"], imagined["a"]) @ np.asarray(extra)
    parts = [(imagined["s"], imagined["a"], r_cal.astype(np.float32), imagined["s2"],
              imagined["d"], imagined["top"])]
    if logged:
        parts.append((dataset.context, dataset.action, dataset.reward, view.next_context,
                      view.terminated.astype(np.float32), dataset.action))
    out = [np.concatenate(x) for x in zip(*parts, strict=True)]
    info = {"reward_scale_a": a_, "reward_scale_b": b_, "n_imagined": int(len(r_im)),
            **{f"reward_scale_{k}": v for k, v in zip(("pop", "like"), extra, strict=False)},
            "n_logged": int(len(dataset) if logged else 0)}
    return out, scale, info
