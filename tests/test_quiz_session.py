"""The session state machine on a fake clock: answers, timeouts, streaks, summary, and the mode pickers."""

import random
from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Rating
from hypothesis import given
from hypothesis import strategies as st

from descent_core.quiz import srs
from descent_core.quiz.deck import Card
from descent_core.quiz.session import (
    NumericFormatError,
    PhaseError,
    Question,
    QuizSession,
    build_session,
    parse_number,
    pick_drill,
    pick_due,
    pick_weak,
)

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def choice(card_id="c1", topic="gd", correct=1):
    return Question(card_id, "choice", topic, 1, "p", "a", options=("x", "y", "z"), correct=correct)


def numeric(card_id="n1", value=0.25):
    return Question(card_id, "numeric", "momentum", 2, "p", "a", value=value, rel_tol=0.01)


def explain(card_id="e1"):
    return Question(card_id, "explain", "adam", 3, "p", "a", key_points=("one", "two", "three"))


def started(*questions, limits=None):
    session = QuizSession("drill", list(questions), time_limits=limits or {"choice": 30, "numeric": 60, "explain": 90, "name": 30})
    session.start(now=100.0)
    return session


def test_right_wrong_and_timeout_with_scores_and_streaks():
    s = started(choice("a"), choice("b"), choice("c"), choice("d"))
    right = s.answer_choice(1, now=105.0)  # 5 s of 30: fast
    assert right.correct and right.points == 100 + round(50 * 25 / 30) and right.rating == Rating.Easy
    s.next(now=106.0)
    second = s.answer_choice(1, now=126.0)  # 20 s: normal, streak 2
    assert second.award.streak_bonus == 10 and second.rating == Rating.Good
    s.next(now=127.0)
    wrong = s.answer_choice(0, now=128.0)
    assert not wrong.correct and wrong.points == 0 and s.streak == 0 and wrong.rating == Rating.Again
    s.next(now=130.0)
    assert s.expired(now=160.0)
    late = s.timeout(now=160.0)
    assert late.timed_out and not late.correct and late.elapsed_s == 30 and late.rating == Rating.Again
    s.next(now=161.0)
    assert s.phase == "done"
    summary = s.summary()
    assert summary.answered == 4 and summary.correct == 2 and summary.best_streak == 2
    assert summary.score == right.points + second.points
    assert [q.card_id for q in summary.missed] == ["c", "d"]
    assert summary.per_topic[0].topic == "gd" and summary.per_topic[0].accuracy == 0.5


def test_a_click_after_time_ran_out_is_a_miss():
    s = started(choice())
    outcome = s.answer_choice(1, now=131.0)
    assert outcome.timed_out and not outcome.correct


def test_stale_actions_raise_phase_errors():
    s = started(choice(), choice("c2"))
    s.answer_choice(1, now=101.0)
    with pytest.raises(PhaseError):
        s.answer_choice(1, now=102.0)  # double click
    with pytest.raises(PhaseError):
        s.timeout(now=200.0)  # the countdown firing after the answer


def test_numeric_format_errors_do_not_count_and_keep_the_clock_running():
    s = started(numeric(value=0.25))
    with pytest.raises(NumericFormatError, match="dot for decimals"):
        s.answer_numeric("0,25", now=110.0)
    with pytest.raises(NumericFormatError, match="Could not read"):
        s.answer_numeric("a quarter", now=111.0)
    assert s.phase == "asking" and s.outcomes == []
    outcome = s.answer_numeric("1/4", now=120.0)
    assert outcome.correct and outcome.elapsed_s == 20.0


def test_numeric_tolerance():
    s = started(numeric(value=10.0), numeric("n2", value=10.0))
    assert s.answer_numeric("10.09", now=101).correct
    s.next(now=102)
    assert not s.answer_numeric("10.2", now=103).correct


@pytest.mark.parametrize("text, value", [("0.5", 0.5), (" -1e-3 ", -0.001), ("\u22122", -2.0), ("3/4", 0.75), ("1.5e1", 15.0)])
def test_parse_number_accepts(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "1/0", "inf", "nan", "1,5", "2 x 3"])
def test_parse_number_rejects_with_a_message(text):
    with pytest.raises(NumericFormatError) as err:
        parse_number(text)
    assert str(err.value)


def test_explain_cards_stop_the_clock_on_reveal_and_take_an_fsrs_grade():
    s = started(explain(), explain("e2"), explain("e3"))
    assert s.reveal(now=130.0) is None and s.phase == "grading"
    assert s.remaining(now=10_000.0) == 60.0  # clock frozen after reveal
    with pytest.raises(ValueError, match="1, 2, 3 or 4"):
        s.grade_self(5)
    good = s.grade_self(Rating.Good)
    assert good.correct and good.self_graded and good.rating == Rating.Good and good.elapsed_s == 30.0
    assert good.award.base == 200 and good.award.speed_bonus == 0 and good.response == "Good"
    s.next(now=131.0)
    s.reveal(now=141.0)
    hard = s.grade_self(Rating.Hard)
    assert hard.correct and hard.award.base == 100 and hard.award.speed_bonus == 0  # half credit, no speed
    s.next(now=142.0)
    s.reveal(now=152.0)
    again = s.grade_self(Rating.Again)
    assert not again.correct and again.points == 0 and again.rating == Rating.Again and s.streak == 0


def test_self_grading_cannot_be_gamed_by_revealing_at_once():
    """The attack from the issue: reveal immediately and claim the top grade. It schedules the card, earns nothing."""
    s = started(explain(), explain("e2"))
    s.reveal(now=101.0)  # one second after the card appeared
    easy = s.grade_self(Rating.Easy)
    assert easy.rating == Rating.Easy and easy.points == 0 and easy.award.speed_bonus == 0
    s.next(now=102.0)
    s.reveal(now=102.0 + 40)  # answered aloud for 40 s: Easy earns what Good earns, and never a speed bonus
    honest = s.grade_self(Rating.Easy)
    assert honest.award.base == 200 and honest.award.speed_bonus == 0


