"""Points: base by difficulty, a speed bonus that falls to zero at the limit, a capped streak bonus."""

from hypothesis import given
from hypothesis import strategies as st

from descent_core.quiz.scoring import BASE_POINTS, NO_POINTS, award, speed_class


def test_worked_examples():
    # Instant, first in a streak: base 100 + half again for speed.
    assert award(True, 1, 0.0, 30.0, streak=1).total == 150
    # Half the time used, third in a row: 150 + 150*0.5*0.5 + 150*0.2.
    a = award(True, 2, 15.0, 30.0, streak=3)
    assert (a.base, a.speed_bonus, a.streak_bonus) == (150, 38, 30)
    # At the limit: no speed bonus; a long streak is capped at +50%.
    assert award(True, 3, 30.0, 30.0, streak=40).total == 300
    assert award(False, 3, 1.0, 30.0, streak=5) == NO_POINTS


def test_explain_credit_scales_the_base():
    assert award(True, 2, 30.0, 30.0, streak=1, credit=2 / 3).base == 100


@given(
    st.integers(1, 3),
    st.floats(0, 60),
    st.floats(0, 60),
    st.integers(1, 50),
)
def test_faster_never_scores_less(difficulty, t1, t2, streak):
    fast, slow = sorted((t1, t2))
    assert award(True, difficulty, fast, 60.0, streak).total >= award(True, difficulty, slow, 60.0, streak).total
    assert BASE_POINTS[difficulty] <= award(True, difficulty, slow, 60.0, streak).total <= 2 * BASE_POINTS[difficulty]


def test_speed_classes():
    assert [speed_class(t, 30) for t in (5, 10, 15, 22.5, 30)] == ["fast", "fast", "normal", "slow", "slow"]
