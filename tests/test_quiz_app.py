"""The quiz and progress pages driven through Streamlit's AppTest, on a fake clock and a temp SQLite file.

Covers a full timed session (right, wrong, timeout, scoring, summary), numeric format errors, profile name
errors, persistence across app restarts, two profiles at once, the progress page, and a database that is
unreachable or read-only.
"""

from __future__ import annotations

import json
import pathlib
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

import descent_core as dc
import descent_ui.quiz as quiz_ui
from descent_core.quiz import scoring, section_url, store
from descent_ui import progress as progress_ui

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUIZ_PAGE = str(ROOT / "pages" / "quiz.py")
PROGRESS_PAGE = str(ROOT / "pages" / "progress.py")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.t)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(quiz_ui, "_clock", lambda: fake.t)
    monkeypatch.setattr(quiz_ui, "_wall", fake.wall)
    return fake


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'progress.db'}"
    monkeypatch.setenv(quiz_ui.ENV_DB_URL, url)
    return url


def open_page(path: str = QUIZ_PAGE, seed: int = 7) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    at.session_state["quiz.seed"] = seed
    at.run()
    assert not at.exception, at.exception
    return at


def create_profile(at: AppTest, name: str, where: str = "quiz") -> AppTest:
    at.text_input(key=f"quiz.new_profile_name.{where}").input(name)
    at.button(key=f"quiz.create_profile.{where}").click().run()
    return at


def start(at: AppTest, topics=("momentum", "gd"), n: int = 4, mode: str = "drill", fill_new: bool = True) -> AppTest:
    at.radio(key="quiz.mode").set_value(mode).run()
    at.number_input(key="quiz.n").set_value(n)
    if mode == "drill":
        at.multiselect(key="quiz.topics").set_value(list(topics))
    if mode == "due":
        at.checkbox(key="quiz.fill_new").set_value(fill_new)
    at.button(key="quiz.start").click().run()
    assert not at.exception, at.exception
    return at


def session(at: AppTest):
    return at.session_state["quiz.session"]


def answer(at: AppTest, right: bool) -> AppTest:
    """Answer the current card through its widgets, whatever its kind."""
    s = session(at)
    q, i = s.current(), s.index
    if q.kind in ("choice", "name"):
        pick = q.correct if right else (q.correct + 1) % len(q.options)
        at.button(key=f"quiz.option.{i}.{pick}").click().run()
    elif q.kind == "numeric":
        at.text_input(key=f"quiz.number.{i}").input(repr(q.value if right else q.value * 1.5 + 1))
        at.button(key=f"quiz.submit.{i}").click().run()
    else:
        at.button(key=f"quiz.reveal.{i}").click().run()
        for j in range(len(q.key_points)):
            at.checkbox(key=f"quiz.point.{i}.{j}").set_value(right)
        at.button(key=f"quiz.grade.{i}").click().run()
    assert not at.exception, at.exception
    return at


def next_card(at: AppTest) -> AppTest:
    at.button(key=f"quiz.next.{session(at).index}").click().run()
    return at


def countdown_text(at: AppTest) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def reviews_in(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(store.reviews).order_by(store.reviews.c.id))]
    engine.dispose()
    return rows


