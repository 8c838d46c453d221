"""The command line, run as users run it: ``python -m benchmarks`` in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.spec_text import tiny_two_stage_toml

ROOT = Path(__file__).resolve().parent.parent

SPEC = tiny_two_stage_toml("cli")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=cwd, capture_output=True, text=True,
        timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("command", [[], ["run"], ["leaderboard"], ["list"]])
def test_every_command_has_help(command):
    out = cli(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: python -m benchmarks" in out.stdout


def test_a_plug_in_agent_runs_through_the_command_line_and_ranks(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    out_dir = tmp_path / "results"
    run = cli("run", str(spec), "--agent", "recsim_envs.examples.my_agent:PopularIPS", "--executor",
              "serial", "--out", str(out_dir))
    assert run.returncode == 0, run.stderr
    assert "cli (custom): 2 cells, 0 already done, 2 ok, 0 failed" in run.stdout
    again = cli("run", str(spec), "--agent", "recsim_envs.examples.my_agent:PopularIPS", "--out",
                str(out_dir))
    assert again.returncode == 0 and "2 already done" in again.stdout
    board = cli("leaderboard", str(out_dir))
    assert board.returncode == 0, board.stderr
    assert "popular_ips" in board.stdout and "popular" in board.stdout
    md = (out_dir / "leaderboard.md").read_text()
    assert "| rank | agent | reward | 95% CI | normalised | seeds |" in md and "popular_ips" in md
    csv_lines = (out_dir / "leaderboard.csv").read_text().splitlines()
    assert csv_lines[0].startswith("suite,env,env_id,rank,agent") and len(csv_lines) == 3
    pngs = sorted(p.name for p in (out_dir / "plots").glob("*.png"))
    assert pngs == ["bars_cli_small.png", "ope_cli_small.png"]
    assert all((out_dir / "plots" / p).stat().st_size > 1000 for p in pngs)


def test_failed_cells_are_listed_and_set_the_exit_status(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    run = cli("run", str(spec), "--agent", "tests.test_benchmarks_runner:RaisingAgent",
              "--executor", "serial", "--out", str(tmp_path))
    assert run.returncode == 1
    assert "1 cell(s) failed" in run.stderr
    # labelled by the plug-in's own `name`, not its class name
    assert "cell cli/small/raising/seed0 failed in fit" in run.stderr
    assert "boom in fit" in run.stderr
    assert "1 ok, 1 failed" in run.stdout  # the good cell still ran and kept its row


@pytest.mark.parametrize("args, message", [
    (["--agent", "broken=no_such_pkg.mod:Agent"],
     "could not import agent module 'no_such_pkg.mod'"),
    (["--agent", "popularr"], "unknown agent 'popularr'; did you mean 'popular'?"),
    (["--agent", "ce2=ce"], None),  # a good agent: the bad setting below is what fails
])
def test_bad_agents_fail_before_any_cell_runs(tmp_path, args, message):
    spec = tmp_path / "spec.toml"
    text = textwrap.dedent(SPEC)
    if message is None:
        text += '\n[[agents]]\nagent = "ce"\nname = "ce_typo"\nsettings = { epochz = 3 }\n'
        message = "unknown setting(s) ['epochz']"
    spec.write_text(text)
    run = cli("run", str(spec), *args, "--executor", "serial", "--out", str(tmp_path / "out"))
    assert run.returncode == 2, run.stderr
    assert "nothing was run" in run.stderr and message in run.stderr
    assert not (tmp_path / "out").exists()  # no cell logged data or wrote a row


def test_a_bad_environment_setting_fails_before_any_cell_runs(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC).replace("n_items = ", "n_itemz = "))
    run = cli("run", str(spec), "--executor", "serial", "--out", str(tmp_path / "out"))
    assert run.returncode == 2, run.stderr
    assert "nothing was run" in run.stderr and "n_itemz" in run.stderr
    assert not (tmp_path / "out").exists()


def test_an_added_agent_that_only_leaves_out_is_an_error(tmp_path):
    run = cli("run", "two_stage", "--agent", "recsim_envs.examples.my_agent:PopularIPS",
              "--only", "popular", "--out", str(tmp_path))
    assert run.returncode == 2
    assert "--agent added ['popular_ips'] but --only does not list it" in run.stderr


def test_a_redirected_run_prints_a_line_per_finished_cell(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    run = cli("run", str(spec), "--seeds", "2", "--executor", "serial", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if "cells done" in ln]
    assert [ln.split()[0] for ln in lines] == ["1/2", "2/2"]
    assert "(cli/small/popular/seed0 ok" in lines[0]
    assert "run time:" in run.stderr and "outside cells" in run.stderr
    assert all("elapsed, about" in ln and "left" in ln for ln in lines)


def test_spec_errors_exit_with_status_2_and_a_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SPEC.replace("seeds = 1", "seeds = 1\nseedz = 2"))
    run = cli("run", str(bad), "--out", str(tmp_path))
    assert run.returncode == 2 and "unknown key(s) ['seedz']" in run.stderr
    run = cli("run", "nonsense", "--out", str(tmp_path))
    assert run.returncode == 2 and "neither a built-in suite" in run.stderr
    run = cli("run", "two_stage", "--executor", "cluster", "--out", str(tmp_path))
    assert run.returncode == 2 and "unknown executor 'cluster'" in run.stderr


def test_leaderboard_reports_broken_lines_and_keeps_good_rows(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    assert cli("run", str(spec), "--executor", "serial", "--out", str(tmp_path)).returncode == 0
    with open(tmp_path / "cli.jsonl", "a") as fh:
        fh.write('{"broken": \n')
    board = cli("leaderboard", str(tmp_path), "--no-plots")
    assert board.returncode == 0
    assert "cli.jsonl:2: broken result line" in board.stderr
    assert "popular" in board.stdout


def test_a_custom_environment_module_is_imported_and_its_id_resolved():
    from benchmarks.envs import EnvIdError, resolve_env_id

    assert resolve_env_id("recsim_envs.examples.my_env:MyTwoStage-v0") == "MyTwoStage-v0"
    assert resolve_env_id("recsim_envs/TwoStageSynthetic-v0") == "recsim_envs/TwoStageSynthetic-v0"
    import gymnasium as gym

    env = gym.make("MyTwoStage-v0")
    assert env.unwrapped.n_items == 200 and env.unwrapped.n_candidates == 5
    with pytest.raises(EnvIdError, match="could not import module 'no_such_pkg.envs'"):
        resolve_env_id("no_such_pkg.envs:MyEnv-v0")
    with pytest.raises(EnvIdError,
                       match="module 'recsim_envs.examples.my_env' did not register it"):
        resolve_env_id("recsim_envs.examples.my_env:MyTwoStag-v0")
    with pytest.raises(EnvIdError, match="module.path:ID"):
        resolve_env_id("MyOtherEnv-v0")


def test_a_custom_environment_runs_through_the_command_line(tmp_path):
    run = cli("run", "two_stage", "--env", "recsim_envs.examples.my_env:MyTwoStage-v0", "--only",
              "popular", "--seeds", "1", "--executor", "serial", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "1 ok, 0 failed" in run.stdout
    bad = cli("run", "two_stage", "--env", "no_such_pkg.envs:MyEnv-v0", "--out", str(tmp_path))
    assert bad.returncode == 2 and "could not import module 'no_such_pkg.envs'" in bad.stderr
