"""The world of the sequential family: a catalogue of named items, users and true ratings.

Everything here is fixed at construction from an explicit ``world_seed``, so the logging
run, the offline learner's language-model stub and the online evaluation all share one
world; per-episode randomness (which user arrives) comes from the environment's
``np_random`` instead.

The **catalogue** (item names, categories, colours, materials, a popularity score) and the
**user features** (gender, age band, stated favourite categories) are public: a
recommender may read them, and they are what the text state describes. The **rating
matrix** (n_users, n_items) on the 1..5 scale is the user's private response model: no
agent reads it, only the environment (for rewards) and the language-model stub (mixed in
with weight ``alignment``, see :mod:`recsim_envs.sequential.llm.stub`).

Rating matrices in the public Coat / Yahoo "pseudo ground truth" format (a plain
whitespace-separated numeric text file, one row per user, one column per item) can be
loaded with :func:`load_rating_matrix`; the catalogue and user features are then
synthesised from ``world_seed`` for that shape (the public files carry no item names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CATEGORIES = ("jacket", "sweater", "coat", "boots", "scarf", "hoodie", "shirt", "trousers")
COLOURS = ("black", "white", "red", "navy", "green", "grey", "beige", "olive")
MATERIALS = ("wool", "denim", "leather", "cotton", "fleece", "linen")
GENDERS = ("woman", "man")
AGE_BANDS = ("18-24", "25-34", "35-49", "50+")
# Share of each rating 1..5 in a synthetic matrix (Coat-like: high ratings are rare).
RATING_SHARES = (0.35, 0.25, 0.20, 0.12, 0.08)
RATING_FILE_NAMES = (
    "ratings.txt",
    "coat_pseudoGT_ratingM.ascii",
    "yahoo_pseudoGT_ratingM.ascii",
    "rating_matrix.txt",
)


class RatingMatrixError(ValueError):
    """A rating matrix file that cannot be used: the message names the problem and the fix."""


@dataclass
class SequentialWorld:
    """Catalogue, users and true ratings of one sequential world.

    Attributes:
        ratings: (n_users, n_items) float32 in [rating_min, rating_max], private.
        item_category: (n_items,) int64 index into :data:`CATEGORIES`.
        item_colour: (n_items,) int64 index into :data:`COLOURS`.
        item_material: (n_items,) int64 index into :data:`MATERIALS`.
        item_popularity: (n_items,) float32 in [0, 1], public popularity (e.g. past sales).
        item_names: (n_items,) unicode array of unique display names.
        user_gender: (n_users,) int64 index into :data:`GENDERS`.
        user_age: (n_users,) int64 index into :data:`AGE_BANDS`.
        user_likes: (n_users, n_categories) float32 0/1 stated favourite categories.
        test_users: (n_test,) int64 held-out users for online evaluation.
        train_users: (n_train,) int64 the rest (logging, pre-training, online training).
    """

    ratings: np.ndarray
    item_category: np.ndarray
    item_colour: np.ndarray
    item_material: np.ndarray
    item_popularity: np.ndarray
    item_names: np.ndarray
    user_gender: np.ndarray
    user_age: np.ndarray
    user_likes: np.ndarray
    test_users: np.ndarray
    train_users: np.ndarray
    rating_min: float = 1.0
    rating_max: float = 5.0
    _name_to_id: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._name_to_id = {str(n).lower(): i for i, n in enumerate(self.item_names)}

    @property
    def n_users(self) -> int:
        return self.ratings.shape[0]

    @property
    def n_items(self) -> int:
        return self.ratings.shape[1]

    @property
    def name_to_id(self) -> dict[str, int]:
        """Lower-cased item name -> item id (for parsing text answers)."""
        return self._name_to_id

    def user_features(self) -> np.ndarray:
        """(n_users, d_u) float32: [gender one-hot (2), age one-hot (4), likes (8)]."""
        n = self.n_users
        out = np.zeros((n, len(GENDERS) + len(AGE_BANDS) + len(CATEGORIES)), np.float32)
        out[np.arange(n), self.user_gender] = 1.0
        out[np.arange(n), len(GENDERS) + self.user_age] = 1.0
        out[:, len(GENDERS) + len(AGE_BANDS):] = self.user_likes
        return out

    def item_features(self) -> np.ndarray:
        """(n_items, d_item) float32: [category, colour, material one-hots, popularity]."""
        n = self.n_items
        nc, nl = len(CATEGORIES), len(COLOURS)
        out = np.zeros((n, nc + nl + len(MATERIALS) + 1), np.float32)
        idx = np.arange(n)
        out[idx, self.item_category] = 1.0
        out[idx, nc + self.item_colour] = 1.0
        out[idx, nc + nl + self.item_material] = 1.0
        out[:, -1] = self.item_popularity
        return out

    def describe_user(self, user: int) -> str:
        """One sentence about a user's public features."""
        likes = [CATEGORIES[c] for c in np.flatnonzero(self.user_likes[user])]
        liked = " and ".join(f"{c}s" if not c.endswith("s") else c for c in likes) or "nothing"
        return (
            f"User {int(user)}: a {GENDERS[self.user_gender[user]]} aged "
            f"{AGE_BANDS[self.user_age[user]]} who says they like {liked}."
        )

    def describe_item(self, item: int) -> str:
        """An item's name and attributes, as text."""
        return (
            f"{self.item_names[item]} (category {CATEGORIES[self.item_category[item]]}, "
            f"colour {COLOURS[self.item_colour[item]]}, "
            f"material {MATERIALS[self.item_material[item]]})"
        )


