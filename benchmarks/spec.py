"""Benchmark specifications: what a run compares, on which data, seeds and budgets.

A :class:`BenchmarkSpec` names one environment family and, for it, the environments and
their settings, the behaviour policy and logged-data sizes, the agents and their settings,
the number of seeds and the online evaluation budget. Specs come from the built-in suites
(:mod:`benchmarks.suites`) or from a small TOML file (YAML where PyYAML is installed)::

    name = "my_two_stage"
    family = "two_stage"
    seeds = 3

    [data]
    n_train = 2000
    n_heldout = 1000

    [evaluation]
    n_eval = 2000

    [behaviour]
    policy = "softmax"
    temperature = 1.0

    [[envs]]
    name = "small"
    id = "recsim_envs/TwoStageSynthetic-v0"
    kwargs = { n_items = 200, n_candidates = 10 }

    [[agents]]
    name = "mine"
    agent = "mypkg.mymodule:MyAgent"
    settings = { epochs = 2 }

Unknown keys are errors that name the key, where it was and the keys allowed there.
Whether an environment id, agent name or setting actually exists is checked per cell when
the cell runs, so one bad entry fails its own cells and not the whole run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsim_envs.families import FAMILIES as FAMILY_DESCRIPTIONS

FAMILIES = tuple(FAMILY_DESCRIPTIONS)
"""The family names a spec may give (from :data:`recsim_envs.families.FAMILIES`)."""


class SpecError(ValueError):
    """A benchmark spec that cannot be read: the message names the key and the fix."""


@dataclass(frozen=True)
class EnvSpec:
    """One environment of a benchmark.

    Attributes:
        name: label used in result rows and tables (unique within the spec).
        id: registered Gymnasium id (``recsim_envs/...``).
        kwargs: settings passed to ``gymnasium.make``.
        behaviour: overrides of the spec's behaviour-policy settings for this environment.
        vary_world: draw the world per seed (``world_seed`` from the cell's seed), so that
            intervals over seeds cover worlds; False keeps the environment's own world
            (also the case when ``kwargs`` sets ``world_seed``).
    """

    name: str
    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    behaviour: dict[str, Any] = field(default_factory=dict)
    vary_world: bool = True


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a benchmark.

    Attributes:
        name: label used in result rows and tables (unique within the spec).
        agent: a registered agent name (``agents.registered()``) or ``"module:Class"``.
        settings: overrides of the agent's ``Config`` (keyword arguments of its class).
    """

    name: str
    agent: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSpec:
    """Logged data per cell: ``n_train`` rounds to fit on, ``n_heldout`` for off-policy
    estimates (logged independently with the same behaviour policy)."""

    n_train: int = 2000
    n_heldout: int = 1000

    def __post_init__(self) -> None:
        for key in ("n_train", "n_heldout"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 2:
                raise SpecError(f"data.{key} must be an integer >= 2, got {value!r}")


@dataclass(frozen=True)
class EvalSpec:
    """Online budget per cell.

    Attributes:
        n_eval: users (one-step families) or episodes (sequential) of online evaluation.
        online_steps: environment steps an online agent may learn from after its offline
            fit (0: purely offline). Used by the sequential suite.
        curve_points: points of the learning curve recorded during the online phase.
    """

    n_eval: int = 2000
    online_steps: int = 0
    curve_points: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.n_eval, int) or self.n_eval < 2:
            raise SpecError(f"evaluation.n_eval must be an integer >= 2, got {self.n_eval!r}")
        if not isinstance(self.online_steps, int) or self.online_steps < 0:
            raise SpecError(
                f"evaluation.online_steps must be an integer >= 0, got {self.online_steps!r}"
            )
        if not isinstance(self.curve_points, int) or self.curve_points < 1:
            raise SpecError(
                f"evaluation.curve_points must be an integer >= 1, got {self.curve_points!r}"
            )


@dataclass(frozen=True)
class Claim:
    """A published claim "``better`` beats ``worse`` in ``env``" that a spec tests.

    The leaderboard reports, per claim, the paired difference ``better - worse`` over seeds
    with its 95% interval and a verdict (``reproduced``, ``reversed``, ``not separated``).
    Claims label results; they are not part of :meth:`BenchmarkSpec.digest`, so editing
    one re-runs nothing.

    Attributes:
        name: unique within the spec.
        env: an environment name of the spec.
        better, worse: agent names of the spec; the paper says ``better`` scores higher.
        metric: the score compared (default: the family's primary score).
        source: where the claim comes from (paper, figure, its numbers).
        note: the world this spec tests it in, in words.
    """

    name: str
    env: str
    better: str
    worse: str
    metric: str = ""
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class BenchmarkSpec:
    """A whole benchmark: every (environment, agent, seed) cell it runs.

    Attributes:
        name: the suite's name; part of every cell's seed, so two suites never share data.
        family: ``two_stage``, ``prompt`` or ``sequential`` (picks the family adapter).
        envs, agents: what is compared.
        seeds: number of seeds per (environment, agent); seed indices 0..seeds-1.
        data: logged-data sizes.
        evaluation: online budget.
        behaviour: behaviour-policy settings (family-specific; ``policy`` names it).
        size: ``quick`` or ``full`` for built-in suites, ``custom`` for files.
        claims: published claims this spec tests (labels for the leaderboard only).
    """

    name: str
    family: str
    envs: tuple[EnvSpec, ...]
    agents: tuple[AgentSpec, ...]
    seeds: int = 3
    data: DataSpec = field(default_factory=DataSpec)
    evaluation: EvalSpec = field(default_factory=EvalSpec)
    behaviour: dict[str, Any] = field(default_factory=dict)
    size: str = "custom"
    claims: tuple[Claim, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise SpecError("a benchmark spec needs a non-empty 'name'")
        if self.family not in FAMILY_DESCRIPTIONS:  # read now: families may register later
            raise SpecError(f"unknown family {self.family!r} in spec {self.name!r}; use one "
                            f"of {tuple(FAMILY_DESCRIPTIONS)}")
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise SpecError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        if not self.envs:
            raise SpecError(f"spec {self.name!r} names no environment ([[envs]] entries)")
        if not self.agents:
            raise SpecError(f"spec {self.name!r} names no agent ([[agents]] entries)")
        for kind, items in (("environment", self.envs), ("agent", self.agents)):
            names = [it.name for it in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise SpecError(f"{kind} names must be unique in spec {self.name!r}; "
                                f"repeated: {dup}")
        self._check_claims()

    def _check_claims(self) -> None:
        envs = {e.name for e in self.envs}
        agents = {a.name for a in self.agents}
        seen: set[str] = set()
        for c in self.claims:
            where = f"claim {c.name!r} of spec {self.name!r}"
            if c.name in seen:
                raise SpecError(f"claim names must be unique in spec {self.name!r}; "
                                f"repeated: {c.name!r}")
            seen.add(c.name)
            if c.env not in envs:
                raise SpecError(f"{where} names env {c.env!r}; the spec's envs are "
                                f"{sorted(envs)}")
            for role in ("better", "worse"):
                if getattr(c, role) not in agents:
                    raise SpecError(f"{where}: {role} = {getattr(c, role)!r} is not an agent "
                                    f"of the spec; its agents are {sorted(agents)}")
            if c.better == c.worse:
                raise SpecError(f"{where} compares {c.better!r} with itself")

    def replace(self, **changes: Any) -> BenchmarkSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self), sort_keys=True))

    def digest(self) -> str:
        """A short hash of everything that affects results (``size`` is a label only)."""
        d = self.to_dict()
        d.pop("size", None)
        d.pop("claims", None)
        return stable_hash(d)


