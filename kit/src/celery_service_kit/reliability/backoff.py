"""Retry delays: exponential, capped, with jitter."""

from __future__ import annotations

import random

_random = random.Random()


def retry_countdown(
    retries: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds before retry number ``retries + 1``.

    The delay doubles from ``base`` and stops at ``cap``; "equal jitter" then picks
    it in the upper half of that range, so that retries of many tasks that failed
    together spread out, yet no retry comes back at once (as full jitter's zero
    could) and each delay range lies above the previous one.
    """
    ceiling = min(cap, base * 2.0**retries)
    return ceiling / 2 + (rng or _random).uniform(0, ceiling / 2)