def build_world(
    n_users: int,
    n_items: int,
    world_seed: int,
    ratings: np.ndarray | None = None,
    test_fraction: float = 0.2,
    rank: int = 4,
    rating_min: float = 1.0,
    rating_max: float = 5.0,
) -> SequentialWorld:
    """Build a world from ``world_seed``; synthetic low-rank ratings unless ``ratings`` given.

    Synthetic ratings: a latent score per (user, item) adds (a) 1.0 if the item's category
    is one the user states to like, (b) a hidden per-user colour taste, (c) a hidden
    rank-``rank`` interaction, (d) an item quality shared by all users; scores are
    quantised into 1..5 at global quantiles so the shares follow :data:`RATING_SHARES`.
    The stated likes therefore carry real but partial information about the ratings,
    which is what a language model reading the profile could exploit.

    Args:
        n_users, n_items: sizes (ignored in favour of ``ratings.shape`` when given).
        world_seed: seeds every draw here.
        ratings: optional (n_users, n_items) matrix already validated.
        test_fraction: share of users held out for evaluation (at least one).
        rank: rank of the hidden interaction term.
        rating_min, rating_max: the rating scale the world declares (the synthetic ratings
            are 1..5 whatever it says; a loaded matrix has been checked against it).

    Returns:
        A :class:`SequentialWorld`.
    """
    rng = np.random.default_rng(world_seed)
    if ratings is not None:
        n_users, n_items = ratings.shape
    nc = len(CATEGORIES)
    item_category = rng.integers(0, nc, n_items)
    item_colour = rng.integers(0, len(COLOURS), n_items)
    item_material = rng.integers(0, len(MATERIALS), n_items)
    quality = rng.normal(0.0, 0.5, n_items)
    user_gender = rng.integers(0, len(GENDERS), n_users)
    user_age = rng.integers(0, len(AGE_BANDS), n_users)
    # Each user states 1-3 favourite categories (Gumbel top-k of a random taste vector).
    taste = rng.normal(0.0, 1.0, (n_users, nc))
    n_likes = rng.integers(1, 4, n_users)
    order = np.argsort(-taste, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(nc)[None, :].repeat(n_users, 0), axis=1)
    user_likes = (ranks < n_likes[:, None]).astype(np.float32)
    colour_taste = rng.normal(0.0, 0.5, (n_users, len(COLOURS)))
    u_lat = rng.normal(0.0, 1.0, (n_users, rank)) / np.sqrt(rank)
    v_lat = rng.normal(0.0, 1.0, (n_items, rank))
    if ratings is None:
        score = (
            1.0 * user_likes[:, item_category]
            + 0.3 * taste[:, item_category]
            + colour_taste[:, item_colour]
            + 0.6 * (u_lat @ v_lat.T)
            + quality[None, :]
        )
        cuts = np.quantile(score, np.cumsum(RATING_SHARES)[:-1])
        ratings = (1 + np.searchsorted(cuts, score.ravel(), side="right")).reshape(score.shape)
        ratings = ratings.astype(np.float32)
    # Public popularity: item quality seen through noise (what past sales would show).
    pop = quality + rng.normal(0.0, 0.3, n_items)
    pop = ((pop - pop.min()) / max(pop.max() - pop.min(), 1e-9)).astype(np.float32)
    names = np.array(
        [
            f"{COLOURS[c].title()} {MATERIALS[m].title()} {CATEGORIES[k].title()} #{j}"
            for j, (c, m, k) in enumerate(zip(item_colour, item_material, item_category,
                                              strict=True))
        ]
    )
    n_test = max(1, int(round(test_fraction * n_users)))
    perm = rng.permutation(n_users)
    return SequentialWorld(
        ratings=np.asarray(ratings, np.float32),
        item_category=item_category.astype(np.int64),
        item_colour=item_colour.astype(np.int64),
        item_material=item_material.astype(np.int64),
        item_popularity=pop,
        item_names=names,
        user_gender=user_gender.astype(np.int64),
        user_age=user_age.astype(np.int64),
        user_likes=user_likes,
        test_users=np.sort(perm[:n_test]).astype(np.int64),
        train_users=np.sort(perm[n_test:]).astype(np.int64),
        rating_min=rating_min,
        rating_max=rating_max,
    )


