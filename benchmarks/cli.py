"""``python -m benchmarks`` (or the console script ``recsim-bench``): run suites or spec
files, and build leaderboards.

    python -m benchmarks run two_stage --size quick --out results/bench
    python -m benchmarks run my_spec.toml --agent mypkg.mymodule:MyAgent --workers 2
    python -m benchmarks leaderboard results/bench

Exit status: 0 when every cell succeeded, 1 when any cell failed (listed at the end),
2 for a spec or command-line error, 130 / 143 when stopped by SIGINT (Ctrl-C) / SIGTERM
(finished cells are kept; the same command resumes).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from benchmarks.spec import (
    AgentSpec,
    BenchmarkSpec,
    EnvSpec,
    SpecError,
    load_spec,
    parse_agent_arg,
)
from benchmarks.suites import DATA_SUITES, SIZES, SUITES, builtin_suite
from recsim_envs.core.io import write_text_atomic

EXIT_OK, EXIT_FAILED_CELLS, EXIT_USAGE = 0, 1, 2


class Stopped(BaseException):
    """Raised in the main thread by SIGINT or SIGTERM during a run.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a cell's ``except Exception``
    does not record it as the cell's failure.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _install_stop_handlers() -> dict[int, object]:
    """SIGINT and SIGTERM raise :class:`Stopped` once; later ones are ignored while the run
    stops (a second Ctrl-C must not interrupt the clean-up). Returns the old handlers."""
    old: dict[int, object] = {}

    def handler(signum: int, frame: object) -> None:
        for sig in old:
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, handler)
    return old


def _cells_done(specs: list[BenchmarkSpec], out: str) -> tuple[int, int]:
    """(cells with an OK row in ``out``, all cells) over ``specs``."""
    from benchmarks.cells import cells_of
    from benchmarks.results import latest_rows, read_rows
    from benchmarks.runs import results_path

    done = total = 0
    for spec in specs:
        ids = {c.cell_id for c in cells_of(spec)}
        ok = {r["cell_id"] for r in latest_rows(read_rows(results_path(out, spec)).rows)
              if r["status"] == "ok"}
        total += len(ids)
        done += len(ids & ok)
    return done, total


def _resolve_spec(target: str, size: str) -> BenchmarkSpec:
    if target in SUITES:
        return builtin_suite(target, size)
    path = Path(target)
    if path.suffix.lower() in (".toml", ".yaml", ".yml") or path.exists():
        return load_spec(path)
    raise SpecError(f"{target!r} is neither a built-in suite {SUITES} nor a spec file "
                    "(.toml/.yaml)")


