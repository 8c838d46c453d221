"""``python -m recsim_envs``: command-line tools.

``fit-world TABLE --family two_stage|sequential --out DIR``: fit a world on a table of
interactions (or a MovieLens folder) and save it; ``gymnasium.make(
"recsim_envs/TwoStageFromWorld-v0", world=DIR)`` then loads it.

``export-minari``: log sessions of an environment with its default behaviour policy and
write them as a Minari dataset (needs the ``minari`` extra).

``prompt-diagnostics ENV_ID [--kwargs JSON]``: is a prompt world a fair test of DSO (kernel
contrast, prompt variance share, keyword R^2, best context-free prompt)?

``two-stage-diagnostics ENV_ID [--kwargs JSON]``: is a two-stage world in the regime of Ma
et al. (WWW 2020) (logging peakedness, logged positives, ranker AUC and top-precision)?
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _fit_world(args: argparse.Namespace) -> int:
    from recsim_envs.worlds import fit, from_movielens, read_table

    table_path = Path(args.table).expanduser()
    if table_path.is_dir():
        table = from_movielens(table_path)
    else:
        columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
        table = read_table(
            table_path, user_col=args.user_col, item_col=args.item_col, label=args.label,
            timestamp_col=None if args.no_timestamp else args.timestamp_col,
            sep=_sep(args.sep), columns=columns, user_features=args.user_features,
            item_features=args.item_features, feature_sep=_sep(args.feature_sep))
    print(f"read {table.describe()}", file=sys.stderr)
    simulator = {"epochs": args.epochs, "valid_fraction": args.valid_fraction}
    world = fit(table, family=args.family, seed=args.seed, simulator=simulator,
                session_gap=args.session_gap, progress=not args.quiet)
    out = world.save(args.out, overwrite=args.overwrite)
    metrics = {k: world.metrics[k] for k in ("auc", "log_loss", "calibration_error",
                                              "n_heldout", "fit_seconds")}
    print(json.dumps({"world": str(out), **metrics}))
    return 0


def _sep(text: str | None) -> str | None:
    if text is None:
        return None
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)


def _export_minari(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import recsim_envs  # noqa: F401  (registers the ids)
    from recsim_envs.data.collect import collect
    from recsim_envs.data.exchange import to_minari
    from recsim_envs.sequential.behaviour import sequential_behaviour_policy

    kwargs = json.loads(args.kwargs) if args.kwargs else {}
    if args.world:
        kwargs["world"] = args.world
    env = gym.make(args.env, **kwargs)
    policy = sequential_behaviour_policy(env, temperature=args.temperature, seed=args.seed)
    data = collect(env, policy, n_rounds=args.rounds, seed=args.seed)
    ds = to_minari(data, args.dataset_id, env_id=args.env, env_kwargs=kwargs,
                   data_path=args.data_path)
    print(json.dumps({"dataset_id": args.dataset_id, "episodes": ds.total_episodes,
                      "steps": ds.total_steps}))
    return 0


def _prompt_diagnostics(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import recsim_envs  # noqa: F401  (registers the ids)
    from recsim_envs.prompt.text.diagnostics import diagnose

    env = gym.make(args.env, **(json.loads(args.kwargs) if args.kwargs else {})).unwrapped
    report = diagnose(env, seed=args.seed, bandwidth=args.bandwidth,
                      bandwidth_rule=args.bandwidth_rule, embedding_noise=args.embedding_noise)
    print(json.dumps(report.to_dict()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recsim_envs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit-world", help="fit a world on a table of interactions",
                       description="Fit a simulator on a ratings/feedback table (CSV, TSV or "
                       "Parquet; or a MovieLens folder) and save it as a world directory.")
    p.add_argument("table", help="CSV/TSV/Parquet file, or a MovieLens folder")
    p.add_argument("--family", choices=("two_stage", "sequential"), default="two_stage")
    p.add_argument("--out", required=True, help="world directory to create")
    p.add_argument("--sep", help="field separator (default: by extension; 'tab' for tab)")
    p.add_argument("--columns", help="names of the columns of a file without a header, e.g. "
                   "user,item,rating,timestamp (MovieLens u.data)")
    p.add_argument("--user-col", default="user")
    p.add_argument("--item-col", default="item")
    p.add_argument("--label", default="rating > 3",
                   help="label rule 'COLUMN OP NUMBER' or a 0/1 column (default: rating > 3)")
    p.add_argument("--timestamp-col", default="auto",
                   help="seconds column giving sessions (default: 'timestamp' if present)")
    p.add_argument("--no-timestamp", action="store_true", help="ignore time")
    p.add_argument("--user-features", help="CSV/Parquet with one row per user (key: --user-col)")
    p.add_argument("--item-features", help="CSV/Parquet with one row per item (key: --item-col)")
    p.add_argument("--feature-sep", help="separator of the feature files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--valid-fraction", type=float, default=0.1)
    p.add_argument("--session-gap", type=float, default=1800.0, help="seconds")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_fit_world)
    m = sub.add_parser("export-minari", help="log sessions and write a Minari dataset")
    m.add_argument("--env", default="recsim_envs/SequentialFromWorld-v0")
    m.add_argument("--world", help="world directory (for the FromWorld environments)")
    m.add_argument("--kwargs", help="JSON of further gymnasium.make settings")
    m.add_argument("--dataset-id", required=True, help="e.g. recsim/mylogs/sessions-v0")
    m.add_argument("--rounds", type=int, default=10_000, help="logged transitions")
    m.add_argument("--temperature", type=float, default=0.5)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--data-path", help="Minari root folder (default: $MINARI_DATASETS_PATH)")
    m.set_defaults(run=_export_minari)
    d = sub.add_parser("prompt-diagnostics", help="is a prompt world a fair test of DSO?",
                       description="Kernel contrast, the prompt's share of sentence variance "
                       "given the query, linear predictability of prompt effects from prompt "
                       "features, best context-free prompt (recsim_envs.prompt.text.diagnostics).")
    d.add_argument("env", help="a prompt environment id, e.g. recsim_envs/PromptSentence-v0")
    d.add_argument("--kwargs", help="JSON of gymnasium.make settings")
    d.add_argument("--bandwidth", type=float, default=0.5,
                   help="factor on the median within-query distance (or tau with --bandwidth-"
                   "rule fixed); default 0.5, DSO's")
    d.add_argument("--bandwidth-rule", choices=("within_query", "fixed"), default="within_query")
    d.add_argument("--embedding-noise", type=float, default=0.0,
                   help="noise std added to both embeddings (DSO's embedding_noise)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(run=_prompt_diagnostics)
    from recsim_envs.two_stage.diagnostics import add_parser as add_two_stage_diagnostics

    add_two_stage_diagnostics(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from recsim_envs.two_stage.movielens_data import MovieLensFormatError
    from recsim_envs.worlds import TableError, WorldError

    try:
        return args.run(args)
    except (TableError, WorldError, MovieLensFormatError, FileExistsError,
            FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