def find_rating_file(data_dir: str | os.PathLike) -> Path:
    """The rating-matrix file in ``data_dir`` (a file path is accepted as is)."""
    path = Path(data_dir)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(
            f"data_dir {path} does not exist; point it at a folder holding one of "
            f"{list(RATING_FILE_NAMES)} or at the rating file itself"
        )
    for name in RATING_FILE_NAMES:
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(
        f"no rating matrix in {path}; expected one of {list(RATING_FILE_NAMES)} "
        "(whitespace-separated numbers, one row per user)"
    )


def load_rating_matrix(
    data_dir: str | os.PathLike,
    rating_min: float = 1.0,
    rating_max: float = 5.0,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read a Coat/Yahoo "pseudo ground truth" rating matrix (whitespace-separated text).

    Args:
        data_dir: a folder holding one of :data:`RATING_FILE_NAMES`, or the file itself.
        rating_min, rating_max: the rating scale; every entry must lie in it.
        shape: if given, the (n_users, n_items) the file must have.

    Returns:
        (n_users, n_items) float32 array.

    Raises:
        RatingMatrixError: ragged rows, non-numeric entries, NaN, values off the scale or
            the wrong shape; the message names the row/column and what to do.
    """
    path = find_rating_file(data_dir)
    rows: list[list[float]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                rows.append([float(p) for p in parts])
            except ValueError as exc:
                bad = next(p for p in parts if not _is_float(p))
                raise RatingMatrixError(
                    f"{path} line {lineno}: entry {bad!r} is not a number; the file must "
                    "hold only whitespace-separated numeric ratings, one row per user"
                ) from exc
            if len(rows[-1]) != len(rows[0]):
                raise RatingMatrixError(
                    f"{path} line {lineno} has {len(rows[-1])} entries but the first row has "
                    f"{len(rows[0])}; every row (user) needs one rating per item"
                )
    if not rows:
        raise RatingMatrixError(f"{path} is empty; expected one row of ratings per user")
    mat = np.asarray(rows, dtype=np.float64)
    if shape is not None and mat.shape != tuple(shape):
        raise RatingMatrixError(
            f"{path} holds a {mat.shape[0]} x {mat.shape[1]} matrix but {shape[0]} users x "
            f"{shape[1]} items were requested; drop n_users/n_items or fix the file"
        )
    if not np.all(np.isfinite(mat)):
        r, c = np.argwhere(~np.isfinite(mat))[0]
        raise RatingMatrixError(f"{path}: entry (user {r}, item {c}) is {mat[r, c]}; "
                                "ratings must be finite numbers")
    off = (mat < rating_min) | (mat > rating_max)
    if off.any():
        r, c = np.argwhere(off)[0]
        raise RatingMatrixError(
            f"{path}: entry (user {r}, item {c}) = {mat[r, c]} lies outside the rating scale "
            f"[{rating_min}, {rating_max}]; rescale the file or set rating_min/rating_max"
        )
    if mat.shape[0] < 2 or mat.shape[1] < 2:
        raise RatingMatrixError(f"{path} holds a {mat.shape} matrix; need >= 2 users and items")
    return mat.astype(np.float32)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