def _env_args(values: list[str]) -> tuple[EnvSpec, ...]:
    """``--env [LABEL=]ID`` values as environments with their own default settings; a
    ``module:ID`` is resolved here too, so a module that does not import is a usage error."""
    from benchmarks.envs import EnvIdError, env_label, resolve_env_id

    out = []
    for text in values:
        label, sep, env_id = text.partition("=")
        if not sep:
            label, env_id = env_label(text), text
        try:
            resolve_env_id(env_id)
        except EnvIdError as exc:
            raise SpecError(f"--env: {exc}") from exc
        out.append(EnvSpec(name=label, id=env_id))
    labels = [e.name for e in out]
    if len(set(labels)) != len(labels):
        raise SpecError(f"--env labels must be unique, got {labels}; use LABEL=ID")
    return tuple(out)


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmarks.executors import EXECUTORS
    from benchmarks.runs import run_benchmarks

    if args.data_dir:  # read by the MovieLens environments, also in worker processes
        os.environ["RECSIM_ENVS_DATA"] = str(Path(args.data_dir).expanduser())
    targets = ([s for s in SUITES if s not in DATA_SUITES] if args.suites == ["all"]
               else args.suites)
    try:
        if "two_stage_paper" in targets:
            from benchmarks.suites.two_stage_paper import require_data

            require_data()
        specs = [_resolve_spec(t, args.size) for t in targets]
        extra = [_plug_in_label(parse_agent_arg(a), a) for a in args.agent or []]
        if args.only and extra:
            dropped = [a.name for a in extra if a.name not in args.only]
            if dropped:
                raise SpecError(f"--agent added {dropped} but --only does not list "
                                f"{'it' if len(dropped) == 1 else 'them'}; add "
                                f"{' '.join(dropped)} to --only, or drop --only")
        envs = _env_args(args.env or [])
        if args.executor not in EXECUTORS:
            raise SpecError(f"unknown executor {args.executor!r}; use one of {EXECUTORS}")
        if args.workers < 1:
            raise SpecError(f"--workers must be >= 1, got {args.workers}")
        if args.address and args.executor != "ray":
            raise SpecError("--address names a Ray cluster; use it with --executor ray")
        final = []
        for spec in specs:
            agents = list(spec.agents) + extra
            if args.only:
                unknown = sorted(set(args.only) - {a.name for a in agents})
                if unknown:
                    raise SpecError(f"--only names agent(s) {unknown} that spec {spec.name!r} "
                                    f"does not have; it has {[a.name for a in agents]}")
                agents = [a for a in agents if a.name in args.only]
            changes = {"agents": tuple(agents)}
            if envs:
                changes["envs"] = envs
            if args.seeds is not None:
                changes["seeds"] = args.seeds
            final.append(spec.replace(**changes))
        from benchmarks.preflight import check_specs

        # Every agent and environment is checked before any cell logs data (exit 2 lists
        # every problem); this also builds each world once before workers need it.
        check_specs(final, log=None if args.quiet else _stderr)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.address:
        # The Ray executor connects to the cluster named here (see RayExecutor).
        os.environ["RAY_ADDRESS"] = args.address
    progress = not args.quiet and sys.stderr.isatty()
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    failures: list[str] = []
    old_handlers = _install_stop_handlers()
    try:
        try:
            summaries = run_benchmarks(final, args.out, workers=args.workers,
                                       executor=args.executor, progress=progress, log=log)
        except (RuntimeError, ValueError) as exc:  # e.g. Ray missing or not starting
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for spec, summary in zip(final, summaries, strict=True):
            failures.extend(summary.failures)
            _report(spec, summary)
        if summaries and summaries[0].wall_s and not args.quiet:
            _timing(summaries, args.workers)
    except Stopped as stop:
        done, total = _cells_done(final, args.out)
        print(f"stopped: {done} of {total} cells done; run the same command to resume",
              file=sys.stderr)
        return 128 + stop.signum
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    if failures:
        print(f"\n{len(failures)} cell(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return EXIT_FAILED_CELLS
    return EXIT_OK


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _plug_in_label(agent_spec: AgentSpec, text: str) -> AgentSpec:
    """``--agent module:Class`` without a label is labelled by the class's own ``name``
    (what its author calls it), else by the class name; unresolvable classes keep the
    class name (the preflight check reports them)."""
    if "=" in text or ":" not in text:
        return agent_spec
    import agents

    try:
        cls = agents.resolve(agent_spec.agent)
    except Exception:
        return agent_spec
    name = getattr(cls, "name", None)
    if isinstance(name, str) and name and "name" in vars(cls):
        return AgentSpec(name=name, agent=agent_spec.agent, settings=agent_spec.settings)
    return agent_spec


def _timing(summaries: list, workers: int) -> None:
    """Where the run's wall time went: inside cells, and outside them (interpreter and
    worker start-up, imports, the pre-run checks, idle workers at the end)."""
    from benchmarks.runs import duration

    wall, cells = summaries[0].wall_s, sum(s.cells_s for s in summaries)
    if not cells:
        return
    outside = max(0.0, wall - cells / workers)
    print(f"run time: {duration(wall)} wall; cells {duration(cells)} on {workers} "
          f"worker(s); outside cells {duration(outside)}", file=sys.stderr, flush=True)


def _report(spec: BenchmarkSpec, summary: object) -> None:
    n_ok = sum(r["status"] == "ok" for r in summary.rows)
    print(f"{spec.name} ({spec.size}): {summary.n_cells} cells, {summary.n_skipped} already "
          f"done, {n_ok} ok, {len(summary.failures)} failed -> {summary.results_path}",
          flush=True)


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from benchmarks import leaderboard as lb

    directory = Path(args.dir)
    if not directory.is_dir():
        print(f"error: no results directory at {directory}", file=sys.stderr)
        return EXIT_USAGE
    result = lb.read_dir(directory)
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    board = lb.build(result.rows, result.problems)
    if not board.tables and not board.failures:
        print(f"error: no result rows in {directory}/*.jsonl", file=sys.stderr)
        return EXIT_USAGE
    print(lb.to_text(board))
    markdown = lb.to_markdown(board, title=args.title)
    if args.claims:
        from benchmarks import claims

        lines = []
        for spec_path in args.claims:
            spec = load_spec(spec_path)
            if not spec.claims:
                print(f"warning: {spec_path} states no [[claims]]", file=sys.stderr)
            lines += claims.to_markdown(claims.evaluate_claims(result.rows, spec))
        print("\n".join(lines))
        markdown = markdown.rstrip("\n") + "\n\n" + "\n".join(lines)
    md_path = Path(args.markdown) if args.markdown else directory / "leaderboard.md"
    csv_path = Path(args.csv) if args.csv else directory / "leaderboard.csv"
    write_text_atomic(md_path, markdown)
    write_text_atomic(csv_path, lb.to_csv(board))
    ope_path = lb.write_ope_csv(board, csv_path.parent / "ope.csv")
    print(f"wrote {md_path}, {csv_path} and {ope_path}")
    if not args.no_plots:
        from benchmarks.plots import write_plots

        plot_dir = Path(args.plots) if args.plots else directory / "plots"
        paths = write_plots(board, result.rows, plot_dir)
        print(f"wrote {len(paths)} plot(s) to {plot_dir}")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    import agents

    print("suites:", ", ".join(SUITES), f"(sizes: {', '.join(SIZES)})")
    print("agents:", ", ".join(agents.registered()))
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from benchmarks.compare import compare_dirs

    try:
        result = compare_dirs(args.a, args.b, ignore_provenance=args.ignore_provenance)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(result.summary())
    return EXIT_OK if result.identical else EXIT_FAILED_CELLS


def build_parser(prog: str = "python -m benchmarks") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Benchmark offline agents: log data, fit, evaluate online and "
        "off-policy, and rank them.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run every (environment, agent, seed) cell of suites or spec files",
        description="Run every cell not already done in --out (interrupted runs resume). "
        "Exit status 1 if any cell failed.",
    )
    run.add_argument("suites", nargs="+", metavar="SUITE_OR_SPEC",
                     help=f"built-in suite ({', '.join(SUITES)}, or 'all') or a .toml/.yaml "
                     "spec file")
    run.add_argument("--size", choices=SIZES, default="quick",
                     help="size of built-in suites (default: quick)")
    run.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    run.add_argument("--agent", action="append", metavar="NAME_OR_MODULE:CLASS",
                     help="add an agent: a registered name, module:Class, or "
                     "label=module:Class (repeatable)")
    run.add_argument("--env", action="append", metavar="[LABEL=]ID",
                     help="run on this environment instead of the spec's, with its default "
                     "settings: a registered id, or module.path:ID for one registered by "
                     "your own module (e.g. recsim_envs.examples.my_env:MyTwoStage-v0); repeatable")
    run.add_argument("--only", nargs="+", metavar="LABEL",
                     help="run only the agents with these labels")
    run.add_argument("--workers", type=int, default=1, help="cells run in parallel (default 1)")
    run.add_argument("--executor", default="local", help="local (process pool, default), "
                     "ray (Ray tasks; needs `pip install 'ray[default]'`) or serial "
                     "(this process, for debugging)")
    run.add_argument("--address", default=None, metavar="ADDR",
                     help="with --executor ray: the Ray cluster to run on (`auto`, "
                     "HOST:6379 on a cluster node, or ray://HOST:10001); default: "
                     "$RAY_ADDRESS, else a local Ray instance with --workers CPUs")
    run.add_argument("--out", default="results/benchmarks",
                     help="directory of the result files (default results/benchmarks)")
    run.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    run.add_argument("--data-dir", default=None, metavar="DIR",
                     help="MovieLens folder (ML-1M or ML-100K files) for suites that need it "
                     "(two_stage_paper); default: $RECSIM_ENVS_DATA")
    run.set_defaults(func=_cmd_run)

    board = sub.add_parser(
        "leaderboard", help="rank agents from the result files of a directory",
        description="Print ranked tables per environment and write Markdown, CSV and PNG "
        "plots.",
    )
    board.add_argument("dir", help="directory holding *.jsonl result files")
    board.add_argument("--markdown", help="Markdown output (default DIR/leaderboard.md)")
    board.add_argument("--csv", help="CSV output (default DIR/leaderboard.csv; ope.csv is "
                       "written next to it)")
    board.add_argument("--plots", help="plot directory (default DIR/plots)")
    board.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    board.add_argument("--title", default="Leaderboard", help="title of the Markdown page")
    board.add_argument("--claims", nargs="+", metavar="SPEC",
                       help="spec file(s) whose [[claims]] to test on the rows: adds a "
                            "claims table (paired difference and verdict per claim)")
    board.set_defaults(func=_cmd_leaderboard)

    cmp = sub.add_parser(
        "compare", help="are two result folders' rows identical (apart from timings)?",
        description="Match rows by (suite, environment, agent, seed) and compare every "
        "field apart from timings. Exit status 0 if identical, 1 otherwise.",
    )
    cmp.add_argument("a", help="first folder of *.jsonl result files")
    cmp.add_argument("b", help="second folder")
    cmp.add_argument("--ignore-provenance", action="store_true",
                     help="also ignore package versions and the agents' source module, file "
                     "and hash (for runs of the same computation from moved code)")
    cmp.set_defaults(func=_cmd_compare)

    lst = sub.add_parser("list", help="list built-in suites and registered agents",
                         description="List built-in suites and registered agents.")
    lst.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks`` and of the ``recsim-bench`` console script."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    prog = "recsim-bench" if name.startswith("recsim-bench") else "python -m benchmarks"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    return args.func(args)
