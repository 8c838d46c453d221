"""Generated MovieLens-format files (ML-100K or ML-1M layout), for tests and offline experiments.

Real MovieLens files cannot be shipped or downloaded by this package; these generated tables
let the MovieLens environments, the ``two_stage_paper`` suite and their tests run anywhere.
**Numbers measured on them are not MovieLens results**: label them "generated
MovieLens-format data, not the real ML-1M".

The same tables are written as ML-100K (``u.data``, ``u.user``, ``u.item``) or ML-1M
(``ratings.dat``, ``users.dat``, ``movies.dat``), Latin-1 encoded, with accented titles.
Two rating rules:

- ``"gender"`` (the tests' default): men like Action, women like Romance (rating 4-5 with
  probability 0.9 on a match, 0.15 otherwise), rated cells uniform; a simulator that learns
  from features must reach a held-out AUC well above 0.5.
- ``"latent"``: a low-rank taste model (8 latent factors per user and movie, plus a movie
  quality term and the gender/genre rule), rated cells drawn with Zipf-like movie popularity
  and log-normal user activity, as in real MovieLens (a long tail of rarely rated movies).
  P(rating > 3) = sigmoid(taste); about half of the ratings are above 3.

The first rows are fixed by hand so tests can check parsed values exactly:

- user 1: age 24, M, technician, zip 85711; user 2: age 53, F, other, zip T8H1N (Canadian).
- movie 1: "Amélie (2001)", Comedy|Romance, released 01-Jan-2001;
  movie 2: "Léon: The Professional (1994)", Action|Crime|Drama|Thriller;
  the last movie: "unknown", no date (its year is filled with the median).
- movie ids skip 41 (as ML-1M's do).
- first rating: user 1, movie 1, rating 5, timestamp 874965758.

Command line (writes a folder a user can pass as ``--data-dir``)::

    python -m recsim_envs.two_stage.movielens_synth OUT_DIR --format ml-1m \
        --users 6040 --movies 3883 \
        --ratings 1000209 --rule latent --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

GENRES_1M = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)
OCCUPATIONS_100K = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer",
)
AGE_BUCKETS = (1, 18, 25, 35, 45, 50, 56)
WORDS = ("Café", "Noël", "Señor", "Über", "Città", "Garçon", "Blue", "Night", "River", "Moon")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RULES = ("gender", "latent")
FIRST_TIMESTAMP = 874965758


def make_tables(
    n_users: int = 60, n_movies: int = 81, n_ratings: int = 2000, seed: int = 0,
    rule: str = "gender",
) -> dict:
    """Synthetic users, movies and ratings, seeded (same arguments -> identical tables).

    Returns:
        {"users": list of dicts (id, age, gender, occupation index, zip),
         "movies": list of dicts (id, title, year or None, date, genres),
         "ratings": (n_ratings, 4) int64 array of (user id, movie id, rating, timestamp)}.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if n_users < 2 or n_movies < 2:
        raise ValueError(f"need at least 2 users and 2 movies, got {n_users} and {n_movies}")
    if not 1 <= n_ratings <= n_users * n_movies:
        raise ValueError(f"n_ratings must be in [1, n_users * n_movies = {n_users * n_movies}]"
                         f", got {n_ratings}")
    rng = np.random.default_rng(seed)
    ages = rng.integers(7, 74, size=n_users)
    male = rng.random(n_users) < 0.5
    occupation = rng.integers(0, 21, size=n_users)
    zips = rng.integers(0, 100000, size=n_users)
    users = [{"id": u + 1, "age": int(ages[u]), "gender": "M" if male[u] else "F",
              "occupation": int(occupation[u]), "zip": f"{int(zips[u]):05d}"}
             for u in range(n_users)]
    users[0].update(age=24, gender="M", occupation=OCCUPATIONS_100K.index("technician"),
                    zip="85711")
    users[1].update(age=53, gender="F", occupation=OCCUPATIONS_100K.index("other"), zip="T8H1N")
    male[0], male[1] = True, False

    ids = np.array([i for i in range(1, n_movies + 2) if i != 41][:n_movies])
    years = rng.integers(1930, 2001, size=n_movies)
    n_genres = rng.integers(1, 4, size=n_movies)
    # k distinct genres per movie: the k smallest of a random key per genre.
    rank = np.argsort(np.argsort(rng.random((n_movies, len(GENRES_1M))), axis=1), axis=1)
    genre_mask = rank < n_genres[:, None]
    genre_mask[0] = [g in ("Comedy", "Romance") for g in GENRES_1M]
    genre_mask[1] = [g in ("Action", "Crime", "Drama", "Thriller") for g in GENRES_1M]
    genre_mask[-1] = [g == "Drama" for g in GENRES_1M]
    movies = []
    for j in range(n_movies):  # formatting only: titles and dates are strings
        name = f"{WORDS[j % len(WORDS)]} {WORDS[(3 * j + 1) % len(WORDS)]} {j}"
        movies.append({"id": int(ids[j]), "title": f"{name} ({years[j]})", "year": int(years[j]),
                       "date": f"{1 + j % 28:02d}-{MONTHS[j % 12]}-{years[j]}",
                       "genres": [g for g, on in zip(GENRES_1M, genre_mask[j], strict=True)
                                  if on]})
    movies[0].update(title="Amélie (2001)", year=2001, date="01-Jan-2001")
    movies[1].update(title="Léon: The Professional (1994)", year=1994, date="14-Sep-1994")
    movies[-1].update(title="unknown", year=None, date="")

    liked = np.where(male[:, None], genre_mask[None, :, 0], genre_mask[None, :, 13])  # (U, M)
    if rule == "gender":
        cells = rng.choice(n_users * n_movies, size=n_ratings, replace=False)
        u_idx, m_idx = np.divmod(cells, n_movies)
        p_like = np.where(liked[u_idx, m_idx], 0.9, 0.15)
    else:
        u_idx, m_idx = _popular_cells(rng, n_users, n_movies, n_ratings)
        taste_u = rng.standard_normal((n_users, 8))
        taste_m = rng.standard_normal((n_movies, 8))
        quality = 0.8 * rng.standard_normal(n_movies)
        logit = (0.45 * (taste_u[u_idx] * taste_m[m_idx]).sum(axis=1) + quality[m_idx]
                 + 1.0 * liked[u_idx, m_idx] - 0.3)
        p_like = 1.0 / (1.0 + np.exp(-logit))
    # Keep (user 1, movie 1) first: it is the hand-checked rating. If it was not drawn, row 0
    # becomes it (still distinct from every other drawn cell).
    first = np.flatnonzero((u_idx == 0) & (m_idx == 0))
    if first.size:
        order = np.concatenate([first, np.setdiff1d(np.arange(len(u_idx)), first)])
        u_idx, m_idx, p_like = u_idx[order], m_idx[order], p_like[order]
    u_idx[0], m_idx[0] = 0, 0
    like = rng.random(n_ratings) < p_like
    rating = np.where(like, rng.integers(4, 6, size=n_ratings), rng.integers(1, 4, size=n_ratings))
    times = FIRST_TIMESTAMP + np.sort(rng.integers(0, 10_000_000, size=n_ratings))
    ratings = np.stack([u_idx + 1, ids[m_idx], rating, times], axis=1).astype(np.int64)
    ratings[0] = (1, ids[0], 5, FIRST_TIMESTAMP)
    settings = {"n_users": n_users, "n_movies": n_movies, "n_ratings": n_ratings, "seed": seed,
                "rule": rule}
    return {"users": users, "movies": movies, "ratings": ratings, "settings": settings}


