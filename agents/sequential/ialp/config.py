"""Settings of iALP and A-iALP, with the two named variants (Wang et al., WSDM 2025).

Paper: Wang, Karatzoglou, Arapakis, Jose, "Large Language Model driven Policy Exploration
for Recommender Systems", WSDM 2025 (arXiv 2501.13816). The paper's code is not public; the
design is ours (``docs/sequential.md``).

Two named variants (``IALPConfig.variant``):

- ``"as_built"``: the first build (issue 5). Imagined sessions never end, and the critic's
  anchor for the items not shown assumes the session continues; measured failure: the critic
  never learns that a repeat ends the session (held-out returns 16-86 over 8 seeds).
- ``"quit_aware"`` (default): the critic learns termination - the logged ``terminated``
  flags, imagined sessions that end by the documented quit rule read on public observations
  (:class:`~agents.sequential.reference.StatedQuitRule`, the environment's quit settings),
  and an anchor target ``r_hat(s, a') + gamma (1 - quit(s, a')) V(s')``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.sequential.reference import check_quit_rule_settings

VARIANTS = {
    # learn_termination, online_bc_weight, online_bc_target, judge
    "as_built": (False, 0.0, "taken", "online_critic"),
    "quit_aware": (True, 0.1, "pretrained", "frozen_critic"),
}


@dataclass
class IALPConfig:
    """Settings of :class:`IALP` (and the online variants).

    Attributes:
        seed: seeds the numpy generator and torch generator created in ``fit``.
        variant: ``"quit_aware"`` (default) or ``"as_built"`` (module docstring); it sets
            the four settings below that are left None.
        learn_termination: imagined sessions end by the stated quit rule and the anchor
            uses it (quit_aware: True, as_built: False).
        online_bc_weight: weight of the behaviour-cloning term online (quit_aware 0.1: the
            measured fix for fine-tuning drifting onto repeated items; as_built 0.0).
        online_bc_target: ``"pretrained"`` (the frozen pre-trained actor's greedy item at
            s, a pull toward the pre-trained policy) or ``"taken"`` (the replayed action).
        judge: A-iALP_ap's chooser between the two proposals: ``"frozen_critic"`` (the
            pre-trained critic, quit_aware) or ``"online_critic"`` (as_built).
        quit_window, max_same_category: the stated quit rule; None reads the logged
            environment's settings (``dataset.meta.env_kwargs``).
        n_imagined_sessions, session_len: imagined rollouts with the language model.
        n_candidates: items listed in each prompt.
        explore: probability that an imagined turn shows a random candidate.
        pairs_per_turn: (preferred, not preferred) pairs kept per imagined turn.
        candidate_pool: items listed in imagined prompts: ``"retrieval"`` (half "more of
            the same", half random) or ``"safe"`` (uniform among the items the stated quit
            rule calls safe; needs ``learn_termination``; issue 19).
        calibration: how reward-model scores are mapped to the reward scale on the logged
            rewards: ``"affine"`` (a * score + b) or ``"profile"`` (plus popularity and
            stated like as covariates; issue 19).
        gamma: discount.
        d_emb, hidden: network sizes.
        lr: Adam learning rate (offline).
        rm_updates, ac_updates, batch_size: offline optimisation steps.
        bc_weight: offline weight of the cross-entropy pull of the actor toward the
            logged or language-model action (TD3+BC-style regulariser).
        anchor_weight, online_anchor_weight: weight of the reward-model anchor of the
            critic for the actions not taken (:meth:`IALP._update`).
        entropy: entropy bonus of the actor.
        tau: Polyak rate of the target critic.
        use_logged: also train on the logged rollouts of the dataset given to ``fit``.
        online_lr, online_batch, updates_per_step, epsilon, buffer_size, learning_starts:
            online phase (A-iALP).
        beta: inverse temperature of A-iALP_ap's choice between the two proposals.
    """

    seed: int = 0
    variant: str = "quit_aware"
    learn_termination: bool | None = None
    online_bc_weight: float | None = None
    online_bc_target: str | None = None
    judge: str | None = None
    quit_window: int | None = None
    max_same_category: int | None = None
    n_imagined_sessions: int = 300
    session_len: int = 10
    n_candidates: int = 20
    explore: float = 0.3
    pairs_per_turn: int = 5
    candidate_pool: str = "retrieval"
    calibration: str = "affine"
    gamma: float = 0.9
    d_emb: int = 16
    hidden: int = 64
    lr: float = 3e-3
    rm_updates: int = 600
    ac_updates: int = 1500
    batch_size: int = 256
    bc_weight: float = 0.1
    anchor_weight: float = 1.0
    entropy: float = 0.01
    tau: float = 0.02
    use_logged: bool = True
    online_lr: float = 1e-3
    online_batch: int = 64
    updates_per_step: int = 1
    online_anchor_weight: float = 1.0
    epsilon: float = 0.05
    buffer_size: int = 20_000
    learning_starts: int = 64
    beta: float = 1.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {self.variant!r}")
        names = ("learn_termination", "online_bc_weight", "online_bc_target", "judge")
        for name, default in zip(names, VARIANTS[self.variant], strict=True):
            if getattr(self, name) is None:
                setattr(self, name, default)
        if self.online_bc_target not in ("pretrained", "taken"):
            raise ValueError("online_bc_target must be 'pretrained' or 'taken', got "
                             f"{self.online_bc_target!r}")
        if self.judge not in ("frozen_critic", "online_critic"):
            raise ValueError("judge must be 'frozen_critic' or 'online_critic', got "
                             f"{self.judge!r}")
        for name in ("n_imagined_sessions", "session_len", "pairs_per_turn", "d_emb", "hidden",
                     "batch_size", "online_batch", "buffer_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_quit_rule_settings(self)
        if self.calibration not in ("affine", "profile"):
            raise ValueError(f"calibration must be 'affine' or 'profile', got "
                             f"{self.calibration!r}")
        if self.candidate_pool not in ("retrieval", "safe"):
            raise ValueError("candidate_pool must be 'retrieval' or 'safe', got "
                             f"{self.candidate_pool!r}")
        if self.candidate_pool == "safe" and not self.learn_termination:
            raise ValueError("candidate_pool='safe' reads the stated quit rule: it needs "
                             "learn_termination=True (the quit_aware variant)")
        if self.n_candidates < 2:
            raise ValueError(f"n_candidates must be >= 2, got {self.n_candidates}")
        for name in ("explore", "epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        for name in ("lr", "online_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("rm_updates", "ac_updates", "updates_per_step", "learning_starts",
                     "bc_weight", "online_bc_weight", "entropy", "beta", "anchor_weight",
                     "online_anchor_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

