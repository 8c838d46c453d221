"""Tiny MovieLens files in both published formats, written by the tests themselves.

The same synthetic tables (60 users, 81 movies, 2,000 ratings by default) are written as
ML-100K (``u.data``, ``u.user``, ``u.item``) or ML-1M (``ratings.dat``, ``users.dat``,
``movies.dat``), Latin-1 encoded, with accented titles. Labels follow a known rule: men
like Action, women like Romance (rating 4-5 with probability 0.9 on a match, 0.15 otherwise),
so a simulator that learns from features must reach a held-out AUC well above 0.5.

The first rows are fixed by hand so tests can check parsed values exactly:

- user 1: age 24, M, technician, zip 85711; user 2: age 53, F, other, zip T8H1N (Canadian).
- movie 1: "Amélie (2001)", Comedy|Romance, released 01-Jan-2001;
  movie 2: "Léon: The Professional (1994)", Action|Crime|Drama|Thriller;
  movie 81 (last): "unknown", no date (its year is filled with the median).
- movie ids skip 41 (as ML-1M's do).
- first rating: user 1, movie 1, rating 5, timestamp 874965758.
"""

from __future__ import annotations

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


def make_tables(
    n_users: int = 60, n_movies: int = 81, n_ratings: int = 2000, seed: int = 0
) -> dict:
    """Synthetic users, movies and ratings (plain Python/numpy values), seeded."""
    rng = np.random.default_rng(seed)
    users = []
    for u in range(1, n_users + 1):
        users.append({
            "id": u,
            "age": int(rng.integers(7, 74)),
            "gender": "M" if rng.random() < 0.5 else "F",
            "occupation": int(rng.integers(0, 21)),
            "zip": f"{int(rng.integers(0, 100000)):05d}",
        })
    users[0].update(age=24, gender="M", occupation=OCCUPATIONS_100K.index("technician"),
                    zip="85711")
    users[1].update(age=53, gender="F", occupation=OCCUPATIONS_100K.index("other"), zip="T8H1N")

    ids = [i for i in range(1, n_movies + 2) if i != 41][:n_movies]
    movies = []
    for j, mid in enumerate(ids):
        year = int(rng.integers(1930, 2001))
        k = int(rng.integers(1, 4))
        genres = sorted(rng.choice(len(GENRES_1M), size=k, replace=False).tolist())
        name = f"{WORDS[j % len(WORDS)]} {WORDS[(3 * j + 1) % len(WORDS)]} {j}"
        movies.append({"id": mid, "title": f"{name} ({year})", "year": year,
                       "date": f"{1 + j % 28:02d}-{MONTHS[j % 12]}-{year}",
                       "genres": [GENRES_1M[g] for g in genres]})
    movies[0].update(title="Amélie (2001)", year=2001, date="01-Jan-2001",
                     genres=["Comedy", "Romance"])
    movies[1].update(title="Léon: The Professional (1994)", year=1994, date="14-Sep-1994",
                     genres=["Action", "Crime", "Drama", "Thriller"])
    movies[-1].update(title="unknown", year=None, date="", genres=["Drama"])

    cells = rng.choice(n_users * len(movies), size=n_ratings, replace=False)
    cells = np.concatenate([[0], cells[cells != 0]])[:n_ratings]  # (user 1, movie 1) first
    times = 874965758 + np.sort(rng.integers(0, 10_000_000, size=n_ratings))
    ratings = []
    for c, t in zip(cells, times, strict=True):
        u, m = divmod(int(c), len(movies))
        user, movie = users[u], movies[m]
        liked_genre = "Action" if user["gender"] == "M" else "Romance"
        p_like = 0.9 if liked_genre in movie["genres"] else 0.15
        rating = int(rng.integers(4, 6)) if rng.random() < p_like else int(rng.integers(1, 4))
        ratings.append((user["id"], movie["id"], rating, int(t)))
    ratings[0] = (1, 1, 5, 874965758)
    return {"users": users, "movies": movies, "ratings": ratings}


def _write(path: Path, lines: list[str]) -> None:
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def write_ml100k(folder: Path, tables: dict | None = None) -> Path:
    """Write ``u.data``, ``u.user``, ``u.item`` into ``folder`` (created); returns it."""
    t = tables or make_tables()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "u.data", [f"{u}\t{m}\t{r}\t{ts}" for u, m, r, ts in t["ratings"]])
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
    return folder


def write_ml1m(folder: Path, tables: dict | None = None) -> Path:
    """Write ``ratings.dat``, ``users.dat``, ``movies.dat`` into ``folder``; returns it."""
    t = tables or make_tables()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "ratings.dat", [f"{u}::{m}::{r}::{ts}" for u, m, r, ts in t["ratings"]])
    lines = []
    for u in t["users"]:
        bucket = max(b for b in AGE_BUCKETS if b <= u["age"])
        lines.append(f"{u['id']}::{u['gender']}::{bucket}::{u['occupation']}::{u['zip']}")
    _write(folder / "users.dat", lines)
    _write(folder / "movies.dat", [
        f"{m['id']}::{m['title']}::{'|'.join(m['genres'])}" for m in t["movies"]
    ])
    return folder
