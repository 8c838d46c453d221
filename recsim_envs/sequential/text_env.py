"""Text descriptions of a sequential-recommendation state, the way one prompts a language model.

The same function writes ``info["state_text"]`` in the environment and the states that the
iALP agent imagines offline, so that the language-model stub always reads one format:

    User 17: a woman aged 25-34 who says they like jackets and scarfs.
    Recently recommended, oldest first:
    1. Navy Wool Jacket #12 (category jacket, colour navy, material wool) - rated 4/5
    2. ...

``parse_state_text`` reads it back (the stub uses it, so it works from text alone).
"""

from __future__ import annotations

import re

import numpy as np

from recsim_envs.sequential.world import SequentialWorld

_USER_RE = re.compile(r"^User (\d+):", re.MULTILINE)
_ITEM_RE = re.compile(r"^\d+\. (.+?) \(category .*?\) - rated ([0-9.]+)/", re.MULTILINE)


def state_text(
    world: SequentialWorld, user: int, items: np.ndarray, feedback: np.ndarray
) -> str:
    """Describe a user and their recent items in words.

    Args:
        world: the world (only its public catalogue and user features are used).
        user: user id.
        items: (k,) recent item ids, oldest first, padded with ``n_items`` at the front.
        feedback: (k,) the ratings the user gave (0 for padding).

    Returns:
        A multi-line string (see the module docstring).
    """
    lines = [world.describe_user(user)]
    real = np.flatnonzero(np.asarray(items) < world.n_items)
    if real.size == 0:
        lines.append("No items recommended yet in this session.")
    else:
        lines.append("Recently recommended, oldest first:")
        for n, i in enumerate(real, start=1):
            lines.append(
                f"{n}. {world.describe_item(int(items[i]))} - rated {float(feedback[i]):g}/"
                f"{world.rating_max:g}"
            )
    return "\n".join(lines)


def parse_state_text(
    text: str, world: SequentialWorld
) -> tuple[int | None, list[int], list[float]]:
    """Read (user id or None, recent item ids, their ratings) back from :func:`state_text`.

    Item names not in the catalogue are dropped.
    """
    m = _USER_RE.search(text)
    user = int(m.group(1)) if m else None
    if user is not None and not 0 <= user < world.n_users:
        user = None
    items, ratings = [], []
    for name, rating in _ITEM_RE.findall(text):
        j = world.name_to_id.get(name.lower())
        if j is not None:
            items.append(j)
            ratings.append(float(rating))
    return user, items, ratings