@given(st.floats(0, 89), st.sampled_from([1, 2, 3, 4]))
def test_no_speed_bonus_for_self_graded_cards_ever(reveal_after, rating):
    s = started(explain())
    s.reveal(now=100.0 + reveal_after)
    outcome = s.grade_self(rating)
    assert outcome.award.speed_bonus == 0 and outcome.points <= 200 * 1.0
    assert outcome.rating == rating  # the learner's grade is what FSRS gets


def test_machine_checked_answers_keep_their_speed_bonus():
    s = started(choice())
    outcome = s.answer_choice(1, now=103.0)
    assert outcome.award.speed_bonus > 0 and not outcome.self_graded


def test_undo_a_self_grade_to_grade_again_and_withdraw_a_checked_answer():
    s = started(explain(), choice("c2"))
    s.reveal(now=130.0)
    first = s.grade_self(Rating.Again)
    assert s.undo() is first and s.phase == "grading" and s.score == 0
    regraded = s.grade_self(Rating.Good)
    assert s.score == regraded.points and s.streak == 1
    s.next(now=131.0)
    right = s.answer_choice(1, now=133.0)
    s.undo()
    assert s.phase == "withdrawn" and s.score == regraded.points and s.streak == 1 and right not in s.outcomes
    s.next(now=134.0)
    assert s.phase == "done" and s.summary().withdrawn == 1 and s.summary().answered == 1


def test_pause_stops_the_clock_and_hides_the_card():
    s = started(choice())
    s.pause(now=110.0)
    with pytest.raises(PhaseError, match="paused"):
        s.answer_choice(1, now=500.0)
    assert not s.expired(now=10_000.0) and s.remaining(now=10_000.0) == 20.0
    s.resume(now=1_000.0)
    assert s.remaining(now=1_005.0) == 15.0


def test_revealing_after_the_limit_is_a_timeout():
    s = started(explain())
    outcome = s.reveal(now=191.0)
    assert outcome is not None and outcome.timed_out


def test_wrong_kind_of_answer_is_refused():
    s = started(explain())
    with pytest.raises(PhaseError):
        s.answer_choice(0, now=101.0)


@given(st.lists(st.sampled_from(["right", "wrong", "timeout"]), min_size=1, max_size=12))
def test_score_and_streak_invariants(actions):
    s = started(*[choice(f"c{i}") for i in range(len(actions))])
    now, run = 100.0, 0
    for action in actions:
        if action == "timeout":
            s.timeout(now + 31)
        else:
            s.answer_choice(1 if action == "right" else 0, now + 3)
        run = run + 1 if action == "right" else 0
        assert s.streak == run
        now += 40
        s.next(now)
    assert s.phase == "done"
    assert s.score == sum(o.points for o in s.outcomes)
    assert s.summary().correct == actions.count("right")


# ----- pickers ------------------------------------------------------------------------------------------
CARDS = [
    Card(id=f"{topic}-{i}", kind="choice", topic=topic, difficulty=1, prompt="p", answer="a", options=("x", "y"), correct=0)
    for topic in ("gd", "momentum", "adam")
    for i in range(4)
]


def test_drill_respects_topics_and_size():
    picked = pick_drill(CARDS, 3, ["adam"], random.Random(0))
    assert len(picked) == 3 and {c.topic for c in picked} == {"adam"}
    assert len(pick_drill(CARDS, 50, None, random.Random(0))) == len(CARDS)


def test_due_review_takes_overdue_cards_first_then_new_ones():
    sched = srs.make_scheduler(fuzz=False)
    states = {
        "gd-0": srs.review(sched, "gd-0", None, Rating.Again, T0, 5),  # due T0 + 1 min
        "gd-1": srs.review(sched, "gd-1", None, Rating.Easy, T0, 5),  # due days later
        "gd-2": srs.review(sched, "gd-2", None, Rating.Again, T0 - timedelta(hours=1), 5),  # most overdue
    }
    later = T0 + timedelta(hours=1)
    picked = pick_due(CARDS, states, later, 3, random.Random(0), fill_new=False)
    assert [c.id for c in picked] == ["gd-2", "gd-0"]
    filled = pick_due(CARDS, states, later, 4, random.Random(0))
    assert [c.id for c in filled[:2]] == ["gd-2", "gd-0"] and all(c.id not in states for c in filled[2:])


def test_weak_spots_pick_lowest_accuracy_topics_and_missed_cards_first():
    history = [("gd-0", "gd", True), ("gd-1", "gd", True), ("adam-3", "adam", False), ("adam-1", "adam", True),
               ("momentum-2", "momentum", False), ("momentum-1", "momentum", False)]
    picked = pick_weak(CARDS, history, 4, random.Random(1), n_topics=2)
    assert {c.topic for c in picked} <= {"momentum", "adam"}
    assert {c.id for c in picked[:2]} == {"momentum-2", "momentum-1"}
    assert pick_weak(CARDS, [], 4, random.Random(1)) == []


def test_build_session_keeps_card_order_and_merges_limits():
    session = build_session("drill", CARDS[:3], random.Random(0), {"choice": 5})
    assert [q.card_id for q in session.questions] == [c.id for c in CARDS[:3]]
    assert session.time_limits["choice"] == 5 and session.time_limits["explain"] == 90
    with pytest.raises(ValueError):
        build_session("cram", CARDS, random.Random(0))
