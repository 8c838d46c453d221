"""Small, fast settings for every registered environment, used by the registry-wide tests.

``CASES`` maps an environment id to a function of a temporary directory that returns the
``gymnasium.make`` keyword arguments of a small test instance (writing any data files it
needs into that directory). Every registered id must have an entry: the registry test
fails for an id without one, so a new environment cannot skip the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CASES: dict[str, Callable[[Path], dict[str, Any]]] = {}

# --- two-stage family (issue 2) ---
CASES["recsim_envs/TwoStageSynthetic-v0"] = lambda tmp: {"n_items": 200, "n_candidates": 10}
CASES["recsim_envs/TwoStageSynthetic-v0/slate-session"] = lambda tmp: {
    "n_items": 100, "n_candidates": 8, "slate_size": 3, "session_length": 4,
}


# --- two-stage family: MovieLens (issue 2) ---
def _movielens_case(tmp: Path) -> dict[str, Any]:
    """Tiny ML-100K-format files written into ``tmp``; the trained-simulator cache sits in
    ``tmp``'s parent (pytest's per-session folder), so it is trained once per test session."""
    from tests.movielens_fixtures import write_ml100k

    folder = tmp / "movielens"
    if not (folder / "u.data").is_file():
        write_ml100k(folder)
    return {"data_dir": str(folder), "cache_dir": str(tmp.parent / "movielens-cache"),
            "n_candidates": 10}


CASES["recsim_envs/TwoStageMovieLens-v0"] = _movielens_case
CASES["recsim_envs/TwoStageMovieLens-v0/slate-session"] = lambda tmp: {
    **_movielens_case(tmp), "slate_size": 3, "session_length": 4, "binary_truth": True,
}
CASES["recsim_envs/TwoStagePaper-v0"] = _movielens_case  # the paper's protocol (issue 12)

# --- prompt-to-sentence family (issue 4) ---
CASES["recsim_envs/PromptSentence-v0"] = lambda tmp: {"n_prompts": 20, "n_eval": 200}
CASES["recsim_envs/PromptSentenceText-v0"] = lambda tmp: {
    "n_prompts": 12, "n_mc": 4, "n_eval": 200,
}
CASES["recsim_envs/PromptSentenceParaphrase-v0"] = lambda tmp: {
    "n_prompts": 40, "n_mc": 4, "n_eval": 200,
}

# --- sequential family (issue 5) ---
CASES["recsim_envs/SequentialRec-v0"] = lambda tmp: {"n_users": 40, "n_items": 30,
                                                     "max_turns": 8}
CASES["recsim_envs/SequentialRec-v0/distance-click"] = lambda tmp: {
    "n_users": 40, "n_items": 30, "quit_rule": "distance", "reward_type": "click",
}


def _sequential_file_case(tmp: Path) -> dict[str, Any]:
    """A 12 x 9 rating matrix in the Coat/Yahoo pseudo-ground-truth text format."""
    import numpy as np

    path = tmp / "seq_ratings" / "ratings.txt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        mat = 1 + (np.arange(12 * 9).reshape(12, 9) * 7) % 5
        path.write_text("\n".join(" ".join(str(v) for v in row) for row in mat) + "\n")
    return {"data_dir": str(path.parent), "max_turns": 6}


CASES["recsim_envs/SequentialRec-v0/rating-file"] = _sequential_file_case


# --- worlds fitted to a user's own logs (issue 11) ---
def _fitted_world_case(tmp: Path) -> dict[str, Any]:
    """A world fitted on a tiny table; saved in ``tmp``'s parent (pytest's per-session
    folder), so it is fitted once per test session."""
    from tests.worlds_fixtures import fitted_world_dir

    return {"world": str(fitted_world_dir(tmp.parent))}


CASES["recsim_envs/TwoStageFromWorld-v0"] = lambda tmp: {
    **_fitted_world_case(tmp), "n_candidates": 10}
CASES["recsim_envs/TwoStageFromWorld-v0/slate-session"] = lambda tmp: {
    **_fitted_world_case(tmp), "n_candidates": 8, "slate_size": 3, "session_length": 4}
CASES["recsim_envs/SequentialFromWorld-v0"] = lambda tmp: {
    **_fitted_world_case(tmp), "max_turns": 8}
CASES["recsim_envs/SequentialFromWorld-v0/click"] = lambda tmp: {
    **_fitted_world_case(tmp), "reward_type": "click", "history_len": 3}
# --- the learner interface: item-feature keys (issue 19) ---
CASES["recsim_envs/SequentialRec-v0/item-features"] = lambda tmp: {
    "n_users": 40, "n_items": 30, "max_turns": 8, "item_features": True}
CASES["recsim_envs/SequentialFromWorld-v0/item-features"] = lambda tmp: {
    **_fitted_world_case(tmp), "max_turns": 8, "item_features": True}
