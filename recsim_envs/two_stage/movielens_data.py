"""Read MovieLens ratings, users and movies from the published files (ML-100K and ML-1M).

Two published layouts are supported, both Latin-1 encoded (GroupLens, https://grouplens.org/
datasets/movielens/; download them by hand, code here never downloads):

- ML-100K: ``u.data`` (``user<TAB>movie<TAB>rating<TAB>timestamp``), ``u.user``
  (``user|age|gender|occupation|zip``), ``u.item`` (``movie|title|release date|video
  release date|IMDb URL|`` then 19 genre flags).
- ML-1M: ``ratings.dat`` (``user::movie::rating::timestamp``), ``users.dat``
  (``user::gender::age::occupation::zip``), ``movies.dat`` (``movie::title::Genre|Genre``).

:func:`load_movielens` locates the files
(:func:`recsim_envs.two_stage.movielens_files.find_movielens`) and returns a
:class:`MovieLensData` of plain arrays with users and movies re-indexed to ``0..n-1`` in
file order. Every malformed line raises :class:`MovieLensFormatError` naming the file, the
line number and the fix. Parsing is
vectorised (one split per line, one numpy conversion per column); a line-by-line scan runs
only to name the offending line once a column has failed to convert.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsim_envs.two_stage.movielens_files import find_movielens, movielens_files

log = logging.getLogger(__name__)

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)
ML1M_GENRES = ML100K_GENRES[1:]  # the same 18 genres without "unknown"

ML100K_OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)
N_OCCUPATIONS = 21  # ML-1M codes 0-20; ML-100K the 21 names above

# ML-1M age buckets ("1": under 18, "18": 18-24, ..., "56": 56+). ML-100K exact ages are
# mapped onto the same buckets so that both formats give the same user encoding.
AGE_BUCKETS = (1, 18, 25, 35, 45, 50, 56)


class MovieLensFormatError(ValueError):
    """A MovieLens file that cannot be read: the message names the file, line and fix."""


@dataclass(frozen=True)
class MovieLensData:
    """MovieLens as arrays; users and movies are indexed 0..n-1 in file order.

    Attributes:
        format: ``"ml-100k"`` or ``"ml-1m"``.
        user_ids: (n_users,) int64 original user ids.
        gender: (n_users,) int8, 1 for "M", 0 for "F".
        age_bucket: (n_users,) int8 index into :data:`AGE_BUCKETS`.
        occupation: (n_users,) int8 in [0, 21).
        zip_prefix: (n_users,) int8, the first digit of a US zip code, 10 for anything else.
        movie_ids: (n_movies,) int64 original movie ids.
        titles: (n_movies,) unicode titles.
        year: (n_movies,) float32 release year; missing years get the median (documented).
        genres: (n_movies, n_genres) float32 multi-hot (19 genres for ML-100K, 18 for ML-1M).
        genre_names: the genre column names.
        rating_user: (n_ratings,) int64 user index.
        rating_movie: (n_ratings,) int64 movie index.
        rating: (n_ratings,) int8 in 1..5.
        timestamp: (n_ratings,) int64 seconds since the epoch.
    """

    format: str
    user_ids: np.ndarray
    gender: np.ndarray
    age_bucket: np.ndarray
    occupation: np.ndarray
    zip_prefix: np.ndarray
    movie_ids: np.ndarray
    titles: np.ndarray
    year: np.ndarray
    genres: np.ndarray
    genre_names: tuple[str, ...]
    rating_user: np.ndarray
    rating_movie: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_movies(self) -> int:
        return len(self.movie_ids)

    @property
    def n_ratings(self) -> int:
        return len(self.rating)


# ---------------------------------------------------------------------------- parsing helpers
def _read_lines(path: Path) -> list[str]:
    """Latin-1 lines without line ends; blank lines are kept (as "") to keep numbering."""
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise MovieLensFormatError(f"{path}: cannot read ({exc})") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MovieLensFormatError(f"{path}: the file is empty; re-extract the MovieLens archive")
    # The published files end every line, the last included, with a line break: a file
    # without one was cut, possibly inside its last field (which would still parse).
    if not text.endswith(("\n", "\r")):
        raise MovieLensFormatError(
            f"{path}, line {len(lines)}: the file does not end with a line break, so its last "
            f"line {lines[-1][:80]!r} may be cut; the file looks truncated: re-extract it "
            "from the archive"
        )
    return lines


def _split(path: Path, lines: list[str], sep: str, n_fields: int, what: str) -> list[list[str]]:
    """Split every line into exactly ``n_fields`` fields, or name the first bad line."""
    rows = [line.split(sep) for line in lines]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(lengths != n_fields)
    if bad.size:
        i = int(bad[0])
        raise MovieLensFormatError(
            f"{path}, line {i + 1}: expected {n_fields} fields ({what}) separated by {sep!r}, "
            f"got {lengths[i]}: {lines[i][:80]!r}. The file looks truncated or is not in the "
            "published MovieLens format; re-extract it from the archive"
        )
    return rows


def _int_column(path: Path, rows: list[list[str]], col: int, name: str) -> np.ndarray:
    """Column ``col`` as int64; a non-integer field is reported with its line."""
    values = [r[col].strip() for r in rows]
    try:
        return np.array(values, dtype=np.str_).astype(np.int64)
    except (ValueError, OverflowError):
        for i, v in enumerate(values):  # error path only: find the line to name
            try:
                int(v)
            except ValueError:
                raise MovieLensFormatError(
                    f"{path}, line {i + 1}: {name} must be an integer, got {v!r}"
                ) from None
        raise


def _index_of(
    path: Path, ids: np.ndarray, known: np.ndarray, what: str, source: Path
) -> np.ndarray:
    """Map original ids to positions in ``known`` (sorted by file order), or name an unknown."""
    order = np.argsort(known, kind="stable")
    pos = np.searchsorted(known[order], ids)
    pos = np.minimum(pos, len(known) - 1)
    ok = known[order][pos] == ids
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise MovieLensFormatError(
            f"{path}, line {i + 1}: {what} id {ids[i]} is not listed in {source}; "
            "the files come from different MovieLens releases or one is truncated"
        )
    return order[pos]


def _unique_ids(path: Path, ids: np.ndarray, what: str) -> None:
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = values[counts > 1][0]
        line = int(np.flatnonzero(ids == dup)[1]) + 1
        raise MovieLensFormatError(f"{path}, line {line}: {what} id {dup} appears twice")


def _age_bucket(age: np.ndarray) -> np.ndarray:
    """Exact ages -> index of the ML-1M bucket they fall in."""
    return (np.searchsorted(np.array(AGE_BUCKETS), age, side="right") - 1).clip(0).astype(np.int8)


def _zip_prefix(zips: list[str]) -> np.ndarray:
    """First digit of a US zip code (0-9, a coarse region), 10 for other codes."""
    first = np.array([z.strip()[:1] or "x" for z in zips], dtype="U1")
    digit = np.char.isdigit(first)
    out = np.full(len(first), 10, dtype=np.int8)
    out[digit] = first[digit].astype(np.int8)
    return out


_YEAR = re.compile(r"(\d{4})\s*\)?\s*$")


def _years(texts: list[str]) -> np.ndarray:
    """Four-digit years at the end of each text (a title "X (1995)" or a date "01-Jan-1995")."""
    out = np.full(len(texts), np.nan, dtype=np.float32)
    for i, t in enumerate(texts):
        m = _YEAR.search(t.strip())
        if m:
            out[i] = float(m.group(1))
    return out


def _fill_years(year: np.ndarray) -> np.ndarray:
    # A handful of real movies have no date (ML-100K movie 267 "unknown"): the median year
    # keeps the feature finite without inventing an extreme value.
    missing = np.isnan(year)
    if missing.all():
        return np.full_like(year, 1990.0)
    year[missing] = np.nanmedian(year)
    return year


def _check_values(path: Path, values: np.ndarray, ok: np.ndarray, name: str, allowed: str) -> None:
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise MovieLensFormatError(
            f"{path}, line {i + 1}: {name} must be {allowed}, got {values[i]!r}"
        )


# ---------------------------------------------------------------------------- the two formats
def _parse_users(path: Path, fmt: str) -> dict[str, np.ndarray]:
    lines = _read_lines(path)
    if fmt == "ml-100k":
        rows = _split(path, lines, "|", 5, "user|age|gender|occupation|zip")
        cols = {"age": 1, "gender": 2, "occupation": 3, "zip": 4}
    else:
        rows = _split(path, lines, "::", 5, "user::gender::age::occupation::zip")
        cols = {"gender": 1, "age": 2, "occupation": 3, "zip": 4}
    ids = _int_column(path, rows, 0, "user id")
    _unique_ids(path, ids, "user")
    age = _int_column(path, rows, cols["age"], "age")
    gender_raw = np.array([r[cols["gender"]].strip() for r in rows])
    _check_values(path, gender_raw, np.isin(gender_raw, ["M", "F"]), "gender", "'M' or 'F'")
    if fmt == "ml-100k":
        _check_values(path, age, (age >= 0) & (age < 130), "age", "in [0, 130)")
        occ_raw = np.array([r[cols["occupation"]].strip().lower() for r in rows])
        known = np.array(ML100K_OCCUPATIONS)
        _check_values(path, occ_raw, np.isin(occ_raw, known), "occupation",
                      f"one of the ML-100K occupations {ML100K_OCCUPATIONS}")
        occupation = np.searchsorted(known, occ_raw).astype(np.int8)  # the list is sorted
        age_bucket = _age_bucket(age)
    else:
        _check_values(path, age, np.isin(age, AGE_BUCKETS), "age", f"an ML-1M bucket {AGE_BUCKETS}")
        occ = _int_column(path, rows, cols["occupation"], "occupation")
        _check_values(path, occ, (occ >= 0) & (occ < N_OCCUPATIONS), "occupation",
                      f"a code in 0..{N_OCCUPATIONS - 1}")
        occupation = occ.astype(np.int8)
        age_bucket = np.searchsorted(np.array(AGE_BUCKETS), age).astype(np.int8)
    return {
        "user_ids": ids,
        "gender": (gender_raw == "M").astype(np.int8),
        "age_bucket": age_bucket,
        "occupation": occupation,
        "zip_prefix": _zip_prefix([r[cols["zip"]] for r in rows]),
    }


def _parse_movies(path: Path, fmt: str) -> dict[str, np.ndarray]:
    lines = _read_lines(path)
    if fmt == "ml-100k":
        n_genres = len(ML100K_GENRES)
        rows = _split(path, lines, "|", 5 + n_genres,
                      "movie|title|release date|video date|URL|19 genre flags")
        ids = _int_column(path, rows, 0, "movie id")
        titles = [r[1] for r in rows]
        flags = np.array([r[5:] for r in rows])
        ok = np.isin(flags, ["0", "1"]).all(axis=1)
        _check_values(path, flags.tolist(), ok, "genre flags", "0 or 1")
        genres = (flags == "1").astype(np.float32)
        # The release date ("01-Jan-1995") first, the year in the title as a fallback.
        year = _years([r[2] for r in rows])
        from_title = _years(titles)
        year = np.where(np.isnan(year), from_title, year)
        names = ML100K_GENRES
    else:
        # Titles never contain "::" in the published file; splitting on the first and last
        # separator keeps this robust anyway.
        rows = []
        for i, line in enumerate(lines):
            head, sep1, rest = line.partition("::")
            title, sep2, tail = rest.rpartition("::")
            if not (sep1 and sep2):
                raise MovieLensFormatError(
                    f"{path}, line {i + 1}: expected 3 fields (movie::title::genres), got "
                    f"{line[:80]!r}. The file looks truncated; re-extract it from the archive"
                )
            rows.append([head, title, tail])
        ids = _int_column(path, rows, 0, "movie id")
        titles = [r[1] for r in rows]
        index = {g: j for j, g in enumerate(ML1M_GENRES)}
        genres = np.zeros((len(rows), len(ML1M_GENRES)), dtype=np.float32)
        for i, r in enumerate(rows):
            for g in r[2].strip().split("|"):
                if g not in index:
                    raise MovieLensFormatError(
                        f"{path}, line {i + 1}: unknown genre {g!r}; ML-1M genres are "
                        f"{ML1M_GENRES}"
                    )
                genres[i, index[g]] = 1.0
        year = _years(titles)
        names = ML1M_GENRES
    _unique_ids(path, ids, "movie")
    return {
        "movie_ids": ids,
        "titles": np.array(titles, dtype=np.str_),
        "year": _fill_years(year),
        "genres": genres,
        "genre_names": names,
    }


def _parse_ratings(
    path: Path, fmt: str, user_ids: np.ndarray, movie_ids: np.ndarray, users: Path, movies: Path
) -> dict[str, np.ndarray]:
    lines = _read_lines(path)
    sep = "\t" if fmt == "ml-100k" else "::"
    rows = _split(path, lines, sep, 4, "user, movie, rating, timestamp")
    user = _int_column(path, rows, 0, "user id")
    movie = _int_column(path, rows, 1, "movie id")
    rating = _int_column(path, rows, 2, "rating")
    timestamp = _int_column(path, rows, 3, "timestamp")
    _check_values(path, rating, (rating >= 1) & (rating <= 5), "rating", "an integer from 1 to 5")
    return {
        "rating_user": _index_of(path, user, user_ids, "user", users),
        "rating_movie": _index_of(path, movie, movie_ids, "movie", movies),
        "rating": rating.astype(np.int8),
        "timestamp": timestamp,
    }


def load_movielens(
    data_dir: str | os.PathLike | None = None, dataset: str = "auto"
) -> MovieLensData:
    """Locate (see :func:`find_movielens`), parse and validate a MovieLens release.

    Raises:
        FileNotFoundError: no files; the message says where to put them.
        MovieLensFormatError: a malformed line (too few fields, non-numeric ids, ratings
            outside 1-5, ids the users or movies file does not list, ...), naming file and line.
    """
    fmt, folder = find_movielens(data_dir, dataset)
    ratings_path, users_path, movies_path = movielens_files(fmt, folder)
    users = _parse_users(users_path, fmt)
    movies = _parse_movies(movies_path, fmt)
    ratings = _parse_ratings(ratings_path, fmt, users["user_ids"], movies["movie_ids"],
                             users_path, movies_path)
    counts = {"users": len(users["user_ids"]), "items": len(movies["movie_ids"]),
              "ratings": len(ratings["rating"])}
    _check_info(folder / "u.info", counts)
    log.info("read %d ratings of %d users and %d movies (%s) from %s", counts["ratings"],
             counts["users"], counts["items"], fmt, folder)
    return MovieLensData(format=fmt, **users, **movies, **ratings)


def _check_info(path: Path, counts: dict[str, int]) -> None:
    """ML-100K's ``u.info`` states the numbers of users, items and ratings: they must match."""
    if not path.is_file():
        return
    stated: dict[str, int] = {}
    for i, line in enumerate(path.read_bytes().decode("latin-1").splitlines()):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in counts:
            raise MovieLensFormatError(
                f"{path}, line {i + 1}: expected 'NUMBER users|items|ratings', got {line!r}"
            )
        stated[parts[1]] = int(parts[0])
    for what, n in stated.items():
        if counts[what] != n:
            raise MovieLensFormatError(
                f"{path} states {n} {what} but {counts[what]} were read; a file is truncated "
                "or from another release: re-extract the MovieLens archive"
            )