# ----- the full timed session ---------------------------------------------------------------------------------
def test_full_timed_session_right_wrong_timeout_scoring_and_summary(clock, db_url):
    began = time.perf_counter()
    at = create_profile(open_page(), "ada")
    assert at.session_state["quiz.profile"] == "ada"
    start(at, n=4)
    s = session(at)
    assert len(s.questions) == 4 and s.phase == "asking"
    limits = [s.time_limits[q.kind] for q in s.questions]

    # The countdown shows the remaining seconds and moves with the clock.
    assert countdown_text(at) == f":material/timer: {int(limits[0])} s left"
    clock.advance(4)
    at.run()
    assert countdown_text(at) == f":material/timer: {int(limits[0]) - 4} s left"

    # Card 1: right after 4 s.
    answer(at, right=True)
    first = s.outcomes[-1]
    expected = scoring.award(True, s.questions[0].difficulty, 4.0, limits[0], streak=1)
    assert first.correct and first.elapsed_s == pytest.approx(4.0)
    assert first.points == expected.total and s.score == expected.total
    assert any("Right!" in e.value for e in at.success)
    next_card(at)

    # Card 2: wrong after 2 s; the streak resets, no points.
    clock.advance(2)
    answer(at, right=False)
    assert not s.outcomes[-1].correct and s.outcomes[-1].points == 0 and s.streak == 0
    assert any("Read more" in m.value for m in at.markdown)
    next_card(at)

    # Card 3: the clock runs out; the next countdown tick records a miss and reruns the page.
    clock.advance(limits[2] + 1)
    at.run()
    assert s.outcomes[-1].timed_out and not s.outcomes[-1].correct
    assert any("Time ran out" in e.value for e in at.error)
    assert not at.get("progress")  # no countdown on the feedback screen
    next_card(at)

    # Card 4: right and slow (within the last quarter of the limit).
    clock.advance(limits[3] * 0.8)
    answer(at, right=True)
    assert s.outcomes[-1].points == scoring.award(True, s.questions[3].difficulty, limits[3] * 0.8, limits[3], 1).total
    next_card(at)

    # Summary: score, accuracy, chart per topic, time per card, missed cards with links.
    assert s.phase == "done"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Score"] == str(first.points + s.outcomes[-1].points)
    assert metrics["Accuracy"] == "50%"
    assert at.get("vega_lite_chart"), "accuracy-per-topic chart missing"
    table = at.dataframe[0].value
    assert list(table["#"]) == [1, 2, 3, 4] and table["result"].str.contains("timeout").sum() == 1
    links = [m.value for m in at.markdown if "](/" in m.value]
    missed = [q for q in s.questions[1:3]]
    for q in missed:
        assert any(f"]({section_url(q.topic)})" in link for link in links)

    # Every review was committed as it happened, with the FSRS rating and the time.
    rows = reviews_in(db_url)
    assert [r["correct"] for r in rows] == [True, False, False, True]
    assert [r["rating"] for r in rows] == [4, 1, 1, 2]  # Easy, Again, Again (timeout), Hard
    assert rows[2]["timed_out"] and rows[2]["elapsed_ms"] == int(limits[2] * 1000)
    engine = sa.create_engine(db_url)
    pid = store.find_profile(engine, "ada")
    sessions = store.load_sessions(engine, pid)
    assert sessions[0]["score"] == s.score and sessions[0]["n_correct"] == 2 and sessions[0]["finished_at"]
    assert set(store.load_states(engine, pid)) == {q.card_id for q in s.questions}
    engine.dispose()

    # Drilling the missed cards starts a new session with exactly those cards.
    at.button(key="quiz.redo_missed").click().run()
    assert [q.card_id for q in session(at).questions] == [q.card_id for q in missed]
    elapsed = time.perf_counter() - began
    print(f"\nfull AppTest session: {elapsed:.2f} s")


def test_numeric_answers_in_the_wrong_format_are_not_counted(clock, db_url):
    at = create_profile(open_page(seed=1), "ada")
    start(at, topics=("adamw",), n=50)
    s = session(at)
    while s.current().kind != "numeric":
        answer(at, right=True)
        next_card(at)
    i = s.index
    at.text_input(key=f"quiz.number.{i}").input("zero point five")
    at.button(key=f"quiz.submit.{i}").click().run()
    assert s.phase == "asking" and len(s.outcomes) == i
    assert any("Could not read" in w.value for w in at.warning)
    at.text_input(key=f"quiz.number.{i}").input("0,5")
    at.button(key=f"quiz.submit.{i}").click().run()
    assert any("dot for decimals" in w.value for w in at.warning)
    answer(at, right=True)
    assert s.outcomes[-1].correct and not at.warning


