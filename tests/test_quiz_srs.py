"""FSRS: answers map onto ratings, reviews move due dates as fsrs says, states are strict, recall is forecast with
fractional days, the review load grows with the retention target, and weights fit a person's own history."""

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


def test_recall_is_forecast_with_fractional_days_not_whole_ones():
    """fsrs's own retrievability says 100% for the whole first day; a card failed an hour ago is not that safe."""
    sched = srs.make_scheduler(fuzz=False)
    failed = srs.review(sched, "c", None, Rating.Again, T0, 8.0)
    an_hour_later, twenty_hours_later = T0 + timedelta(hours=1), T0 + timedelta(hours=20)
    assert sched.get_card_retrievability(srs.state_from_dict(failed), twenty_hours_later) == 1.0
    assert srs.recall_now(sched, failed, an_hour_later) < 1.0
    assert srs.recall_now(sched, failed, twenty_hours_later) < 0.9 < srs.recall_now(sched, failed, an_hour_later)
    # At t = S the curve passes through 90%, whatever the weights.
    assert srs.recall_probability(srs.DEFAULT_PARAMETERS, 3.0, 3.0) == pytest.approx(0.9)


@pytest.mark.parametrize("field, value, message", [
    ("step", 1.5, "step must be a whole number"), ("step", True, "step"), ("stability", float("nan"), "finite"),
    ("stability", -1.0, "stability"), ("stability", float("inf"), "finite"), ("difficulty", 0.5, "difficulty"),
    ("state", 0, "state"), ("due", "0001-01-01T00:00:00+01:00", "between 2000 and 2200"), ("due", 17, "ISO"),
    ("last_review", "2025-13-01", "ISO"), ("extra", 1, "unknown field"),
])
def test_states_that_would_break_fsrs_are_refused_by_name(field, value, message):
    sched = srs.make_scheduler(fuzz=False)
    state = srs.review(sched, "c", srs.review(sched, "c", None, Rating.Good, T0, 5.0), Rating.Good, T0 + timedelta(days=1), 5.0)
    with pytest.raises(srs.StateError, match=message):
        srs.state_from_dict(dict(state, **{field: value}))


def test_every_accepted_state_can_be_reviewed_with_every_rating():
    sched = srs.make_scheduler(fuzz=True)
    states = [srs.new_state("c", T0).to_dict(),
              {"card_id": 1, "state": 1, "step": srs.MAX_STEP, "stability": srs.MAX_STABILITY_DAYS, "difficulty": 10.0,
               "due": "2199-12-31T00:00:00+00:00", "last_review": "2000-01-01T00:00:00+00:00"},
              {"card_id": 1, "state": 3, "step": 0, "stability": srs.STABILITY_MIN, "difficulty": 1.0,
               "due": "2000-01-01T00:00:00+00:00", "last_review": "2000-01-01T00:00:00+00:00"}]
    for state in states:
        checked = srs.checked_state(state, "c")
        for rating in Rating:
            after = srs.review(sched, "c", checked, rating, T0, 3.0)
            assert srs.checked_state(after, "c") == after


def test_a_higher_retention_target_means_more_reviews_a_day():
    sched = srs.make_scheduler(fuzz=False)
    states, now = [], T0
    for i in range(30):
        state = None
        for k in range(3):
            state = srs.review(sched, f"c{i}", state, Rating.Good, T0 + timedelta(days=k * (i % 4 + 1)), 5.0)
        states.append(state)
    later = T0 + timedelta(days=20)
    loads = [srs.daily_review_load(srs.DEFAULT_PARAMETERS, r, states, later, days=60, new_cards=20)
             for r in (0.70, 0.80, 0.90, 0.97)]
    assert loads == sorted(loads) and loads[-1] > 2 * loads[0]
    with pytest.raises(ValueError, match="between 0.70 and 0.97"):
        srs.daily_review_load(srs.DEFAULT_PARAMETERS, 0.99, states, later)


