"""FSRS mapping: answers map onto ratings, and reviews move due dates as fsrs says, on a fixed clock."""

from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Rating, State
from hypothesis import given
from hypothesis import strategies as st

from descent_core.quiz import srs
from descent_core.quiz.scoring import FAST_SHARE, SLOW_SHARE

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
LIMIT = 30.0


@pytest.mark.parametrize(
    "correct, timed_out, elapsed, expected",
    [
        (False, True, LIMIT, Rating.Again),
        (False, False, 3.0, Rating.Again),
        (True, False, 0.9 * LIMIT, Rating.Hard),
        (True, False, 0.5 * LIMIT, Rating.Good),
        (True, False, 0.1 * LIMIT, Rating.Easy),
    ],
)
def test_rating_map(correct, timed_out, elapsed, expected):
    assert srs.rating_for(correct, timed_out, elapsed, LIMIT) == expected


@given(st.booleans(), st.floats(0, 1))
def test_rating_is_monotone_in_speed(correct, share):
    """A faster right answer never earns a lower rating; any wrong answer is Again."""
    slower = srs.rating_for(correct, False, min(1.0, share + 0.2) * LIMIT, LIMIT)
    faster = srs.rating_for(correct, False, share * LIMIT, LIMIT)
    assert faster >= slower
    if not correct:
        assert faster == Rating.Again


def test_thresholds_are_the_scoring_ones():
    assert srs.rating_for(True, False, FAST_SHARE * LIMIT, LIMIT) == Rating.Easy
    assert srs.rating_for(True, False, SLOW_SHARE * LIMIT, LIMIT) == Rating.Hard


def test_reviews_schedule_like_fsrs_itself_with_a_fixed_clock():
    """Our wrapper must give exactly what fsrs.Scheduler.review_card gives, duration included."""
    sched = srs.make_scheduler(fuzz=False)
    state = srs.review(sched, "gd-step", None, Rating.Good, T0, elapsed_s=12.5)
    reference = srs.new_state("gd-step", T0)
    reference, log = sched.review_card(reference, Rating.Good, review_datetime=T0, review_duration=12500)
    assert state == reference.to_dict()
    assert log.review_duration == 12500
    assert state["card_id"] == srs.fsrs_id("gd-step")


def test_again_comes_back_sooner_than_easy_and_due_dates_are_deterministic():
    sched = srs.make_scheduler(fuzz=False)
    due = {}
    for rating in Rating:
        state = srs.review(sched, "c", None, rating, T0, 5.0)
        due[rating] = srs.due_at(state)
    assert due[Rating.Again] < due[Rating.Hard] <= due[Rating.Good] < due[Rating.Easy]
    assert due[Rating.Again] - T0 == timedelta(minutes=1)  # first learning step
    assert due[Rating.Easy] - T0 >= timedelta(days=1)  # Easy graduates straight to Review
    again = [srs.due_at(srs.review(sched, "c", None, Rating.Easy, T0, 5.0)) for _ in range(3)]
    assert len(set(again)) == 1  # fuzzing off: same input, same date


def test_a_card_reviewed_over_days_graduates_and_intervals_grow():
    sched = srs.make_scheduler(fuzz=False)
    state, now, intervals = None, T0, []
    for _ in range(5):
        state = srs.review(sched, "c", state, Rating.Good, now, 8.0)
        due = srs.due_at(state)
        intervals.append(due - now)
        now = due
    assert state["state"] == State.Review
    review_intervals = intervals[2:]
    assert review_intervals == sorted(review_intervals) and review_intervals[-1] > review_intervals[0]


def test_retention_estimate_falls_with_time_and_ignores_unreviewed_cards():
    sched = srs.make_scheduler(fuzz=False)
    state = srs.review(sched, "c", None, Rating.Good, T0, 8.0)
    fresh = srs.new_state("d", T0).to_dict()
    soon = srs.retention_estimate(sched, [state, fresh], T0 + timedelta(days=1))
    later = srs.retention_estimate(sched, [state, fresh], T0 + timedelta(days=30))
    assert 0 < later < soon <= 1
    assert srs.retention_estimate(sched, [fresh], T0) is None


def test_naive_datetimes_are_read_as_utc():
    assert srs.utc(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=timezone.utc)
