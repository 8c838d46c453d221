"""What a family of environments tells the rest of the suite about itself.

Each family package (:mod:`recsim_envs.two_stage`, :mod:`recsim_envs.prompt`,
:mod:`recsim_envs.sequential`) exports one :class:`FamilyDescription` in its ``family``
module; :mod:`recsim_envs.families` collects them. Gymnasium registration, the online
evaluation (what the value measures, the primary score), the benchmark runner (which
harness runs a cell, what ``n_train`` counts) and the leaderboard (reference agents, the
normalised score) read it instead of keeping their own tables of family names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment: ``gymnasium.make("recsim_envs/" + id)``.

    Attributes:
        id: the id without the namespace, e.g. ``"TwoStageSynthetic-v0"``.
        entry_point: ``"module:Class"`` of the single environment.
        vector_entry_point: ``"module:Class"`` of the native vector environment, or None.
        max_episode_steps: Gymnasium's TimeLimit, or None where the environment truncates
            itself.
    """

    id: str
    entry_point: str
    vector_entry_point: str | None = None
    max_episode_steps: int | None = None


@dataclass(frozen=True)
class FamilyDescription:
    """A family's name, paper, environments, scores and reference agents.

    Attributes:
        name: the family's one spelling (``"two_stage"``, ``"prompt"``, ``"sequential"``),
            also written into logged data (``meta.info["family"]``) and result rows.
        title: a human title.
        paper: the paper whose problem the family simulates.
        envs: the environments registered for it.
        measure: what the online value is (e.g. "expected clicks per user").
        primary: the primary score the leaderboard ranks by (a key of the scores).
        value_key: the evaluation metric that is the online value.
        eval_unit: what the online value averages over: ``"users"`` or ``"sessions"``.
        log_unit: what ``n_train`` / ``n_heldout`` count: ``"rounds"`` or ``"sessions"``.
        random_agent: the uninformed agent, 0 of the normalised score.
        skyline_agent: the privileged agent, 1 of the normalised score (None where the
            primary score is normalised already).
        baselines: the strongest simple baselines, the first present is the leaderboard's
            reference.
        harness: ``"module:NAME"`` of the family's
            :class:`~recsim_envs.evaluation.harness.FamilyHarness` (world, logs, online
            measurement and learning, off-policy inputs), which the evaluation and the
            benchmark runner call.
        off_policy: ``"module:function"`` computing the family's off-policy estimates
            (:func:`recsim_envs.ope.estimate_policy` calls it), or ``""`` where the family
            has none.
        view: ``"module:Class"`` of the typed view of the family's logs (a
            :class:`~recsim_envs.data.views.FamilyView`), checked when a dataset of the
            family is built or loaded; ``""`` where the family declares none.
    """

    name: str
    title: str
    paper: str
    envs: tuple[EnvEntry, ...]
    measure: str
    primary: str
    value_key: str
    eval_unit: str
    log_unit: str
    random_agent: str
    skyline_agent: str | None
    baselines: tuple[str, ...]
    harness: str
    off_policy: str = ""
    view: str = ""

    def __post_init__(self) -> None:
        if self.eval_unit not in ("users", "sessions"):
            raise ValueError(f"eval_unit must be 'users' or 'sessions', got {self.eval_unit!r}")
        if self.log_unit not in ("rounds", "sessions"):
            raise ValueError(f"log_unit must be 'rounds' or 'sessions', got {self.log_unit!r}")

    @property
    def already_normalised(self) -> bool:
        """Whether the primary score is on a 0-1 scale already (no skyline needed)."""
        return self.skyline_agent is None

    @property
    def env_ids(self) -> tuple[str, ...]:
        """The full registered ids, ``recsim_envs/NAME``."""
        return tuple(f"recsim_envs/{e.id}" for e in self.envs)