def simulated_history(weights, n_cards=70, reviews_each=11, seed=0):
    """A learner whose memory follows FSRS with `weights`, studying on the schedule the app gives with the default
    weights (as a new user does): each recall is drawn from the true model's forecast at that moment."""
    import random

    rng = random.Random(seed)
    truth, app = srs.make_scheduler(weights, fuzz=False), srs.make_scheduler(fuzz=False)
    history = []
    for c in range(n_cards):
        card_id, known, shown, when = f"card-{c}", None, None, T0 + timedelta(hours=rng.random() * 24)
        for _ in range(reviews_each):
            p = srs.recall_now(truth, known, when) if known else 0.6
            rating = Rating.Good if rng.random() < p else Rating.Again
            history.append(srs.PastReview(card_id, when, int(rating)))
            known = srs.review(truth, card_id, known, rating, when, 5.0)
            shown = srs.review(app, card_id, shown, rating, when, 5.0)
            when = srs.due_at(shown) + timedelta(hours=rng.random() * 48)
    return history


def forgetful_weights():
    weights = list(srs.DEFAULT_PARAMETERS)
    weights[:4] = [0.05, 0.1, 0.3, 1.0]  # first stabilities far below the defaults'
    weights[8] = 1.0  # and stability grows more slowly after each success
    return weights


def test_weights_fitted_to_a_history_predict_it_better_than_the_defaults():
    history = simulated_history(forgetful_weights())
    assert srs.fit_ready_count(history) >= srs.MIN_REVIEWS_TO_FIT
    report = srs.fit_parameters(history)
    print(f"\nfit on {report.reviews_used} reviews: log-loss {report.loss_before:.4f} -> {report.loss_after:.4f}")
    assert report.improved and report.loss_after < report.loss_before - 0.01
    assert report.reviews_used == srs.log_loss(report.parameters, history)[1] >= srs.MIN_REVIEWS_TO_FIT
    assert report.loss_before == pytest.approx(srs.log_loss(srs.DEFAULT_PARAMETERS, history)[0])
    srs.check_parameters(list(report.parameters))
    assert report.parameters[0] < srs.DEFAULT_PARAMETERS[0]  # it learned that this learner forgets sooner
    with pytest.raises(ValueError, match="needs 512 reviews"):
        srs.fit_parameters(history[:100])


def test_forecasts_pair_each_repeat_review_with_its_prediction():
    history = simulated_history(srs.DEFAULT_PARAMETERS, n_cards=5, reviews_each=4)
    paired = srs.forecasts(srs.DEFAULT_PARAMETERS, history)
    assert len(paired) == 5 * 3 and all(0 < f.predicted <= 1 for f in paired)
    assert [f.reviewed_at for f in paired] == sorted(f.reviewed_at for f in paired)


def test_naive_datetimes_are_read_as_utc():
    assert srs.utc(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_retention_over_time_compares_actual_and_predicted_recall_per_week():
    history = simulated_history(srs.DEFAULT_PARAMETERS, n_cards=20, reviews_each=5)
    points = srs.retention_over_time(srs.DEFAULT_PARAMETERS, history)
    repeats = len(srs.forecasts(srs.DEFAULT_PARAMETERS, history))
    assert sum(p.reviews for p in points) == repeats == 20 * 4  # first sightings are not retention
    assert [p.start for p in points] == sorted(p.start for p in points)
    assert all(p.start.weekday() == points[0].start.weekday() for p in points)  # 7-day periods on one grid
    assert all(0 <= p.actual <= 1 and 0 < p.predicted <= 1 for p in points)
    daily = srs.retention_over_time(srs.DEFAULT_PARAMETERS, history, period_days=1)
    assert len(daily) >= len(points) and sum(p.recalled for p in daily) == sum(p.recalled for p in points)
    with pytest.raises(ValueError):
        srs.retention_over_time(srs.DEFAULT_PARAMETERS, history, period_days=0)
