"""MovieLens parsing: both published formats, hand-checked values, and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from recsim_envs.two_stage.movielens_data import (
    ML100K_GENRES,
    ML100K_OCCUPATIONS,
    MovieLensFormatError,
    load_movielens,
)
from recsim_envs.two_stage.movielens_files import find_movielens
from tests.movielens_fixtures import write_ml1m, write_ml100k


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ml")
    return {"ml-100k": write_ml100k(root / "ml-100k"), "ml-1m": write_ml1m(root / "ml-1m")}


def _copy(folders: dict[str, Path], fmt: str, tmp_path: Path) -> Path:
    dst = tmp_path / fmt
    shutil.copytree(folders[fmt], dst)
    return dst


def _edit_line(path: Path, line_no: int, new: str) -> None:
    lines = path.read_bytes().decode("latin-1").splitlines()
    lines[line_no - 1] = new
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


@pytest.mark.parametrize("fmt", ["ml-100k", "ml-1m"])
def test_both_formats_parse_to_the_hand_written_first_rows(folders, fmt):
    data = load_movielens(folders[fmt])
    assert data.format == fmt
    assert (data.n_users, data.n_movies, data.n_ratings) == (60, 81, 2000)
    # user 1: 24, M, technician, 85711; user 2: 53, F, other, T8H1N (not a US zip)
    assert data.gender[:2].tolist() == [1, 0]
    assert data.age_bucket[:2].tolist() == [1, 5]  # buckets "18" and "50"
    assert data.occupation[:2].tolist() == [
        ML100K_OCCUPATIONS.index("technician"), ML100K_OCCUPATIONS.index("other")
    ]
    assert data.zip_prefix[:2].tolist() == [8, 10]
    # movies: accented Latin-1 titles, years from the date or the title, id 41 skipped
    assert data.titles[0] == "Amélie (2001)"
    assert data.titles[1] == "Léon: The Professional (1994)"
    assert data.year[:2].tolist() == [2001.0, 1994.0]
    assert data.movie_ids[39:42].tolist() == [40, 42, 43]
    names = list(data.genre_names)
    assert len(names) == (19 if fmt == "ml-100k" else 18)
    assert np.flatnonzero(data.genres[0]).tolist() == sorted(
        [names.index("Comedy"), names.index("Romance")]
    )
    assert np.flatnonzero(data.genres[1]).tolist() == sorted(
        names.index(g) for g in ("Action", "Crime", "Drama", "Thriller")
    )
    # the last movie has no date: its year is the median of the others
    assert data.titles[-1] == "unknown"
    assert data.year[-1] == np.median(data.year[:-1])
    # first rating: user 1, movie 1, 5 stars
    assert (data.rating_user[0], data.rating_movie[0], data.rating[0]) == (0, 0, 5)
    assert data.timestamp[0] == 874965758
    assert set(np.unique(data.rating)) <= {1, 2, 3, 4, 5}


def test_the_two_formats_agree_on_every_shared_field(folders):
    a, b = load_movielens(folders["ml-100k"]), load_movielens(folders["ml-1m"])
    for name in ("user_ids", "gender", "age_bucket", "occupation", "zip_prefix", "movie_ids",
                 "titles", "year", "rating_user", "rating_movie", "rating", "timestamp"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # ML-100K has an extra leading "unknown" genre; the "unknown" movie is Drama in ML-1M
    assert ML100K_GENRES[0] == "unknown"
    np.testing.assert_array_equal(a.genres[:-1, 1:], b.genres[:-1])
    assert a.genres[-1].tolist() == [1.0] + [0.0] * 18


def test_files_are_latin1_encoded(folders):
    raw = (folders["ml-1m"] / "movies.dat").read_bytes()
    assert "Amélie".encode("latin-1") in raw and "Amélie".encode() not in raw


# (format, file, line, replacement, words the message must contain)
BAD_LINES = [
    ("ml-100k", "u.data", 2000, "60\t3", ["u.data", "line 2000", "expected 4 fields"]),
    ("ml-100k", "u.data", 5, "x1\t1\t5\t874965758", ["line 5", "user id", "integer", "'x1'"]),
    ("ml-100k", "u.data", 7, "1\t2\t7\t874965758", ["line 7", "rating", "1 to 5", "7"]),
    ("ml-100k", "u.data", 8, "1\t2\t0\t874965758", ["line 8", "rating", "1 to 5"]),
    ("ml-100k", "u.data", 9, "1\t2\tnan\t874965758", ["line 9", "rating", "'nan'"]),
    ("ml-100k", "u.data", 3, "999\t2\t3\t874965758", ["line 3", "user id 999", "u.user"]),
    ("ml-100k", "u.data", 4, "1\t41\t3\t874965758", ["line 4", "movie id 41", "u.item"]),
    ("ml-100k", "u.user", 3, "3|nan|M|writer|12345", ["u.user", "line 3", "age", "'nan'"]),
    ("ml-100k", "u.user", 4, "4|30|M|astronaut|12345", ["line 4", "occupation"]),
    ("ml-100k", "u.user", 5, "2|30|M|writer|12345", ["line 5", "user id 2", "twice"]),
    ("ml-100k", "u.item", 2, "2|Short line|", ["u.item", "line 2", "expected 24 fields"]),
    ("ml-1m", "ratings.dat", 2000, "60::3::5", ["ratings.dat", "line 2000", "4 fields"]),
    ("ml-1m", "ratings.dat", 10, "1::2::6::874965758", ["line 10", "rating"]),
    ("ml-1m", "users.dat", 2, "2::X::25::3::12345", ["users.dat", "line 2", "gender"]),
    ("ml-1m", "users.dat", 3, "3::F::20::3::12345", ["line 3", "age", "bucket"]),
    ("ml-1m", "users.dat", 4, "4::F::25::21::12345", ["line 4", "occupation"]),
    ("ml-1m", "movies.dat", 3, "3::Film (1990)::Cartoon", ["movies.dat", "line 3", "'Cartoon'"]),
    ("ml-1m", "movies.dat", 4, "4 Film (1990) Drama", ["line 4", "3 fields"]),
]


@pytest.mark.parametrize(("fmt", "name", "line", "text", "words"), BAD_LINES)
def test_a_bad_line_raises_an_error_naming_file_and_line(
    folders, tmp_path, fmt, name, line, text, words
):
    folder = _copy(folders, fmt, tmp_path)
    _edit_line(folder / name, line, text)
    with pytest.raises(MovieLensFormatError) as err:
        load_movielens(folder)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_an_empty_ratings_file_is_an_error(folders, tmp_path):
    folder = _copy(folders, "ml-100k", tmp_path)
    (folder / "u.data").write_bytes(b"\n")
    with pytest.raises(MovieLensFormatError, match="u.data: the file is empty"):
        load_movielens(folder)


def test_missing_files_say_where_to_put_them(folders, tmp_path):
    folder = _copy(folders, "ml-100k", tmp_path)
    (folder / "u.item").unlink()
    with pytest.raises(FileNotFoundError) as err:
        find_movielens(folder)
    msg = str(err.value)
    for word in (str(folder), "u.data, u.user, u.item", "ratings.dat, users.dat, movies.dat",
                 "data_dir", "RECSIM_ENVS_DATA", "by hand"):
        assert word in msg, word


def test_without_data_dir_the_environment_variable_is_read(folders, monkeypatch):
    monkeypatch.delenv("RECSIM_ENVS_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="RECSIM_ENVS_DATA is not set"):
        find_movielens(None)
    monkeypatch.setenv("RECSIM_ENVS_DATA", str(folders["ml-1m"]))
    assert find_movielens(None) == ("ml-1m", folders["ml-1m"])
    # the parent holds ml-100k/ and ml-1m/ subfolders (the unzipped archives' layout)
    monkeypatch.setenv("RECSIM_ENVS_DATA", str(folders["ml-1m"].parent))
    with pytest.raises(ValueError, match="both ML-100K"):
        find_movielens(None)
    assert find_movielens(None, dataset="ml-1m") == ("ml-1m", folders["ml-1m"])


def test_both_formats_in_one_folder_need_a_choice(folders, tmp_path):
    folder = _copy(folders, "ml-100k", tmp_path)
    for f in folders["ml-1m"].iterdir():
        shutil.copy(f, folder / f.name)
    with pytest.raises(ValueError, match="dataset='ml-100k' or dataset='ml-1m'"):
        find_movielens(folder)
    assert find_movielens(folder, dataset="ml-1m") == ("ml-1m", folder)


# --- completeness (issue 11) ---
def test_a_ratings_file_cut_inside_its_last_field_is_an_error(folders, tmp_path):
    folder = _copy(folders, "ml-100k", tmp_path)
    data = (folder / "u.data").read_bytes()
    half = data.index(b"\n", len(data) // 2) + 6  # cut 5 bytes into a line: still parses
    (folder / "u.data").write_bytes(data[:half])
    with pytest.raises(MovieLensFormatError, match=r"u.data, line \d+: the file does not end "
                       r"with a line break.*truncated"):
        load_movielens(folder)


def test_the_counts_stated_in_u_info_are_checked(folders, tmp_path):
    folder = _copy(folders, "ml-100k", tmp_path)
    (folder / "u.info").write_text("60 users\n81 items\n2000 ratings\n")
    assert load_movielens(folder).n_ratings == 2000
    (folder / "u.info").write_text("60 users\n81 items\n6000 ratings\n")
    with pytest.raises(MovieLensFormatError, match=r"u.info states 6000 ratings but 2000 were "
                       r"read"):
        load_movielens(folder)
