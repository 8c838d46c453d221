"""Fitting a world on a table: parsing, the learned rule, held-out metrics, the saved
directory, and a clear error for each kind of bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsim_envs.worlds import (
    TableError,
    WorldError,
    fit,
    from_arrays,
    load_world,
    read_table,
)
from recsim_envs.worlds.fit import heldout_metrics, patience, split
from tests.worlds_fixtures import FAST_SIMULATOR, fitted_world_dir, write_table


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return write_table(tmp_path_factory.mktemp("table"))


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    return fitted_world_dir(tmp_path_factory.mktemp("world"))


def test_read_table_indexes_ids_applies_the_label_rule_and_encodes_features(files):
    t = read_table(files["ratings"], user_features=files["users"], item_features=files["items"])
    first = files["ratings"].read_text().splitlines()[1].split(",")
    assert t.user_ids[t.user[0]] == first[0] and t.item_ids[t.item[0]] == first[1]
    assert t.value[0] == float(first[2]) and t.label[0] == float(float(first[2]) > 3)
    assert t.timestamp[0] == int(first[3])
    assert list(t.user_ids) == sorted(t.user_ids)
    # age standardised, group one-hot over {a, b}; year standardised, genre one-hot
    assert t.user_feature_names == ("age", "group=a", "group=b")
    assert t.item_feature_names == ("year", "genre=x", "genre=y")
    assert np.isclose(t.user_features[:, 0].mean(), 0, atol=1e-5)
    assert t.user_features[:, 1:].sum(axis=1).tolist() == [1.0] * t.n_users
    assert len(t.sha256) == 64


def test_the_fitted_model_learns_the_rule_and_stores_its_heldout_evaluation(world_dir):
    world = load_world(world_dir)
    m = world.manifest["metrics"]
    assert m["auc"] > 0.7 and m["log_loss"] < m["log_loss_base_rate"]
    assert 0 <= m["calibration_error"] < 0.3 and m["n_heldout"] > 30
    truth = world.arrays["truth"]
    ids_u, ids_i = world.arrays["user_ids"], world.arrays["item_ids"]
    group_a = np.char.replace(ids_u, "u", "").astype(int) % 2 == 0
    genre_x = np.char.replace(ids_i, "i", "").astype(int) % 2 == 0
    match = group_a[:, None] == genre_x[None, :]
    assert truth[match].mean() > truth[~match].mean() + 0.2
    assert (world_dir / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    manifest = json.loads((world_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and set(manifest["files"]) == {
        "world.npz", "reliability.png"}
    assert len(manifest["input"]["sha256"]) == 64
    assert manifest["quit_model"]["kind"] == "session_lengths"


def test_heldout_metrics_match_hand_computed_values():
    m = heldout_metrics(np.array([0.2, 0.8, 0.8]), np.array([0, 1, 0]), n_bins=10)
    assert np.isclose(m["log_loss"], -(np.log(0.8) + np.log(0.8) + np.log(0.2)) / 3)
    assert np.isclose(m["auc"], 0.75)  # pairs (pos 0.8 vs neg 0.2) win, vs neg 0.8 tie
    # bin 2: p 0.2, y 0 -> 0.2; bin 8: p 0.8, y 0.5 -> 0.3; weights 1/3, 2/3
    assert np.isclose(m["calibration_error"], 0.2 / 3 + 0.3 * 2 / 3)


def test_patience_is_each_users_median_session_length():
    # user 0: sessions of 3 and 1 items (gap > 30 min), user 1: one session of 2
    ts = np.array([0, 60, 120, 10_000, 0, 100])
    table = from_arrays(np.r_[[0, 0, 0, 0, 1, 1], np.repeat(1, 6)],
                        np.r_[[0, 1, 2, 3, 0, 1], [2, 3, 0, 1, 2, 3]],
                        np.r_[[1, 0, 1, 0, 1, 0], [1, 0, 1, 0, 1, 0]],
                        timestamp=np.r_[ts, 10**6 + np.arange(6)])
    p, summary = patience(table, session_gap=1800)
    assert p.tolist() == [1, 2]  # lower medians of [1, 3] and [2, 6]
    assert summary["n_sessions"] == 4


def test_the_holdout_keeps_every_user_and_item_in_training():
    rng = np.random.default_rng(0)
    user = np.r_[np.arange(30), rng.integers(0, 30, 200)]
    item = np.r_[np.arange(30), rng.integers(0, 30, 200)]
    table = from_arrays(user, item, rng.integers(0, 2, len(user)))
    train, valid = split(table, 0.4, np.random.default_rng(1))
    assert len(valid) > 40 and len(np.intersect1d(train, valid)) == 0
    assert np.bincount(table.user[train], minlength=30).min() >= 1
    assert np.bincount(table.item[train], minlength=30).min() >= 1


def test_the_same_seed_fits_an_identical_world(files):
    table = read_table(files["ratings"])
    a = fit(table, seed=3, simulator=FAST_SIMULATOR, progress=False)
    b = fit(table, seed=3, simulator=FAST_SIMULATOR, progress=False)
    for k in a.arrays:
        np.testing.assert_array_equal(a.arrays[k], b.arrays[k], err_msg=k)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, kwargs, match", [
    ("user,item,rating\nu1,i1,4\n,i2,3\n", {}, r"column 'user' is empty in row 1 \(line 3\)"),
    ("user,item,rating\nu1,i1,4\nu2,i2,good\n", {}, r"'rating' must be numeric; row 1"),
    ("user,item,rating\n" + "".join(f"u{i},i{i},5\n" for i in range(12)), {},
     r"every interaction has label 1 .* needs both classes"),
    ("user,item,stars\nu1,i1,4\n", {}, r"no column 'rating' for the label"),
    ("user,item,rating\nu1,i1,4\n", {"label": "rating >> 3"}, r"label rule .* not understood"),
    ("user,item,rating\nu1,i1,4\n", {"label": "rating"}, r"values other than 0 and 1"),
    # a wrong separator or column count is named as such, not as an empty column
    ("u1\ti1\t4\t100\n", {"columns": ["user", "item", "rating", "timestamp"]},
     r"first line holds no ',' but splits on '\\t'.*pass --sep"),
    ("user;item;rating\nu1;i1;4\n", {}, r"first line holds no ',' but splits on ';'"),
    ("u1,i1,4\n", {"columns": ["user", "item", "rating", "timestamp"]},
     r"first line has 3 field\(s\) separated by ',' but --columns names 4"),
])
def test_bad_tables_raise_errors_naming_the_column_or_row(tmp_path, text, kwargs, match):
    path = _write(tmp_path / "t.csv", text)
    with pytest.raises(TableError, match=match):
        read_table(path, **kwargs)


def test_bad_feature_tables_name_the_file_and_the_problem(files, tmp_path):
    users = files["users"].read_text().splitlines()
    nan = _write(tmp_path / "nan.csv", "\n".join([users[0], users[1].rsplit(",", 1)[0] + ",",
                                                 *users[2:]]) + "\n")
    with pytest.raises(TableError, match=r"nan.csv: feature 'group' is missing \(NaN\)"):
        read_table(files["ratings"], user_features=nan)
    short = _write(tmp_path / "short.csv", "\n".join(users[:-1]) + "\n")
    with pytest.raises(TableError, match=r"short.csv: user id .* has no row here"):
        read_table(files["ratings"], user_features=short)
    extra = _write(tmp_path / "extra.csv", "\n".join(users + ["ghost,30,a"]) + "\n")
    with pytest.raises(TableError, match=r"user id 'ghost' .* has no interactions"):
        read_table(files["ratings"], user_features=extra)


def test_a_parquet_table_reads_like_the_csv(files, tmp_path):
    import pandas as pd

    pd.read_csv(files["ratings"]).to_parquet(tmp_path / "r.parquet")
    a, b = read_table(files["ratings"]), read_table(tmp_path / "r.parquet")
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.user, b.user)


def test_a_damaged_world_directory_is_refused_with_the_file_named(world_dir, tmp_path):
    altered = shutil.copytree(world_dir, tmp_path / "altered")
    with open(altered / "world.npz", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(WorldError, match=r"world.npz was altered .* sha256"):
        load_world(altered)
    missing = shutil.copytree(world_dir, tmp_path / "missing")
    (missing / "reliability.png").unlink()
    with pytest.raises(WorldError, match=r"reliability.png is missing"):
        load_world(missing)
    newer = shutil.copytree(world_dir, tmp_path / "newer")
    manifest = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(WorldError, match=r"newer recsim_envs \(schema 99"):
        load_world(newer)
    (newer / "manifest.json").unlink()
    with pytest.raises(WorldError, match=r"manifest.json is missing"):
        load_world(newer)


def test_the_command_line_fits_a_headerless_tsv_and_a_failed_fit_leaves_nothing(
        files, tmp_path):
    rows = files["ratings"].read_text().splitlines()[1:]
    tsv = _write(tmp_path / "u.data", "\n".join(r.replace(",", "\t") for r in rows) + "\n")
    out = tmp_path / "world"
    cmd = [sys.executable, "-m", "recsim_envs", "fit-world", str(tsv), "--columns",
           "user,item,rating,timestamp", "--label", "rating > 3", "--family", "sequential",
           "--epochs", "2", "--out", str(out), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["family"] == "sequential"
    for key in ("auc", "log_loss", "calibration_error"):
        assert manifest["metrics"][key] == pytest.approx(summary[key])
    fields = [r.split(",") for r in rows]
    fields[5][2] = "x"  # a non-numeric rating in row 5 (line 6: no header)
    bad = _write(tmp_path / "bad.data", "\n".join("\t".join(f) for f in fields) + "\n")
    out2 = tmp_path / "world2"
    cmd2 = [str(bad) if c == str(tsv) else str(out2) if c == str(out) else c for c in cmd]
    done = subprocess.run(cmd2, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "'rating' must be numeric; row 5 (line 6)" in done.stderr
    assert not out2.exists() and not any(p.name.startswith(".world2") for p in tmp_path.iterdir())
    helped = subprocess.run([sys.executable, "-m", "recsim_envs", "fit-world", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "--columns" in helped.stdout and "--user-features" in helped.stdout
