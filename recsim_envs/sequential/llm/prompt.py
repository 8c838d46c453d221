"""Prompts for a language model that plays the user: state text plus a candidate list."""

from __future__ import annotations

import re
from collections.abc import Sequence

_CAND_RE = re.compile(r"^- (.+?) \(category ", re.MULTILINE)
_N_RE = re.compile(r"List up to (\d+) item names")

HEADER = "You are simulating a customer of an online clothing shop."


def build_prompt(state_text: str, candidate_texts: Sequence[str], n_answer: int = 5) -> str:
    """The prompt: who the user is and what they saw, the candidates, and the question.

    Args:
        state_text: :func:`recsim_envs.sequential.text_env.state_text` of the user.
        candidate_texts: one description per candidate item (name and attributes, as
            :meth:`SequentialWorld.describe_item` writes them).
        n_answer: how many items the answer may list.
    """
    if n_answer < 1:
        raise ValueError(f"n_answer must be >= 1, got {n_answer}")
    lines = [HEADER, state_text, "Candidate items:"]
    lines += [f"- {c}" for c in candidate_texts]
    lines.append(
        f"Which candidate items would this user most like to be shown next? "
        f"List up to {n_answer} item names, best first, one per line."
    )
    return "\n".join(lines)


def parse_prompt_candidates(prompt: str) -> tuple[list[str], int]:
    """Candidate names and the requested answer length, read back from a prompt."""
    m = _N_RE.search(prompt)
    return _CAND_RE.findall(prompt), int(m.group(1)) if m else 5
