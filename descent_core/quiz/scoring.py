"""Points for one answer: a base by difficulty, a speed bonus where the machine checks, a streak bonus.

Speed also feeds the spaced-repetition rating of machine-checked cards (srs.py), so the thresholds live here once.
Self-graded cards (explain aloud) earn points from the learner's own FSRS grade and never a speed bonus: the clock
cannot tell a fast answer from a fast click on "reveal".
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
# Share of the base a self-grade earns, by FSRS rating (1 Again, 2 Hard, 3 Good, 4 Easy). Easy earns what Good
# earns: it changes the schedule, not the score, so there is nothing to gain from over-grading.
SELF_GRADE_CREDIT = {1: 0.0, 2: 0.5, 3: 1.0, 4: 1.0}
# Revealing the model answer sooner than this cannot follow an answer said aloud: the grade still schedules the
# card, but it earns no points.
QUICK_REVEAL_S = 5.0


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


def award(correct: bool, difficulty: int, elapsed_s: float, limit_s: float, streak: int, credit: float = 1.0,
          speed_bonus: bool = True) -> Award:
    """Points for one answer.

    `streak` counts consecutive correct answers including this one; `credit` in [0, 1] scales the base (a
    self-grade's share); `speed_bonus` is False for answers the machine did not check.
    """
    if not correct:
        return NO_POINTS
    base = round(BASE_POINTS[difficulty] * max(0.0, min(1.0, credit)))
    left = max(0.0, 1.0 - elapsed_s / limit_s) if limit_s > 0 else 0.0
    speed = round(base * SPEED_BONUS_SHARE * left) if speed_bonus else 0
    streak_bonus = round(base * min(STREAK_STEP * max(0, streak - 1), STREAK_CAP))
    return Award(base, speed, streak_bonus)


def self_graded_award(rating: int, difficulty: int, reveal_s: float, streak: int) -> Award:
    """Points for an explain-aloud card graded by the learner: by grade, no speed bonus, none for a quick reveal."""
    if reveal_s < QUICK_REVEAL_S:
        return NO_POINTS
    credit = SELF_GRADE_CREDIT[rating]
    return award(credit > 0, difficulty, reveal_s, 0.0, streak, credit=credit, speed_bonus=False)