def stable_hash(obj: Any, n_chars: int = 16) -> str:
    """sha256 of the canonical JSON of ``obj``, shortened."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n_chars]


# ---------------------------------------------------------------------- parsing

_TOP_KEYS = {"name", "family", "seeds", "data", "evaluation", "behaviour", "envs", "agents",
             "claims"}


def _check_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be a table/mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SpecError(
            f"unknown key(s) {unknown} in {where}; allowed keys: {sorted(allowed)}"
        )


def _dataclass_from(cls: type, raw: dict[str, Any], where: str) -> Any:
    allowed = {f.name for f in dataclasses.fields(cls)}
    _check_keys(raw, allowed, where)
    return cls(**raw)


def spec_from_dict(raw: dict[str, Any], source: str = "spec") -> BenchmarkSpec:
    """Build and validate a :class:`BenchmarkSpec` from plain data (a parsed file)."""
    _check_keys(raw, _TOP_KEYS, source)
    for key in ("name", "family", "envs", "agents"):
        if key not in raw:
            raise SpecError(f"{source} lacks the required key {key!r}")
    envs = []
    for i, env in enumerate(_as_list(raw["envs"], f"{source}: envs")):
        where = f"{source}: envs[{i}]"
        _check_keys(env, {f.name for f in dataclasses.fields(EnvSpec)}, where)
        if "id" not in env:
            raise SpecError(f"{where} lacks 'id' (a registered id such as "
                            "'recsim_envs/TwoStageSynthetic-v0')")
        env = {"name": env["id"].split("/")[-1], **env}
        envs.append(_dataclass_from(EnvSpec, env, where))
    agents = []
    for i, agent in enumerate(_as_list(raw["agents"], f"{source}: agents")):
        where = f"{source}: agents[{i}]"
        _check_keys(agent, {f.name for f in dataclasses.fields(AgentSpec)}, where)
        if "agent" not in agent:
            raise SpecError(f"{where} lacks 'agent' (a registered name or 'module:Class')")
        agent = {"name": agent["agent"].split(":")[-1], **agent}
        agents.append(_dataclass_from(AgentSpec, agent, where))
    return BenchmarkSpec(
        name=raw["name"],
        family=raw["family"],
        envs=tuple(envs),
        agents=tuple(agents),
        seeds=raw.get("seeds", 3),
        data=_dataclass_from(DataSpec, raw.get("data", {}), f"{source}: [data]"),
        evaluation=_dataclass_from(EvalSpec, raw.get("evaluation", {}),
                                   f"{source}: [evaluation]"),
        behaviour=dict(raw.get("behaviour", {})),
        claims=tuple(
            _dataclass_from(Claim, claim, f"{source}: claims[{i}]")
            for i, claim in enumerate(_as_list(raw["claims"], f"{source}: claims")
                                      if "claims" in raw else [])
        ),
    )


def _as_list(value: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list) or not value:
        raise SpecError(f"{where} must be a non-empty list of tables ([[...]] in TOML)")
    return value


def load_spec(path: str | Path) -> BenchmarkSpec:
    """Read a spec from a ``.toml`` file (stdlib ``tomllib``) or ``.yaml``/``.yml`` (PyYAML)."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"no spec file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path} is not valid TOML: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise SpecError(
                f"{path} is YAML but PyYAML is not installed; `pip install pyyaml` or write "
                "the spec as TOML (read with the standard library)"
            ) from exc
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SpecError(f"{path} is not valid YAML: {exc}") from exc
    else:
        raise SpecError(f"{path}: spec files must end in .toml, .yaml or .yml")
    if not isinstance(raw, dict):
        raise SpecError(f"{path} must hold a table/mapping at the top level")
    try:
        return spec_from_dict(raw, source=str(path))
    except TypeError as exc:  # a wrong type deep in a dataclass
        raise SpecError(f"{path}: {exc}") from exc


def parse_agent_arg(text: str) -> AgentSpec:
    """``--agent`` values: ``NAME``, ``module:Class`` or ``label=NAME_OR_MODULE:CLASS``."""
    label, sep, target = text.partition("=")
    if not sep:
        label, target = text.split(":")[-1], text
    if not label or not target:
        raise SpecError(f"--agent {text!r}: expected NAME, module:Class or label=module:Class")
    return AgentSpec(name=label, agent=target)