def test_name_the_optimizer_card_shows_an_unlabelled_race_picture(clock, db_url):
    at = start(create_profile(open_page(seed=4), "ada"), topics=("grand-race",), n=50)
    s = session(at)
    while s.current().kind != "name":
        answer(at, right=False)
        next_card(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = charts[0].proto.spec
    # Nothing in the picture may give the answer away: no optimizer id, name or field.
    assert "optimizer" not in spec
    for opt in s.current().params["choices"]:
        assert f'"{opt}"' not in spec and dc.OPTIMIZERS[opt].name not in spec
    assert len(at.button) >= 4 and all(at.button(key=f"quiz.option.{s.index}.{j}") for j in range(4))
    answer(at, right=True)
    assert s.outcomes[-1].correct


def test_end_session_early_summarises_what_was_answered(clock, db_url):
    at = start(create_profile(open_page(), "ada"), n=5)
    answer(at, right=True)
    at.button(key="quiz.end").click().run()
    assert session(at).phase == "done"
    assert {m.label: m.value for m in at.metric}["Accuracy"] == "100%"
    at.button(key="quiz.new_session").click().run()
    assert session(at) is None and at.button(key="quiz.start")


# ----- profiles -----------------------------------------------------------------------------------------------
def test_empty_and_duplicate_profile_names_are_refused(clock, db_url):
    at = open_page()
    create_profile(at, "   ")
    assert any("cannot be empty" in e.value for e in at.error)
    create_profile(at, "Ada")
    assert at.session_state["quiz.profile"] == "Ada"
    at.selectbox(key="quiz.profile_select.quiz").select(quiz_ui.NEW_PROFILE).run()
    create_profile(at, " ada ")
    assert any("already exists" in e.value for e in at.error)
    assert at.session_state["quiz.profile"] == "Ada"


def test_progress_survives_an_app_restart(clock, db_url):
    at = start(create_profile(open_page(), "ada"), n=3)
    answer(at, right=True)
    next_card(at)
    answer(at, right=False)  # the tab is closed here, mid-session
    del at
    st.cache_resource.clear()  # a restarted server holds no connection and no cached deck
    st.cache_data.clear()

    at = open_page(PROGRESS_PAGE)
    at.selectbox(key="quiz.profile_select.progress").select("ada").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviews"] == "2" and metrics["Accuracy"] == "50%"
    assert len(at.get("vega_lite_chart")) == 2  # reviews per day, accuracy trend
    due_table = at.dataframe[0].value
    assert len(due_table) == 2

    # Due review picks up the stored FSRS states: the missed card is due a minute later.
    clock.advance(120)
    quiz = open_page()
    quiz.selectbox(key="quiz.profile_select.quiz").select("ada").run()
    start(quiz, mode="due", n=5, fill_new=False)
    missed = [r["card_id"] for r in reviews_in(db_url) if not r["correct"]]
    assert [q.card_id for q in session(quiz).questions] == missed


def test_two_profiles_in_two_sessions_do_not_mix(clock, db_url):
    ada = start(create_profile(open_page(seed=1), "ada"), n=3)
    grace = start(create_profile(open_page(seed=2), "grace"), n=3)
    for _ in range(3):  # interleave answers from the two browser sessions
        answer(ada, right=True)
        answer(grace, right=False)
        next_card(ada)
        next_card(grace)
    engine = sa.create_engine(db_url)
    ids = {name: store.find_profile(engine, name) for name in ("ada", "grace")}
    ada_reviews = store.load_reviews(engine, ids["ada"])
    grace_reviews = store.load_reviews(engine, ids["grace"])
    assert [r["correct"] for r in ada_reviews] == [True] * 3
    assert [r["correct"] for r in grace_reviews] == [False] * 3
    assert {r["card_id"] for r in ada_reviews} == {q.card_id for q in session(ada).questions}
    assert {r["card_id"] for r in grace_reviews} == {q.card_id for q in session(grace).questions}
    engine.dispose()


# ----- the progress page: export and import ---------------------------------------------------------------------
def test_progress_page_export_and_import_through_the_ui_helpers(clock, db_url):
    at = start(create_profile(open_page(), "ada"), n=2)
    answer(at, right=True)
    page = open_page(PROGRESS_PAGE)
    page.selectbox(key="quiz.profile_select.progress").select("ada").run()
    assert not page.exception
    assert page.get("download_button"), "export button missing"

    engine = sa.create_engine(db_url)
    pid = store.find_profile(engine, "ada")
    before = store.snapshot(engine, pid)
    exported = json.dumps(store.export_profile(engine, pid, "ada"))
    deck = quiz_ui.load_deck()
    ok, message = progress_ui.import_progress(engine, pid, b"{]", deck)
    assert not ok and "not valid JSON" in message
    ok, message = progress_ui.import_progress(engine, pid, exported.replace('"rating": 4', '"rating": 40').encode(), deck)
    assert not ok and "rating" in message
    assert store.snapshot(engine, pid) == before
    ok, message = progress_ui.import_progress(engine, pid, exported.encode(), deck)
    assert ok and "Imported 1 reviews" in message
    engine.dispose()


# ----- a database that cannot be used -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["unreachable", "read-only"])
def test_quiz_keeps_working_when_progress_cannot_be_saved(clock, tmp_path, monkeypatch, kind):
    if kind == "unreachable":
        url = "sqlite:////proc/descent-no-such-dir/progress.db"
    else:
        path = tmp_path / "ro.db"
        seed_engine = sa.create_engine(f"sqlite:///{path}")
        store.ensure_schema(seed_engine)
        store.create_profile(seed_engine, "ada")
        seed_engine.dispose()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    monkeypatch.setenv(quiz_ui.ENV_DB_URL, url)
    at = open_page()
    assert any("Progress is not being saved" in w.value for w in at.warning)
    start(at, n=2)
    answer(at, right=True)
    next_card(at)
    answer(at, right=False)
    next_card(at)
    assert session(at).phase == "done" and not at.exception
    assert {m.label: m.value for m in at.metric}["Accuracy"] == "50%"
    page = open_page(PROGRESS_PAGE)
    assert any("Progress is not being saved" in w.value for w in page.warning)


def test_a_write_failing_mid_session_switches_to_memory_and_says_so(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), n=3)
    answer(at, right=True)
    next_card(at)

    def locked(*args, **kwargs):
        raise sa.exc.OperationalError("insert", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "record_review", locked)
    answer(at, right=True)
    assert len(session(at).outcomes) == 2 and not at.exception
    assert any("Progress is not being saved" in w.value and "locked" in w.value for w in at.warning)
