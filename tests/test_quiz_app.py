"""The quiz and progress pages driven through Streamlit's AppTest (opened through app.py), on a fake clock, each
store-touching test on a temp SQLite file and on a PostgreSQL schema (`store_url` in tests/conftest.py).

Covers a full timed session (right, wrong, timeout, scoring, summary), self-graded cards on FSRS's scale with no
speed bonus, undo, pause, numeric and formula answers, profiles in each access mode (local, shared with
passphrases, signed in) and that nobody reaches another's progress, the answer committed before rendering, reload
resume through the URL token, topic links, the Progress page's tools, and a database that fails.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

import descent_core as dc
from descent_core.quiz import load_deck, profiles, scoring, srs, store, topic_url, transfer
from descent_ui import progress as progress_ui
from descent_ui import progress_store, quiz_flow
from descent_ui import quiz as quiz_ui

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
QUIZ_PAGE = "pages/quiz.py"
PROGRESS_PAGE = "pages/progress.py"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
SECRET = "correct horse battery"


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
    monkeypatch.setattr(quiz_flow, "_clock", lambda: fake.t)
    monkeypatch.setattr(quiz_flow, "_wall", fake.wall)
    return fake


@pytest.fixture
def db_url(store_url, monkeypatch):
    """The progress database of the test, SQLite then PostgreSQL, as the app finds it (DESCENT_DB_URL)."""
    monkeypatch.setenv(progress_store.ENV_DB_URL, store_url)
    return store_url


LOCAL = {"descent": {"shared": False}}  # a single user's own PostgreSQL: a local run, said in the secrets


def on_postgres() -> bool:
    return os.environ.get(progress_store.ENV_DB_URL, "").startswith("postgresql")


def open_page(path: str = QUIZ_PAGE, seed: int = 7, secrets: dict | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["quiz.seed"] = seed
    if secrets is None and on_postgres():  # PostgreSQL alone means a shared store; the local-mode tests say local
        secrets = LOCAL
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(path)
    at.run()
    assert not at.exception, at.exception
    return at


SHARED = {"descent": {"shared": True}}


def create_profile(at: AppTest, name: str, where: str = "quiz", passphrase: str = "") -> AppTest:
    at.text_input(key=f"store.new_name.{where}").input(name)
    at.text_input(key=f"store.new_pass.{where}").input(passphrase)
    at.button(key=f"store.create.{where}").click().run()
    return at


def open_shared(at: AppTest, name: str, passphrase: str, where: str = "quiz") -> AppTest:
    at.text_input(key=f"store.open_name.{where}").input(name)
    at.text_input(key=f"store.open_pass.{where}").input(passphrase)
    at.button(key=f"store.open.{where}").click().run()
    return at


def profile_of(at: AppTest):
    return at.session_state["store.profile"] if "store.profile" in at.session_state else None


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


def answer(at: AppTest, right: bool, clock: FakeClock | None = None) -> AppTest:
    """Answer the current card through its widgets, whatever its kind."""
    s = session(at)
    q, i = s.current(), s.index
    if q.kind in ("choice", "name"):
        pick = q.correct if right else (q.correct + 1) % len(q.options)
        at.button(key=f"quiz.option.{i}.{pick}").click().run()
    elif q.kind == "numeric":
        at.text_input(key=f"quiz.typed.{i}").input(repr(q.value if right else q.value * 1.5 + 1))
        at.button(key=f"quiz.submit.{i}").click().run()
    elif q.kind == "formula":
        at.text_input(key=f"quiz.typed.{i}").input(q.expression if right else f"({q.expression}) * 2 + 1")
        at.button(key=f"quiz.submit.{i}").click().run()
    else:
        at.button(key=f"quiz.reveal.{i}").click().run()
        at.button(key=f"quiz.grade.{i}.{3 if right else 1}").click().run()
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


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url)


def players(at: AppTest) -> list[dict]:
    found = []
    for element in at.get("bidi_component"):
        proto = element.proto
        if proto.component_name == "descent.race_player":
            found.append(json.loads(proto.mixed.json if proto.WhichOneof("data") == "mixed" else proto.json))
    return found


# ----- the full timed session ---------------------------------------------------------------------------------
def test_full_timed_session_right_wrong_timeout_scoring_and_summary(clock, db_url):
    began = time.perf_counter()
    at = create_profile(open_page(), "ada")
    assert profile_of(at).name == "ada"
    start(at, n=4)
    s = session(at)
    assert len(s.questions) == 4 and s.phase == "asking"
    limits = [s.time_limits[q.kind] for q in s.questions]

    # The countdown shows the remaining seconds and moves with the clock.
    assert countdown_text(at) == f":material/timer: {int(limits[0])} s left"
    clock.advance(6)
    at.run()
    assert countdown_text(at) == f":material/timer: {int(limits[0]) - 6} s left"

    # Card 1: right after 6 s.
    answer(at, right=True)
    first = s.outcomes[-1]
    assert first.correct and first.elapsed_s == pytest.approx(6.0) and s.score == first.points
    if not first.self_graded:
        assert first.points == scoring.award(True, s.questions[0].difficulty, 6.0, limits[0], streak=1).total
        assert any("Right!" in e.value for e in at.success)
    else:
        assert first.award.speed_bonus == 0 and any("no speed bonus" in e.value for e in at.success)
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
    if not s.outcomes[-1].self_graded:
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
        assert any(f"]({topic_url(q.topic)})" in link for link in links)

    # Every review was committed as it happened, with the FSRS rating and the time.
    rows = reviews_in(db_url)
    assert [r["correct"] for r in rows] == [True, False, False, True]
    assert [r["rating"] for r in rows] == [o.rating for o in s.outcomes]
    assert rows[1]["rating"] == 1 and rows[2]["rating"] == 1  # Again, Again (timeout)
    assert rows[2]["timed_out"] and rows[2]["elapsed_ms"] == int(limits[2] * 1000)
    engine = engine_for(db_url)
    pid = profiles.find_profile(engine, "ada")
    sessions = store.load_sessions(engine, pid)
    assert sessions[0]["score"] == s.score and sessions[0]["n_correct"] == 2 and sessions[0]["finished_at"]
    assert set(store.load_states(engine, pid)) == {q.card_id for q in s.questions}
    engine.dispose()

    # Drilling the missed cards starts a new session with exactly those cards.
    at.button(key="quiz.redo_missed").click().run()
    assert [q.card_id for q in session(at).questions] == [q.card_id for q in missed]
    print(f"\nfull AppTest session: {time.perf_counter() - began:.2f} s")


def first_of_kind(at: AppTest, kind: str):
    s = session(at)
    while s.current().kind != kind:
        answer(at, right=True)
        next_card(at)
    return s


def test_explain_cards_are_graded_again_hard_good_easy_without_speed_bonus_and_undone(clock, db_url):
    at = start(create_profile(open_page(seed=3), "ada"), topics=("adam",), n=50)
    s = first_of_kind(at, "explain")
    i = s.index
    assert not at.get("checkbox"), "explain cards are graded on FSRS's scale, not by ticking points"
    clock.advance(1)
    at.button(key=f"quiz.reveal.{i}").click().run()
    labels = [b.label for b in at.button if b.key and b.key.startswith(f"quiz.grade.{i}.")]
    assert labels == ["1 · Again", "2 · Hard", "3 · Good", "4 · Easy"]
    # Revealing at once and grading Easy earns nothing: the old "Right! +222 (speed +72) in 3 s" is gone.
    at.button(key=f"quiz.grade.{i}.4").click().run()
    quick = s.outcomes[-1]
    assert quick.rating == 4 and quick.points == 0 and quick.award.speed_bonus == 0
    assert any("no points" in m.value for m in at.success)
    # Undo the grade (a mis-press), then grade again after a proper answer time.
    before = len(reviews_in(db_url))
    at.button(key=f"quiz.undo.{i}").click().run()
    assert s.phase == "grading" and len(reviews_in(db_url)) == before - 1
    s.frozen_elapsed = 20.0
    at.button(key=f"quiz.grade.{i}.3").click().run()
    good = s.outcomes[-1]
    assert good.rating == 3 and good.award.base > 0 and good.award.speed_bonus == 0
    rows = reviews_in(db_url)
    assert rows[-1]["rating"] == 3 and len(rows) == before


def test_undo_is_refused_politely_when_another_tab_reviewed_the_card(clock, db_url):
    at = start(create_profile(open_page(seed=3), "ada"), topics=("momentum",), n=3)
    s = session(at)
    answer(at, right=True)
    card = s.outcomes[-1].card_id
    engine = engine_for(db_url)
    pid = profiles.find_profile(engine, "ada")
    other = store.ReviewRow(card, s.outcomes[-1].topic, T0 + timedelta(days=1), 3, True, False, 1000, 0)
    store.record_review(engine, pid, other, lambda before: srs.review(srs.make_scheduler(), card, before, 3,
                                                                      T0 + timedelta(days=1), 1.0))
    at.button(key=f"quiz.undo.{s.index}").click().run()
    assert not at.exception and s.phase == "feedback" and len(s.outcomes) == 1
    assert any("another tab" in m.value for m in at.info)
    assert len(store.load_reviews(engine, pid)) == 2
    engine.dispose()


def test_pause_stops_the_clock_and_hides_the_card(clock, db_url):
    at = start(create_profile(open_page(), "ada"), n=2)
    s = session(at)
    i = s.index
    clock.advance(3)
    at.button(key=f"quiz.pause.{i}").click().run()
    prompt = s.current().prompt
    assert s.paused and not at.get("progress")
    assert not any(m.value == prompt for m in at.markdown)
    clock.advance(500)  # away for longer than any limit: no timeout
    at.run()
    assert s.phase == "asking" and not s.outcomes
    at.button(key=f"quiz.resume.{i}").click().run()
    assert not s.paused and s.elapsed(clock.t) == pytest.approx(3.0)


def test_numeric_answers_in_the_wrong_format_are_not_counted(clock, db_url):
    at = create_profile(open_page(seed=1), "ada")
    start(at, topics=("adamw",), n=50)
    s = first_of_kind(at, "numeric")
    i = s.index
    at.text_input(key=f"quiz.typed.{i}").input("zero point five")
    at.button(key=f"quiz.submit.{i}").click().run()
    assert s.phase == "asking" and len(s.outcomes) == i
    assert any("Could not read" in w.value for w in at.warning)
    at.text_input(key=f"quiz.typed.{i}").input("0,5")
    at.button(key=f"quiz.submit.{i}").click().run()
    assert any("dot for decimals" in w.value for w in at.warning)
    answer(at, right=True)
    assert s.outcomes[-1].correct and not at.warning
    assert s.outcomes[-1].award.speed_bonus > 0  # machine-checked: the speed bonus applies


def test_formula_cards_are_graded_by_numeric_equivalence(clock, db_url):
    at = start(create_profile(open_page(seed=2), "ada"), topics=("adam",), n=50)
    s = first_of_kind(at, "formula")
    i, q = s.index, s.current()
    assert any("Symbols you may use" in m.value for m in at.markdown)
    at.text_input(key=f"quiz.typed.{i}").input("__import__('os')")
    at.button(key=f"quiz.submit.{i}").click().run()
    assert s.phase == "asking" and at.warning, "unreadable text is explained, not counted"
    at.text_input(key=f"quiz.typed.{i}").input(f"({q.expression}) * 1.0 + 0")  # the same rule, written otherwise
    at.button(key=f"quiz.submit.{i}").click().run()
    assert s.outcomes[-1].correct and "test points" in s.outcomes[-1].detail
    assert at.get("latex"), "the true rule and the typed one are shown as formulas"
    next_card(at)
    s2 = first_of_kind(at, "formula")
    answer(at, right=False)
    assert not s2.outcomes[-1].correct and "true rule gives" in s2.outcomes[-1].detail


def test_name_the_optimizer_card_shows_an_unlabelled_race_picture(clock, db_url):
    cards = load_deck().cards
    named = {c.topic for c in cards if c.kind == "name"}
    topic = max(named, key=lambda t: sum(c.kind == "name" for c in cards if c.topic == t) / sum(c.topic == t for c in cards))
    at = start(create_profile(open_page(seed=4), "ada"), topics=(topic,), n=50)
    s = session(at)
    while s.current().kind != "name":
        answer(at, right=False)
        next_card(at)
    drawn = players(at)
    assert len(drawn) == 1 and not at.get("vega_lite_chart")  # the player, without a chart toolbar over the question
    spec = json.dumps(drawn[0]["spec"])
    for opt in s.current().params["choices"]:
        assert f'"{opt}"' not in spec and dc.OPTIMIZERS[opt].name not in spec
    assert all(at.button(key=f"quiz.option.{s.index}.{j}") for j in range(4))
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


# ----- the answer is committed before anything else is rendered --------------------------------------------------
def test_an_answer_is_committed_before_the_page_renders(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=3)
    s = session(at)
    q = s.current()

    def crash(*args, **kwargs):  # the server dies right after the click, before any feedback is drawn
        raise RuntimeError("server killed")

    monkeypatch.setattr(quiz_ui, "session_header", crash)
    if q.kind in ("choice", "name"):
        at.button(key=f"quiz.option.{s.index}.{q.correct}").click().run()
    else:
        at.button(key=f"quiz.reveal.{s.index}").click().run()
        assert not reviews_in(db_url)
        monkeypatch.undo()
        monkeypatch.setattr(quiz_flow, "_clock", lambda: 0.0)
        at.button(key=f"quiz.grade.{s.index}.3").click()
        monkeypatch.setattr(quiz_ui, "session_header", crash)
        at.run()
    assert at.exception  # nothing was rendered...
    assert [r["card_id"] for r in reviews_in(db_url)] == [q.card_id]  # ...and the answer is stored


# ----- reload resumes; topic links ---------------------------------------------------------------------------------
def test_a_reload_resumes_the_session_from_the_url_token(clock, db_url):
    at = start(create_profile(open_page(), "ada"), n=3)
    s = session(at)
    answer(at, right=True)
    next_card(at)
    clock.advance(5)
    token = at.query_params["resume"]
    token = token[0] if isinstance(token, list) else token
    engine = engine_for(db_url)
    with engine.connect() as conn:
        keys = [r.resume_key for r in conn.execute(sa.select(store.sessions.c.resume_key))]
    assert keys and token not in keys, "only the token's hash is stored"
    engine.dispose()

    reloaded = open_page(query={"resume": token})  # F5: a new browser session, the same URL
    r = session(reloaded)
    assert r is not None and r is not s
    assert [q.card_id for q in r.questions] == [q.card_id for q in s.questions]
    assert (r.index, r.phase, r.score, len(r.outcomes)) == (1, "asking", s.score, 1)
    assert r.elapsed(clock.t) == pytest.approx(5.0)
    assert profile_of(reloaded).name == "ada"
    assert reloaded.session_state["quiz.setup"] == {"mode": "drill", "n": 3, "topics": ["momentum", "gd"],
                                                    "fill_new": True}
    assert reloaded.session_state["quiz.limits"] == s.time_limits
    answer(reloaded, right=True)
    assert len(reviews_in(db_url)) == 2


def test_a_resume_token_opens_nothing_on_a_shared_database(clock, db_url):
    at = create_profile(open_page(secrets=SHARED), "ada", passphrase=SECRET)
    start(at, n=2)
    token = at.query_params["resume"]
    token = token[0] if isinstance(token, list) else token
    stranger = open_page(secrets=SHARED, query={"resume": token})
    assert session(stranger) is None and profile_of(stranger) is None
    open_shared(stranger, "ada", SECRET)  # the owner, after a reload, opens the profile again and continues
    assert session(stranger) is not None and session(stranger).index == 0


def test_topic_links_preselect_the_topic(clock, db_url):
    at = open_page(query={"topic": "adam"})
    assert at.session_state["quiz.topics"] == ["adam"] and at.radio(key="quiz.mode").value == "drill"
    at = open_page(query={"topic": "no-such-topic"})
    assert not at.session_state["quiz.topics"] if "quiz.topics" in at.session_state else True


# ----- access: who can reach which progress ------------------------------------------------------------------------
def test_empty_and_duplicate_profile_names_are_refused(clock, db_url):
    at = open_page()
    create_profile(at, "   ")
    assert any("cannot be empty" in e.value for e in at.error)
    create_profile(at, "Ada")
    assert profile_of(at).name == "Ada"
    at.selectbox(key="store.pick.quiz").select(progress_store.NEW_PROFILE).run()
    create_profile(at, " ＡＤＡ ")  # full-width look-alike of the same name
    assert any("taken" in e.value for e in at.error)
    assert profile_of(at).name == "Ada"


def test_shared_database_needs_a_passphrase_and_lists_no_names(clock, db_url):
    at = open_page(secrets=SHARED)
    create_profile(at, "ada")
    assert profile_of(at) is None and any("passphrase" in e.value for e in at.error)
    create_profile(at, "ada", passphrase=SECRET)
    assert profile_of(at).name == "ada"
    start(at, n=2)
    answer(at, right=True)

    # A second visitor: no list of names, ?profile= does nothing, wrong name and wrong passphrase read the same.
    other = open_page(secrets=SHARED, query={"profile": "ada"})
    assert profile_of(other) is None and not other.get("selectbox")
    assert not any("ada" in (m.value or "") for m in list(other.markdown) + list(other.caption))
    open_shared(other, "ada", "wrong passphrase")
    wrong_pass = [e.value for e in other.error]
    open_shared(other, "nobody", SECRET)
    wrong_name = [e.value for e in other.error]
    assert wrong_pass == wrong_name == [progress_store.ACCESS_MESSAGE]
    assert profile_of(other) is None
    progress = open_page(PROGRESS_PAGE, secrets=SHARED, query={"profile": "ada"})
    assert not progress.get("download_button") and profile_of(progress) is None

    # The owner opens it with the passphrase; exporting asks for it again.
    owner = open_shared(open_page(PROGRESS_PAGE, secrets=SHARED), "ada", SECRET, where="progress")
    assert profile_of(owner).name == "ada" and not owner.get("download_button")
    owner.text_input(key="progress.passphrase").input(SECRET).run()
    assert owner.get("download_button")


def test_a_second_session_cannot_write_the_first_ones_progress_by_import(clock, db_url):
    ada = start(create_profile(open_page(), "ada"), n=2)
    answer(ada, right=True)
    engine = engine_for(db_url)
    ada_id = profiles.find_profile(engine, "ada")
    before = store.snapshot(engine, ada_id)
    grace = create_profile(open_page(), "grace")
    grace_id = profile_of(grace).id
    forged = json.dumps(transfer.export_profile(engine, ada_id, "ada")).replace('"rating": 3', '"rating": 1')
    assert json.loads(forged)["profile"] == "ada"
    with pytest.MonkeyPatch.context() as mp:  # the import runs inside grace's browser session
        mp.setattr(progress_store, "engine", lambda: engine)
        ok, message = progress_ui.import_progress(grace_id, forged.encode(), load_deck())
    assert ok
    assert store.snapshot(engine, ada_id) == before  # ada's progress is untouched: the file's name is only data
    assert len(store.load_reviews(engine, grace_id)) == len(before["reviews"])
    engine.dispose()


def test_signed_in_progress_belongs_to_the_identity(clock, db_url, monkeypatch):
    auth = {"auth": {"redirect_uri": "http://localhost/oauth2callback", "cookie_secret": "x" * 32}}
    monkeypatch.setattr(progress_store, "signed_in_identity", lambda: None)
    at = open_page(secrets=auth, query={"profile": "ada"})
    assert at.button(key="store.login") and profile_of(at) is None and not at.get("selectbox")
    monkeypatch.setattr(progress_store, "signed_in_identity", lambda: ("sub-123", "Ada L."))
    at = open_page(secrets=auth, query={"profile": "grace"})
    assert profile_of(at).owner == "sub-123" and not at.get("selectbox") and not at.get("text_input")
    start(at, n=1)
    answer(at, right=True)
    monkeypatch.setattr(progress_store, "signed_in_identity", lambda: ("sub-456", "Grace H."))
    other = open_page(PROGRESS_PAGE, secrets=auth)
    assert profile_of(other).owner == "sub-456"
    assert {m.label: m.value for m in other.metric}["Reviews"] == "0"


# ----- persistence and the progress page ----------------------------------------------------------------------------
def test_progress_survives_an_app_restart(clock, db_url):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=3)
    answer(at, right=True)
    next_card(at)
    answer(at, right=False)  # the tab is closed here, mid-session
    del at
    st.cache_resource.clear()  # a restarted server holds no connection and no cached deck
    st.cache_data.clear()

    page = open_page(PROGRESS_PAGE)
    page.selectbox(key="store.pick.progress").select("ada").run()
    assert not page.exception, page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Reviews"] == "2" and metrics["Accuracy"] == "50%"
    assert page.get("vega_lite_chart"), "review calendar missing"
    assert any("Why recall and accuracy differ" in c.value for c in page.caption)

    # Due review picks up the stored FSRS states: the missed card is due a minute later.
    clock.advance(600)
    quiz = open_page()
    quiz.selectbox(key="store.pick.quiz").select("ada").run()
    start(quiz, mode="due", n=5, fill_new=False)
    missed = [r["card_id"] for r in reviews_in(db_url) if not r["correct"]]
    assert [q.card_id for q in session(quiz).questions] == missed


def test_progress_page_retention_browser_fitting_and_import_errors(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=2)
    answer(at, right=True)
    page = open_page(PROGRESS_PAGE)
    page.selectbox(key="store.pick.progress").select("ada").run()
    metrics = {m.label: m.value for m in page.metric}
    assert float(metrics["Estimated reviews per day (next 30 days)"]) > 0
    page.slider(key="progress.retention").set_value(0.97).run()
    engine = engine_for(db_url)
    pid = profiles.find_profile(engine, "ada")
    assert profiles.load_settings(engine, pid).desired_retention == pytest.approx(0.97)
    assert "against 0.90" in {m.label: m.delta for m in page.metric}["Estimated reviews per day (next 30 days)"]

    # The card browser: search, filters, a card's history, suspend and reset.
    card = session(at).outcomes[0].card_id
    page.text_input(key="progress.browser.search").input(card).run()
    page.selectbox(key="progress.browser.card").select(card).run()
    assert any(card in c.value for c in page.caption)
    page.button(key="progress.browser.suspend").click().run()
    assert card in store.suspended_cards(engine, pid)
    page.multiselect(key="progress.browser.states").set_value(["suspended"]).run()
    assert list(page.dataframe[0].value["card"]) == [card]
    page.button(key="progress.browser.reset").click().run()
    assert card not in store.load_states(engine, pid)
    assert not any("$" in str(v) for v in page.dataframe[0].value.to_numpy().ravel())

    # Fitting: the defaults until there are enough reviews.
    assert any(f"needs {srs.MIN_REVIEWS_TO_FIT}" in c.value for c in page.caption)

    # Import: every error is a message naming the field; markup in a file is never rendered.
    exported = json.dumps(transfer.export_profile(engine, pid, "ada"))
    cards = load_deck()
    monkeypatch.setattr(progress_store, "engine", lambda: engine)
    before = store.snapshot(engine, pid)
    ok, message = progress_ui.import_progress(pid, b"{]", cards)
    assert not ok and "not valid JSON" in message
    ok, message = progress_ui.import_progress(pid, re.sub(r'"rating": \d', '"rating": 40', exported).encode(), cards)
    assert not ok and "rating" in message
    assert store.snapshot(engine, pid) == before
    ok, message = progress_ui.import_progress(pid, exported.replace('"ada"', '"[x](javascript:1) $\\\\alpha$ `y`"').encode(), cards)
    assert ok and "Imported 1 reviews" in message
    assert "\\[x\\]" in message and "\\$" in message and "\\`" in message
    engine.dispose()


def test_fitted_parameters_are_kept_with_their_log_loss(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=1)
    answer(at, right=True)
    monkeypatch.setattr(srs, "fit_ready_count", lambda reviews: srs.MIN_REVIEWS_TO_FIT)
    fitted = tuple(float(w) for w in srs.make_scheduler().parameters)
    monkeypatch.setattr(srs, "fit_parameters", lambda past, current=None: srs.FitReport(fitted, 0.52, 0.41, 600))
    page = open_page(PROGRESS_PAGE)
    page.selectbox(key="store.pick.progress").select("ada").run()
    page.button(key="progress.fit").click().run()
    assert any("0.5200 → 0.4100" in m.value for m in page.success)
    page.run()
    assert any("fitted to your reviews" in m.value for m in page.markdown)
    assert any("0.5200 before, 0.4100" in m.value and "were kept" in m.value for m in page.markdown)

    # A later fit that predicts worse is reported and not used: the weights in use stay.
    worse = tuple(w * 1.01 for w in fitted)
    monkeypatch.setattr(srs, "fit_parameters", lambda past, current=None: srs.FitReport(worse, 0.41, 0.47, 600))
    page.button(key="progress.fit").click().run()
    assert any("Not kept" in m.value and "0.4100 → 0.4700" in m.value for m in page.info)
    assert any("0.4100 before, 0.4700" in m.value and "not kept" in m.value for m in page.markdown)
    engine = engine_for(db_url)
    assert profiles.load_settings(engine, profile_of(page).id).parameters == pytest.approx(fitted)
    engine.dispose()


def seed_synthetic_learner(url: str, name: str, before: datetime) -> int:
    """A profile with the history of a learner who forgets faster than FSRS's defaults (test_quiz_srs.py's), on real
    deck cards, ending the day before `before`: enough reviews for a real fit."""
    from test_quiz_srs import forgetful_weights, simulated_history

    ids = [c.id for c in load_deck().cards][:70]
    topics = {c.id: c.topic for c in load_deck().cards}
    history = simulated_history(forgetful_weights(), n_cards=len(ids))
    shift = before - timedelta(days=1) - max(r.reviewed_at for r in history)
    engine = engine_for(url)
    store.ensure_schema(engine)
    pid = profiles.create_profile(engine, name)
    scheduler = srs.make_scheduler(fuzz=False)
    for r in sorted(history, key=lambda r: r.reviewed_at):
        card, when = ids[int(r.card_id.split("-")[1])], r.reviewed_at + shift
        row = store.ReviewRow(card, topics[card], when, r.rating, r.rating > 1, False, 5000, 0)
        store.record_review(engine, pid, row, lambda prior, card=card, when=when, rating=r.rating:
                            srs.review(scheduler, card, prior, rating, when, 5.0))
    assert srs.fit_ready_count(store.past_reviews(engine, pid)) >= srs.MIN_REVIEWS_TO_FIT
    engine.dispose()
    return pid


def test_the_progress_page_fits_fsrs_to_real_reviews_and_shows_the_log_loss(clock, db_url, monkeypatch):
    pid = seed_synthetic_learner(db_url, "ada", clock.wall())
    drawn = []
    real_frame = progress_ui.retention_frame
    monkeypatch.setattr(progress_ui, "retention_frame", lambda points: drawn.append(points) or real_frame(points))
    page = open_page(PROGRESS_PAGE)
    page.selectbox(key="store.pick.progress").select("ada").run()
    assert not page.exception, page.exception
    assert not any("Fitting needs" in c.value for c in page.caption) and page.button(key="progress.fit")
    assert any("default" in m.value for m in page.markdown)
    # Recall over time is the engine's, week by week (srs.retention_over_time on the stored history).
    engine = engine_for(db_url)
    expected = srs.retention_over_time(srs.DEFAULT_PARAMETERS, store.past_reviews(engine, pid))
    assert drawn and drawn[-1] == expected and len(expected) > 4

    began = time.perf_counter()
    page.button(key="progress.fit").click().run()  # fsrs's own optimizer (torch) on 579 measured reviews
    assert not page.exception, page.exception
    settings = profiles.load_settings(engine, pid)
    report = settings.fit_report
    print(f"\nfit in the page: log-loss {report['loss_before']:.4f} -> {report['loss_after']:.4f} on "
          f"{report['reviews_used']} reviews, {time.perf_counter() - began:.1f} s")
    assert report["kept"] and report["loss_after"] < report["loss_before"] - 0.01
    assert settings.parameters is not None and settings.parameters[0] < srs.DEFAULT_PARAMETERS[0]
    shown = f"{report['loss_before']:.4f} → {report['loss_after']:.4f} on {report['reviews_used']} reviews"
    assert any(shown in m.value for m in page.success)
    page.run()
    assert any("fitted to your reviews" in m.value for m in page.markdown)
    assert any(f"log-loss {report['loss_before']:.4f} before, {report['loss_after']:.4f} after" in m.value
               for m in page.markdown)
    # The schedule now uses the fitted weights: the quiz's scheduler is built from them.
    assert profiles.scheduler_for(settings).parameters[0] == pytest.approx(settings.parameters[0])
    engine.dispose()


def test_the_review_calendar_counts_days_in_the_readers_time_zone(clock, db_url, monkeypatch):
    engine = engine_for(db_url)
    store.ensure_schema(engine)
    pid = profiles.create_profile(engine, "ada")
    late = datetime(2025, 2, 27, 23, 30, tzinfo=timezone.utc)  # 23:30 UTC is 01:30 the next day at UTC+02:00
    for when in (late, late - timedelta(hours=12)):
        row = store.ReviewRow("gd-step", "gd", when, 3, True, False, 1000, 0)
        store.record_review(engine, pid, row, lambda prior, when=when: srs.review(srs.make_scheduler(), "gd-step",
                                                                                    prior, 3, when, 1.0))
    engine.dispose()
    frames = []
    real_frame = progress_ui.heatmap_frame
    monkeypatch.setattr(progress_ui, "heatmap_frame", lambda per_day: frames.append(per_day) or real_frame(per_day))

    def calendar(offset):
        monkeypatch.setattr(progress_ui, "reader_utc_offset", lambda now: offset)
        page = open_page(PROGRESS_PAGE)
        page.selectbox(key="store.pick.progress").select("ada").run()
        assert not page.exception, page.exception
        return frames[-1], [c.value for c in page.caption]

    days, captions = calendar(None)
    assert {str(d): n for d, n in days.items()} == {"2025-02-27": 2}
    assert "Days in UTC: your browser did not report its time zone." in captions
    days, captions = calendar(timedelta(hours=2))
    assert {str(d): n for d, n in days.items()} == {"2025-02-27": 1, "2025-02-28": 1}
    assert "Days in your browser's time zone (UTC+02:00)." in captions
    frame = real_frame(days)
    assert frame["date"].iloc[-1] == "2025-02-28" and frame["reviews"].sum() == 2
    assert frame["date"].iloc[0] <= "2024-12-05" and pd_weekday(frame["date"].iloc[0]) == 0  # 12 weeks, from a Monday
    decades = real_frame({date(1990, 1, 1): 3, date(2025, 2, 28): 1})  # a long history: the last year only
    assert frame["week"].max() <= 13 and decades["week"].max() <= 53 and decades["reviews"].sum() == 1


def pd_weekday(day: str) -> int:
    return datetime.fromisoformat(day).weekday()


def test_the_readers_utc_offset_comes_from_the_browser(monkeypatch):
    proxy = type(st.context)
    now = datetime(2025, 7, 1, 12, tzinfo=timezone.utc)

    def browser_says(offset_minutes, zone):
        monkeypatch.setattr(proxy, "timezone_offset", property(lambda self: offset_minutes))
        monkeypatch.setattr(proxy, "timezone", property(lambda self: zone))
        return progress_ui.reader_utc_offset(now)

    assert browser_says(-120, "Europe/Berlin") == timedelta(hours=2)  # JavaScript's sign: UTC minus local
    assert browser_says(300, None) == timedelta(hours=-5)
    assert browser_says(None, "Asia/Kolkata") == timedelta(hours=5, minutes=30)
    assert browser_says(None, "Nowhere/Atlantis") is None and browser_says(None, None) is None
    assert browser_says(100_000, None) is None  # no zone is that far from UTC
    assert progress_ui.zone_caption(timedelta(hours=-3, minutes=-30)) == "Days in your browser's time zone (UTC-03:30)."


# ----- a database that cannot be used -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["unreachable", "read-only"])
def test_quiz_keeps_working_when_progress_cannot_be_saved(clock, tmp_path, monkeypatch, kind):
    if kind == "unreachable":
        url = "sqlite:////proc/descent-no-such-dir/progress.db"
    else:
        path = tmp_path / "ro.db"
        seed_engine = sa.create_engine(f"sqlite:///{path}")
        store.ensure_schema(seed_engine)
        profiles.create_profile(seed_engine, "ada")
        seed_engine.dispose()
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    monkeypatch.setenv(progress_store.ENV_DB_URL, url)
    at = open_page()
    assert any("Progress is not saved" in w.value for w in at.warning)
    start(at, n=2)
    answer(at, right=True)
    next_card(at)
    answer(at, right=False)
    next_card(at)
    assert session(at).phase == "done" and not at.exception
    assert {m.label: m.value for m in at.metric}["Accuracy"] == "50%"
    page = open_page(PROGRESS_PAGE)
    assert any("Progress is not saved" in w.value for w in page.warning)


def test_a_transient_failure_says_not_saved_until_the_next_answer_saves_both(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=3)
    answer(at, right=True)
    next_card(at)
    real = store.record_review

    def locked(*args, **kwargs):
        raise store.TransientStoreError("database is locked")

    monkeypatch.setattr(store, "record_review", locked)
    answer(at, right=True)
    assert len(session(at).outcomes) == 2 and not at.exception
    assert any("not saved" in w.value and "locked" in w.value for w in at.warning)
    assert len(reviews_in(db_url)) == 1
    monkeypatch.setattr(store, "record_review", real)  # the lock is gone
    next_card(at)
    answer(at, right=False)
    assert not any("not saved" in w.value for w in at.warning)
    assert [r["correct"] for r in reviews_in(db_url)] == [True, True, False]


def test_undoing_an_answer_that_waits_for_a_busy_database_cancels_its_write(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=3)
    s = session(at)
    real = store.record_review

    def locked(*args, **kwargs):
        raise store.TransientStoreError("database is locked")

    monkeypatch.setattr(store, "record_review", locked)
    answer(at, right=True)
    undone = s.outcomes[-1].card_id
    assert any("not saved" in w.value for w in at.warning) and not reviews_in(db_url)
    at.button(key=f"quiz.undo.{s.index}").click().run()
    assert not at.exception and len(s.outcomes) == 0
    assert undone not in at.session_state["quiz.states"], "the in-memory schedule is taken back too"
    monkeypatch.setattr(store, "record_review", real)  # the lock is gone: only answers still standing are written
    if s.phase == "grading":
        at.button(key=f"quiz.grade.{s.index}.3").click().run()
    else:
        next_card(at)
        answer(at, right=False)
    assert not any("not saved" in w.value for w in at.warning)
    rows = reviews_in(db_url)
    assert len(rows) == 1 and len(s.outcomes) == 1
    assert (rows[0]["card_id"], rows[0]["rating"]) == (s.outcomes[0].card_id, s.outcomes[0].rating)
    engine = engine_for(db_url)
    stored = store.load_states(engine, profiles.find_profile(engine, "ada"))
    engine.dispose()
    assert set(stored) == {s.outcomes[0].card_id}


def test_an_answer_written_late_is_undone_in_the_store(clock, db_url, monkeypatch):
    at = start(create_profile(open_page(), "ada"), topics=("momentum",), n=3)
    s = session(at)
    real, calls = store.record_review, []

    def flaky(*args, **kwargs):  # busy for the answer itself, free again for the write kept for later
        calls.append(1)
        if len(calls) == 1:
            raise store.TransientStoreError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record_review", flaky)
    answer(at, right=True)
    assert len(calls) == 2 and len(reviews_in(db_url)) == 1  # written with the snapshot that followed it
    assert not any("not saved" in w.value for w in at.warning)
    at.button(key=f"quiz.undo.{s.index}").click().run()
    assert not at.exception and not reviews_in(db_url), "store and screen agree: the answer is gone from both"


def test_a_postgresql_store_is_shared_unless_the_secrets_say_local(clock, db_url):
    bare = open_page(secrets={})  # no secrets at all: the URL decides
    assert bool(bare.get("selectbox")) is (not on_postgres()), "a PostgreSQL store lists no names by default"
    local = open_page(secrets=LOCAL)  # `[descent] shared = false`: one user's own database, one-click profiles
    assert local.selectbox(key="store.pick.quiz")