def _popular_cells(
    rng: np.random.Generator, n_users: int, n_movies: int, n_ratings: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, movie) cells, movies by Zipf-like popularity, users by activity.

    Draws with replacement in rounds and keeps the first occurrence of each cell (sampling
    without replacement from 23M weighted cells at once would need a 23M-entry table).
    """
    movie_w = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    movie_w = movie_w[rng.permutation(n_movies)]
    movie_w /= movie_w.sum()
    user_w = rng.lognormal(0.0, 1.0, size=n_users)
    user_w /= user_w.sum()
    # Cap the share of any cell so the requested count is reachable when ratings are dense.
    cells = np.empty(0, dtype=np.int64)
    for _ in range(50):
        need = n_ratings - len(cells)
        if need <= 0:
            break
        u = rng.choice(n_users, size=2 * need + 100, p=user_w)
        m = rng.choice(n_movies, size=2 * need + 100, p=movie_w)
        merged = np.concatenate([cells, u * n_movies + m])
        _, first = np.unique(merged, return_index=True)
        cells = merged[np.sort(first)]
        # flatten the weights a little each round so dense requests terminate
        movie_w = np.sqrt(movie_w)
        movie_w /= movie_w.sum()
    if len(cells) < n_ratings:
        raise ValueError(f"could not draw {n_ratings} distinct cells; ask for fewer ratings")
    cells = cells[:n_ratings]
    return np.divmod(cells, n_movies)


MARKER = "RECSIM_ENVS_GENERATED.json"
"""Written next to generated files: :func:`provenance` reads it, so results can say which
data they came from (generated, with its settings, or not generated)."""


def _mark(folder: Path, fmt: str, tables: dict) -> None:
    info = {"generator": "recsim_envs.two_stage.movielens_synth", "format": fmt,
            "note": "generated MovieLens-format data, NOT real MovieLens",
            **tables.get("settings", {})}
    (folder / MARKER).write_text(json.dumps(info, sort_keys=True) + "\n")


def provenance(folder: Path | str, fmt: str) -> dict:
    """Where the MovieLens-format files in ``folder`` come from: ``{"format", "generated",
    ...}`` with the generator's settings when :data:`MARKER` is there (files written by this
    module), else ``generated = False`` (files from elsewhere, e.g. the real MovieLens)."""
    marker = Path(folder) / MARKER
    if marker.is_file():
        try:
            return {**json.loads(marker.read_text()), "generated": True, "format": fmt}
        except (OSError, ValueError):
            return {"format": fmt, "generated": True, "note": f"unreadable {MARKER}"}
    return {"format": fmt, "generated": False}


def _write(path: Path, lines: list[str]) -> None:
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def _rating_lines(ratings: np.ndarray, sep: str) -> list[str]:
    rows = np.asarray(ratings, dtype=np.int64)
    return [sep.join(map(str, r)) for r in rows.tolist()]


def write_ml100k(folder: Path, tables: dict | None = None) -> Path:
    """Write ``u.data``, ``u.user``, ``u.item`` into ``folder`` (created); returns it."""
    t = tables or make_tables()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "u.data", _rating_lines(t["ratings"], "\t"))
    _write(folder / "u.user", [
        f"{u['id']}|{u['age']}|{u['gender']}|{OCCUPATIONS_100K[u['occupation']]}|{u['zip']}"
        for u in t["users"]
    ])
    lines = []
    for m in t["movies"]:
        unknown = m["title"] == "unknown"
        flags = ["1" if unknown else "0"] + [
            "1" if (g in m["genres"] and not unknown) else "0" for g in GENRES_1M
        ]
        url = "" if unknown else "http://us.imdb.com/M/title-exact?x"
        lines.append("|".join([str(m["id"]), m["title"], m["date"], "", url, *flags]))
    _write(folder / "u.item", lines)
    _mark(folder, "ml-100k", t)
    return folder


def write_ml1m(folder: Path, tables: dict | None = None) -> Path:
    """Write ``ratings.dat``, ``users.dat``, ``movies.dat`` into ``folder``; returns it."""
    t = tables or make_tables()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "ratings.dat", _rating_lines(t["ratings"], "::"))
    lines = []
    for u in t["users"]:
        bucket = max(b for b in AGE_BUCKETS if b <= u["age"])
        lines.append(f"{u['id']}::{u['gender']}::{bucket}::{u['occupation']}::{u['zip']}")
    _write(folder / "users.dat", lines)
    _write(folder / "movies.dat", [
        f"{m['id']}::{m['title']}::{'|'.join(m['genres'])}" for m in t["movies"]
    ])
    _mark(folder, "ml-1m", t)
    return folder


def write_movielens(
    folder: Path | str, fmt: str = "ml-1m", n_users: int = 6040, n_movies: int = 3883,
    n_ratings: int = 1_000_209, seed: int = 0, rule: str = "latent",
) -> Path:
    """Generate tables and write them in ``fmt`` (``"ml-1m"`` or ``"ml-100k"``); returns it."""
    writers = {"ml-1m": write_ml1m, "ml-100k": write_ml100k}
    if fmt not in writers:
        raise ValueError(f"fmt must be 'ml-1m' or 'ml-100k', got {fmt!r}")
    return writers[fmt](Path(folder), make_tables(n_users, n_movies, n_ratings, seed, rule))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recsim_envs.two_stage.movielens_synth",
        description="Write generated MovieLens-format files (NOT real MovieLens data).")
    parser.add_argument("out", help="folder to write (created)")
    parser.add_argument("--format", default="ml-1m", choices=("ml-1m", "ml-100k"))
    parser.add_argument("--users", type=int, default=6040)
    parser.add_argument("--movies", type=int, default=3883)
    parser.add_argument("--ratings", type=int, default=1_000_209)
    parser.add_argument("--rule", default="latent", choices=RULES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = write_movielens(args.out, args.format, args.users, args.movies, args.ratings,
                             args.seed, args.rule)
    print(f"wrote generated {args.format}-format files ({args.users} users, {args.movies} "
          f"movies, {args.ratings} ratings, rule {args.rule!r}) to {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
