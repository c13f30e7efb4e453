"""Points for one answer: a base by difficulty, a speed bonus, a streak bonus.

Speed also feeds the spaced-repetition rating (srs.py), so the thresholds live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_POINTS = {1: 100, 2: 150, 3: 200}
# A correct answer given instantly earns half its base again; the bonus falls linearly to 0 at the limit.
SPEED_BONUS_SHARE = 0.5
# Each consecutive correct answer after the first adds 10% of the base, capped at +50%.
STREAK_STEP = 0.1
STREAK_CAP = 0.5
# Fractions of the time limit that separate fast / normal / slow answers.
FAST_SHARE = 1 / 3
SLOW_SHARE = 3 / 4


@dataclass(frozen=True)
class Award:
    base: int
    speed_bonus: int
    streak_bonus: int

    @property
    def total(self) -> int:
        return self.base + self.speed_bonus + self.streak_bonus


NO_POINTS = Award(0, 0, 0)


def speed_class(elapsed_s: float, limit_s: float) -> str:
    """'fast', 'normal' or 'slow', relative to the card's time limit."""
    share = elapsed_s / limit_s if limit_s > 0 else 1.0
    if share <= FAST_SHARE:
        return "fast"
    if share >= SLOW_SHARE:
        return "slow"
    return "normal"


def award(correct: bool, difficulty: int, elapsed_s: float, limit_s: float, streak: int, credit: float = 1.0) -> Award:
    """Points for one answer.

    `streak` counts consecutive correct answers including this one; `credit` in [0, 1] scales the
    base for self-graded explain cards (the share of key points the user said).
    """
    if not correct:
        return NO_POINTS
    base = round(BASE_POINTS[difficulty] * max(0.0, min(1.0, credit)))
    left = max(0.0, 1.0 - elapsed_s / limit_s) if limit_s > 0 else 0.0
    speed = round(base * SPEED_BONUS_SHARE * left)
    streak_bonus = round(base * min(STREAK_STEP * max(0, streak - 1), STREAK_CAP))
    return Award(base, speed, streak_bonus)
