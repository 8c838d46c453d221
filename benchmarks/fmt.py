"""Fixed number formats of the leaderboard (one place, so every table reads the same)."""

from __future__ import annotations

import math


def fmt(x: float | None, digits: int = 4, sign: bool = False) -> str:
    """``x`` with ``digits`` decimals ("" for None, NaN or infinite); a value that rounds to
    zero is written without a minus sign, so "-0.0000" never appears."""
    if x is None or not math.isfinite(x):
        return ""
    if round(x, digits) == 0:
        x = 0.0
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
