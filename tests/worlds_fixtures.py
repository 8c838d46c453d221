"""A tiny interaction table with a known rule, and a world fitted on it, for the tests.

40 users x 36 items, 700 interactions; users of group "a" like items of genre "x", users
of group "b" genre "y" (rating 4-5 with probability 0.85 on a match, 0.15 otherwise), so
a response model that reads the features must reach a held-out AUC well above 0.5.
Timestamps put each user's interactions in sessions of 3-6 items separated by 2 hours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_USERS, N_ITEMS, N_ROWS = 40, 36, 700
FAST_SIMULATOR = {"epochs": 3, "hidden": (16,), "batch_size": 64, "lr": 0.1}


def write_table(folder: Path, seed: int = 0) -> dict[str, Path]:
    """ratings.csv (user,item,rating,timestamp), users.csv, items.csv in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    group = np.where(np.arange(N_USERS) % 2 == 0, "a", "b")
    genre = np.where(np.arange(N_ITEMS) % 2 == 0, "x", "y")
    cells = rng.choice(N_USERS * N_ITEMS, size=N_ROWS, replace=False)
    # every user and item appears at least once
    cells[:N_USERS] = np.arange(N_USERS) * N_ITEMS + np.arange(N_USERS) % N_ITEMS
    cells[N_USERS:N_USERS + N_ITEMS] = (np.arange(N_ITEMS) % N_USERS) * N_ITEMS + np.arange(
        N_ITEMS)
    cells = np.unique(cells)
    user, item = np.divmod(cells, N_ITEMS)
    match = (group[user] == "a") == (genre[item] == "x")
    like = rng.random(len(cells)) < np.where(match, 0.85, 0.15)
    rating = np.where(like, rng.integers(4, 6, len(cells)), rng.integers(1, 4, len(cells)))
    order = np.lexsort((rng.random(len(cells)), user))
    user, item, rating = user[order], item[order], rating[order]
    pos = np.arange(len(user)) - np.searchsorted(user, user)  # rank within the user
    session_len = 3 + (user % 4)  # users' sessions hold 3, 4, 5 or 6 items
    ts = 880_000_000 + user * 10_000_000 + (pos // session_len) * 7200 + (pos % session_len) * 60
    lines = ["user,item,rating,timestamp"] + [
        f"u{u},i{i},{r},{t}" for u, i, r, t in zip(user, item, rating, ts, strict=True)]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    ages = rng.integers(18, 70, N_USERS)
    (folder / "users.csv").write_text("user,age,group\n" + "\n".join(
        f"u{u},{ages[u]},{group[u]}" for u in range(N_USERS)) + "\n")
    years = rng.integers(1950, 2020, N_ITEMS)
    (folder / "items.csv").write_text("item,year,genre\n" + "\n".join(
        f"i{i},{years[i]},{genre[i]}" for i in range(N_ITEMS)) + "\n")
    return {"ratings": folder / "ratings.csv", "users": folder / "users.csv",
            "items": folder / "items.csv"}


def fitted_world_dir(root: Path) -> Path:
    """A world fitted on :func:`write_table`'s files, saved once under ``root``."""
    from recsim_envs.worlds import fit, read_table

    out = root / "tiny-world"
    if (out / "manifest.json").is_file():
        return out
    files = write_table(root / "tiny-table")
    table = read_table(files["ratings"], user_features=files["users"],
                       item_features=files["items"])
    fit(table, seed=0, simulator=FAST_SIMULATOR, progress=False).save(out, overwrite=True)
    return out
