"""Learning curves of the sequential family: A-iALP vs baselines over an online budget.

    .venv/bin/python benchmarks/results_sequential.py                    # 5 seeds, full
    .venv/bin/python benchmarks/results_sequential.py --seeds 2 --epochs 3 \\
        --episodes-per-epoch 10 --sweep-seeds 1                           # a few minutes

Per seed: log ``--n-logged`` transitions with the popularity/profile behaviour policy,
pre-train iALP once with the language-model stub (``--alignment``), copy it into
A-iALP_ft and A-iALP_ap, fit BC and the stub's greedy policy, and run every agent through
:func:`recsim_envs.evaluation.learning.run_online` (PPO and DQN learn from scratch with the same
episode budget). Then an alignment sweep: for each ``--alignments`` value, pre-train iALP
and run one online epoch of A-iALP_ft and A-iALP_ap. Prints Markdown tables (means with
95% CIs over seeds), writes a PNG plot (matplotlib Agg) and a JSON of the raw curves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402

import agents  # noqa: E402
from agents.ialp import IALP, AIALPAdaptive, AIALPFineTune  # noqa: E402
from recsim_envs.data import collect  # noqa: E402
from recsim_envs.envs.sequential import ENV_ID, sequential_behaviour_policy  # noqa: E402
from recsim_envs.evaluation.learning import LearningCurve as OnlineResult  # noqa: E402
from recsim_envs.evaluation.learning import OnlineConfig, run_online  # noqa: E402
from recsim_envs.stats import mean_ci  # noqa: E402

AGENTS = ("a_ialp_ap", "a_ialp_ft", "ppo", "dqn", "bc", "llm_greedy", "seq_random",
          "seq_oracle")
LABELS = {"a_ialp_ap": "A-iALP_ap", "a_ialp_ft": "A-iALP_ft", "ppo": "PPO (scratch)",
          "dqn": "DQN (scratch)", "bc": "BC", "llm_greedy": "LLM stub greedy",
          "seq_random": "random", "seq_oracle": "oracle (skyline)"}


def run_seed(seed: int, alignment: float, names: tuple[str, ...], cfg: OnlineConfig,
             n_logged: int, log=print) -> tuple[dict[str, OnlineResult], dict]:
    """Every agent in ``names`` on one seed; returns results and the pre-training info."""
    env = gym.make(ENV_ID, **cfg.env_kwargs)
    data = collect(ENV_ID, sequential_behaviour_policy(env, seed=seed), n_logged, seed=seed,
                   **cfg.env_kwargs)
    llm = env.unwrapped.make_llm_user(alignment=alignment)
    out: dict[str, OnlineResult] = {}
    t0 = time.perf_counter()
    pre = IALP(seed=seed).fit(data, llm=llm)
    info = {**pre.fit_info, "pretrain_s": time.perf_counter() - t0}
    for name in names:
        t0 = time.perf_counter()
        if name == "a_ialp_ft":
            agent = AIALPFineTune(seed=seed).from_pretrained(pre)
        elif name == "a_ialp_ap":
            agent = AIALPAdaptive(seed=seed).from_pretrained(pre)
        else:
            agent = agents.make(name, seed=seed).fit(data, llm=llm)
        out[name] = run_online(agent, cfg)
        log(f"  seed {seed} {name:11s} {time.perf_counter() - t0:6.1f}s  eval "
            f"{np.round(out[name].eval_return, 1).tolist()}")
    return out, info


def ci_text(values) -> str:
    e = mean_ci(np.asarray(values, float))
    return f"{e.mean:.1f} ± {e.half_width:.1f}"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0,
                   help="run seeds first-seed .. first-seed + seeds - 1 (to split a run)")
    p.add_argument("--merge", nargs="*", default=None, metavar="DIR",
                   help="only merge the results.json of earlier split runs and report")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--episodes-per-epoch", type=int, default=15)
    p.add_argument("--n-logged", type=int, default=3000)
    p.add_argument("--alignment", type=float, default=0.5)
    p.add_argument("--alignments", default="0.0,1.0",
                   help="extra stub alignments for the sweep ('' to skip)")
    p.add_argument("--sweep-seeds", type=int, default=5)
    p.add_argument("--agents", default=",".join(AGENTS),
                   help="agents of the main comparison ('' with --seeds 0: sweep only)")
    p.add_argument("--out", default="benchmarks/out/sequential")
    args = p.parse_args(argv)
    names = tuple(a for a in args.agents.split(",") if a) if args.seeds > 0 else ()
    cfg = OnlineConfig(n_epochs=args.epochs, episodes_per_epoch=args.episodes_per_epoch)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    curves: dict[str, list[OnlineResult]] = {n: [] for n in names}
    pre_info = []
    if args.merge:
        for d in args.merge:
            old = json.loads((Path(d) / "results.json").read_text())
            for n, rs in old["curves"].items():
                curves.setdefault(n, []).extend(
                    OnlineResult(**{k: np.asarray(v) if isinstance(v, list) else v
                                    for k, v in r.items()}) for r in rs)
            pre_info.extend(old["pretrain"])
        names = tuple(curves)
        args.seeds = len(next(iter(curves.values())))
    for seed in range(args.first_seed, args.first_seed + args.seeds) if not args.merge else ():
        res, info = run_seed(seed, args.alignment, names,
                             OnlineConfig(n_epochs=cfg.n_epochs,
                                          episodes_per_epoch=cfg.episodes_per_epoch, seed=seed),
                             args.n_logged)
        pre_info.append(info)
        for n in names:
            curves[n].append(res[n])

    print(f"\n### Online learning, {args.seeds} seeds, alignment {args.alignment}, budget "
          f"{cfg.n_epochs} x {cfg.episodes_per_epoch} episodes (mean ± 95% CI over seeds)\n")
    print("| agent | held-out return before online | first-epoch training return | "
          "first-epoch reward/step | held-out return after epoch 1 | final held-out return "
          "| final length | final reward/step |")
    print("|---|---|---|---|---|---|---|---|")
    for n in names:
        rs = curves[n]
        print(f"| {LABELS.get(n, n)} | {ci_text([r.eval_return[0] for r in rs])} | "
              f"{ci_text([r.train_return[0] for r in rs])} | "
              f"{ci_text([r.train_reward_per_step[0] for r in rs])} | "
              f"{ci_text([r.eval_return[1] for r in rs])} | "
              f"{ci_text([r.eval_return[-1] for r in rs])} | "
              f"{ci_text([r.eval_length[-1] for r in rs])} | "
              f"{ci_text([r.eval_reward_per_step[-1] for r in rs])} |")
    if pre_info:
        print(f"\niALP pre-training: reward-model pair accuracy "
              f"{ci_text([100 * i['rm_pair_accuracy'] for i in pre_info])} %, wall time "
              f"{ci_text([i['pretrain_s'] for i in pre_info])} s")
    # Does A-iALP_ap avoid the early drop of A-iALP_ft? Paired over seeds.
    if "a_ialp_ap" in curves and "a_ialp_ft" in curves:
        drop = {n: [r.eval_return[1:].min() - r.eval_return[0] for r in curves[n]]
                for n in ("a_ialp_ap", "a_ialp_ft")}
        print(f"\nLargest drop below the pre-trained return (held-out, min over epochs minus "
              f"epoch 0): A-iALP_ap {ci_text(drop['a_ialp_ap'])}, A-iALP_ft "
              f"{ci_text(drop['a_ialp_ft'])}")

    sweep: dict[str, dict[str, list[float]]] = {}
    alignments = [float(a) for a in args.alignments.split(",") if a.strip()]
    if alignments:
        sweep_cfg = OnlineConfig(n_epochs=1, episodes_per_epoch=cfg.episodes_per_epoch)
        have_main = "a_ialp_ap" in curves and "a_ialp_ft" in curves and args.seeds > 0
        for al in sorted(set(alignments) | ({args.alignment} if have_main else set())):
            rows: dict[str, list[float]] = {"pretrained": [], "ft_first": [], "ap_first": []}
            for seed in range(args.sweep_seeds):
                if al == args.alignment and seed < args.seeds and have_main:
                    ap, ft = curves["a_ialp_ap"][seed], curves["a_ialp_ft"][seed]
                else:
                    res, _ = run_seed(seed, al, ("a_ialp_ft", "a_ialp_ap"),
                                      OnlineConfig(n_epochs=1,
                                                   episodes_per_epoch=sweep_cfg.episodes_per_epoch,
                                                   seed=seed), args.n_logged)
                    ap, ft = res["a_ialp_ap"], res["a_ialp_ft"]
                rows["pretrained"].append(float(ap.eval_return[0]))
                rows["ft_first"].append(float(ft.train_return[0]))
                rows["ap_first"].append(float(ap.train_return[0]))
            sweep[str(al)] = rows
        print(f"\n### Stub alignment sweep ({args.sweep_seeds} seeds; first epoch = "
              f"{cfg.episodes_per_epoch} training episodes)\n")
        print("| alignment | pre-trained iALP held-out return | A-iALP_ft first-epoch return | "
              "A-iALP_ap first-epoch return |")
        print("|---|---|---|---|")
        for al, rows in sweep.items():
            print(f"| {al} | {ci_text(rows['pretrained'])} | {ci_text(rows['ft_first'])} | "
                  f"{ci_text(rows['ap_first'])} |")

    raw = {n: [{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in vars(r).items()} for r in rs] for n, rs in curves.items()}
    payload = {"args": vars(args), "curves": raw, "sweep": sweep, "pretrain": pre_info}
    _atomic_write(out_dir / "results.json", json.dumps(payload, default=float).encode())
    if curves:
        _plot(curves, sweep, out_dir / "learning_curves.png")
    print(f"\nwrote {out_dir / 'learning_curves.png'} and results.json "
          f"({time.perf_counter() - t_start:.0f} s in all)")
    return payload


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _plot(curves: dict[str, list[OnlineResult]], sweep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3 if sweep else 2, figsize=(16 if sweep else 11, 4.5))
    for n, rs in curves.items():
        x = rs[0].episodes
        for ax, key, xs in ((axes[0], "eval_return", x), (axes[1], "train_return", x[1:])):
            ys = np.array([getattr(r, key) for r in rs])
            est = [mean_ci(col) for col in ys.T]
            m = np.array([e.mean for e in est])
            ax.plot(xs, m, marker="o", ms=3, label=LABELS.get(n, n))
            ax.fill_between(xs, [e.ci_low for e in est], [e.ci_high for e in est], alpha=0.2)
    axes[0].set(title="held-out users (no learning)", xlabel="online training episodes",
                ylabel="return per episode")
    axes[1].set(title="training episodes (mean per epoch)", xlabel="online training episodes",
                ylabel="return per episode")
    axes[0].legend(fontsize=7)
    if sweep:
        als = sorted(sweep, key=float)
        for key, label in (("pretrained", "pre-trained iALP (held-out)"),
                           ("ft_first", "A-iALP_ft first epoch"),
                           ("ap_first", "A-iALP_ap first epoch")):
            est = [mean_ci(sweep[a][key]) for a in als]
            axes[2].errorbar([float(a) for a in als], [e.mean for e in est],
                             yerr=[e.half_width for e in est], marker="o", capsize=3, label=label)
        axes[2].set(title="stub alignment", xlabel="alignment", ylabel="return per episode")
        axes[2].legend(fontsize=7)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
