"""Interview practice page: pick a profile, set up a session, answer timed cards, read the summary.

All quiz logic lives in descent_core.quiz; this module wires it to widgets. Session-state keys are
namespaced "quiz.*". Only the countdown is a fragment, so ticking never reruns the whole page.
Progress is written through the store after every answer; when the database is unreachable or
read-only the quiz keeps working in memory and says so.
"""

from __future__ import annotations

import math
import os
import pathlib
import random
import time
from datetime import datetime, timezone
from typing import Any, Callable

import altair as alt
import pandas as pd
import streamlit as st
from fsrs import Rating
from sqlalchemy.engine import Engine

from descent_core.quiz import SECTIONS, Deck, load_deck, section_titles, section_url, srs, store
from descent_core.quiz.session import (
    DEFAULT_TIME_LIMITS,
    MODES,
    NumericFormatError,
    Outcome,
    PhaseError,
    Question,
    QuizSession,
    build_session,
    pick_drill,
    pick_due,
    pick_weak,
)

ENV_DB_URL = "DESCENT_DB_URL"  # tests and scripts point the app at another database with this
DEFAULT_DB_URL = "sqlite:///data/descent.db"
KIND_LABELS = {"explain": "Explain aloud", "choice": "Multiple choice", "numeric": "Compute", "name": "Name the optimizer"}
RESULT_ICONS = {"right": "✓", "wrong": "✗", "timeout": "∅"}  # plain symbols: table cells show no icon fonts
SCHEDULER = srs.make_scheduler()
NEW_PROFILE = "+ New profile…"


# ----- clocks (tests replace these) ---------------------------------------------------------------------------
def _clock() -> float:
    """Seconds on a monotonic clock: what the countdown and answer times are measured with."""
    return time.monotonic()


def _wall() -> datetime:
    """Wall-clock UTC time stamped on reviews and used for due dates."""
    return datetime.now(timezone.utc)


# ----- cached shared resources --------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the decks…")
def deck() -> Deck:
    return load_deck()


@st.cache_data(max_entries=1)
def titles() -> dict[str, str]:
    return section_titles()


# ----- the progress store -------------------------------------------------------------------------------------
def _connection() -> Any:
    """st.connection("sql"): the env override, else [connections.sql] from secrets, else local SQLite."""
    url = os.environ.get(ENV_DB_URL)
    if url:
        return st.connection("sql", type="sql", url=url)
    if _secrets_have_sql():
        return st.connection("sql", type="sql")
    pathlib.Path("data").mkdir(exist_ok=True)
    return st.connection("sql", type="sql", url=DEFAULT_DB_URL)


def _secrets_have_sql() -> bool:
    try:
        return bool(st.secrets.load_if_toml_exists() and st.secrets.get("connections", {}).get("sql"))
    except Exception:  # an unreadable secrets file means "no secrets", never a crash
        return False


def store_engine() -> tuple[Engine | None, str | None]:
    """The engine for this browser session, or None and the reason progress is not being saved."""
    if "quiz.db" not in st.session_state:
        try:
            engine = _connection().engine
            store.ensure_schema(engine)
            store.check_writable(engine)
            st.session_state["quiz.db"] = (engine, None)
        except Exception as exc:  # unreachable, read-only, missing driver, bad URL, newer schema...
            st.session_state["quiz.db"] = (None, _describe(exc))
    return st.session_state["quiz.db"]


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _save(write: Callable[..., Any], *args: Any) -> Any:
    """Run one store write; on failure switch this session to in-memory mode instead of crashing."""
    engine, _ = store_engine()
    if engine is None:
        return None
    try:
        return write(engine, *args)
    except Exception as exc:
        st.session_state["quiz.db"] = (None, _describe(exc))
        return None


def storage_banner() -> None:
    engine, problem = store_engine()
    if engine is None:
        st.warning(
            f"**Progress is not being saved.** The progress database is unavailable ({problem}). "
            "The quiz still works for this session.",
            icon=":material/warning:",
        )


# ----- profiles -----------------------------------------------------------------------------------------------
def active_profile() -> tuple[int | None, str | None]:
    return st.session_state.get("quiz.profile_id"), st.session_state.get("quiz.profile")


def _set_profile(profile_id: int | None, name: str | None) -> None:
    st.session_state["quiz.profile_id"] = profile_id
    st.session_state["quiz.profile"] = name
    if name:
        st.query_params["profile"] = name  # a reload of the page keeps the profile
    st.session_state.pop("quiz.states", None)  # the in-memory FSRS mirror belongs to the old profile
    st.session_state["quiz.history"] = []


def profile_picker(where: str, locked: bool = False) -> tuple[int | None, str | None]:
    """Choose or create the profile whose progress is shown and saved. `where` keeps widget keys per page."""
    engine, _ = store_engine()
    if engine is None:
        return active_profile()
    current = st.session_state.get("quiz.profile")
    if current is None and st.query_params.get("profile"):
        current = _adopt_profile_from_url(engine, st.query_params["profile"])
    if locked:  # no switching profiles in the middle of a session
        st.caption(f"Profile: **{current}**" if current else "Playing without a profile: progress is not saved.")
        return active_profile()
    try:
        names = store.list_profiles(engine)
    except Exception as exc:
        st.session_state["quiz.db"] = (None, _describe(exc))
        return active_profile()
    key = f"quiz.profile_select.{where}"
    creating = st.session_state.get("quiz.creating_profile") or current not in names
    # The widget shows the active profile; it is set through session state, before the widget exists this run.
    wanted = NEW_PROFILE if creating else current
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    st.selectbox("Profile", names + [NEW_PROFILE], key=key, on_change=_on_profile_choice, args=(engine, key),
                 help="Progress belongs to a profile; profiles never see each other's data.")
    if creating:
        _new_profile_form(engine, where)
    return active_profile()


def _adopt_profile_from_url(engine: Engine, name: str) -> str | None:
    """Select the profile named in the URL (?profile=...), if it exists; anything else is ignored."""
    try:
        key = store.normalize_profile_name(name).casefold()
        stored = next((n for n in store.list_profiles(engine) if n.casefold() == key), None)
        if stored is None:
            return None
        _set_profile(store.find_profile(engine, stored), stored)
    except Exception:
        return None
    return stored


def _on_profile_choice(engine: Engine, key: str) -> None:
    choice = st.session_state[key]
    st.session_state["quiz.creating_profile"] = choice == NEW_PROFILE
    if choice != NEW_PROFILE:
        _set_profile(store.find_profile(engine, choice), choice)


def _new_profile_form(engine: Engine, where: str) -> None:
    with st.form(f"quiz.new_profile.{where}", border=False):
        name = st.text_input("New profile name", key=f"quiz.new_profile_name.{where}", max_chars=store.MAX_PROFILE_NAME)
        if st.form_submit_button("Create profile", key=f"quiz.create_profile.{where}"):
            try:
                profile_id = store.create_profile(engine, name)
            except store.ProfileNameError as exc:
                st.error(str(exc))
                return
            except Exception as exc:
                st.session_state["quiz.db"] = (None, _describe(exc))
                st.rerun()
            _set_profile(profile_id, store.normalize_profile_name(name))
            st.session_state["quiz.creating_profile"] = False
            st.rerun()


# ----- card states and history (database when online, memory otherwise) ---------------------------------------
def _states() -> dict[str, dict]:
    if "quiz.states" not in st.session_state:
        profile_id, _ = active_profile()
        loaded = _save(store.load_states, profile_id) if profile_id is not None else None
        st.session_state["quiz.states"] = loaded or {}
    return st.session_state["quiz.states"]


def _history() -> list[tuple[str, str, bool]]:
    profile_id, _ = active_profile()
    rows = _save(store.load_reviews, profile_id) if profile_id is not None else None
    if rows is not None:
        return [(r["card_id"], r["topic"], bool(r["correct"])) for r in rows]
    return list(st.session_state.get("quiz.history", []))


def record(outcome: Outcome) -> None:
    """Schedule the card with FSRS and commit the review at once (its own transaction)."""
    now = _wall()
    states = _states()
    new_state = srs.review(SCHEDULER, outcome.card_id, states.get(outcome.card_id), Rating(outcome.rating), now,
                           outcome.elapsed_s)
    states[outcome.card_id] = new_state
    st.session_state.setdefault("quiz.history", []).append((outcome.card_id, outcome.topic, outcome.correct))
    profile_id, _ = active_profile()
    session: QuizSession = st.session_state["quiz.session"]
    if profile_id is not None:
        row = store.ReviewRow(outcome.card_id, outcome.topic, now, outcome.rating, outcome.correct, outcome.timed_out,
                              round(outcome.elapsed_s * 1000), outcome.points)
        _save(store.record_review, profile_id, row, new_state, session.db_session_id)


# ----- session set-up -----------------------------------------------------------------------------------------
def _init_state() -> None:
    st.session_state.setdefault("quiz.session", None)
    st.session_state.setdefault("quiz.limits", dict(DEFAULT_TIME_LIMITS))
    st.session_state.setdefault("quiz.history", [])
    st.session_state.setdefault("quiz.format_error", None)
    st.session_state.setdefault("quiz.notice", None)


def _rng() -> random.Random:
    seed = st.session_state.get("quiz.seed")  # tests pin the draw
    return random.Random(seed)


def setup_panel(cards: Deck) -> None:
    all_titles = titles()
    mode = st.radio("Mode", list(MODES), format_func=MODES.get, horizontal=True, key="quiz.mode")
    n = st.number_input("Cards", min_value=1, max_value=50, value=10, step=1, key="quiz.n")
    topics: list[str] = []
    fill_new = True
    if mode == "drill":
        topics = st.multiselect("Topics (empty = all)", cards.topics(), format_func=lambda t: all_titles.get(t, t),
                                key="quiz.topics")
    elif mode == "due":
        fill_new = st.checkbox("Fill up with cards never seen", value=True, key="quiz.fill_new")
    with st.expander("Time limit per card"):
        limits = st.session_state["quiz.limits"]
        columns = st.columns(len(DEFAULT_TIME_LIMITS))
        for column, kind in zip(columns, DEFAULT_TIME_LIMITS):
            limits[kind] = float(column.number_input(
                KIND_LABELS[kind] + " (s)", min_value=1, max_value=900, value=int(limits[kind]), step=5,
                key=f"quiz.limit.{kind}",
            ))
    if st.button("Start session", type="primary", key="quiz.start", shortcut="S"):
        start_session(cards, mode, int(n), topics, fill_new)
    if st.session_state["quiz.notice"]:
        st.info(st.session_state["quiz.notice"])


def start_session(cards: Deck, mode: str, n: int, topics: list[str], fill_new: bool = True,
                  card_ids: list[str] | None = None) -> None:
    rng = _rng()
    if card_ids is not None:
        chosen = [cards.by_id[c] for c in card_ids if c in cards.by_id]
    elif mode == "drill":
        chosen = pick_drill(cards.cards, n, topics, rng)
    elif mode == "due":
        chosen = pick_due(cards.cards, _states(), _wall(), n, rng, fill_new=fill_new)
    else:
        chosen = pick_weak(cards.cards, _history(), n, rng)
    if not chosen:
        st.session_state["quiz.notice"] = {
            "due": "Nothing is due right now. Tick “Fill up with cards never seen” or try a timed drill.",
            "weak": "No history yet for this profile: answer a drill first, then weak spots can be found.",
        }.get(mode, "No cards match those topics.")
        return
    session = build_session(mode, chosen, rng, st.session_state["quiz.limits"])
    profile_id, _ = active_profile()
    if profile_id is not None:
        session.db_session_id = _save(store.start_session, profile_id, mode, len(chosen), _wall())
    session.start(_clock())
    st.session_state["quiz.session"] = session
    st.session_state["quiz.notice"] = None
    st.session_state["quiz.format_error"] = None


# ----- answering (widget callbacks: they run before the page re-renders) --------------------------------------
def _session() -> QuizSession:
    return st.session_state["quiz.session"]


def _act(action: Callable[[QuizSession, float], Outcome | None]) -> None:
    """Apply one answer; a stale click (the card already timed out) is ignored."""
    try:
        outcome = action(_session(), _clock())
    except PhaseError:
        return
    if outcome is not None:
        record(outcome)


def _on_choice(option: int) -> None:
    _act(lambda s, now: s.answer_choice(option, now))


def _on_numeric(key: str) -> None:
    text = st.session_state.get(key, "")

    def answer(s: QuizSession, now: float) -> Outcome:
        return s.answer_numeric(text, now)

    try:
        _act(answer)
        st.session_state["quiz.format_error"] = None
    except NumericFormatError as exc:  # not counted: the clock keeps running and the card stays open
        st.session_state["quiz.format_error"] = str(exc)


def _on_reveal() -> None:
    _act(lambda s, now: s.reveal(now))


def _on_grade(keys: list[str]) -> None:
    ticked = [bool(st.session_state.get(k)) for k in keys]
    _act(lambda s, now: s.grade_explain(ticked))


def _on_next() -> None:
    session = _session()
    try:
        session.next(_clock())
    except PhaseError:
        return
    st.session_state["quiz.format_error"] = None
    if session.phase == "done":
        _finish_in_store(session)


def _on_end() -> None:
    session = _session()
    session.end()
    _finish_in_store(session)


def _finish_in_store(session: QuizSession) -> None:
    if session.db_session_id is not None:
        summary = session.summary()
        _save(store.finish_session, session.db_session_id, summary.correct, summary.score, _wall())


def _on_new_session() -> None:
    st.session_state["quiz.session"] = None


# ----- the countdown: the only part that reruns every second --------------------------------------------------
@st.fragment(run_every=1.0)
def countdown() -> None:
    session: QuizSession | None = st.session_state.get("quiz.session")
    if session is None or session.phase != "asking":
        return
    now = _clock()
    if session.expired(now):
        record(session.timeout(now))  # running out of time counts as a miss
        st.rerun(scope="app")
    left = session.remaining(now)
    st.progress(left / session.limit(), text=f":material/timer: {math.ceil(left)} s left")


# ----- rendering a card ---------------------------------------------------------------------------------------
def session_header(session: QuizSession) -> None:
    left, middle, right, end = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    left.markdown(f"**{MODES[session.mode]}** · card {session.index + 1} of {len(session.questions)}")
    middle.metric("Score", session.score)
    right.metric("Streak", f"{session.streak} 🔥" if session.streak >= 2 else session.streak)
    end.button("End session", key="quiz.end", on_click=_on_end)


def card_view(session: QuizSession) -> None:
    q = session.current()
    stars = "★" * q.difficulty + "☆" * (3 - q.difficulty)
    st.caption(f"{KIND_LABELS[q.kind]} · {titles().get(q.topic, q.topic)} · {stars}")
    st.markdown(q.prompt)
    if q.picture is not None:
        st.altair_chart(trajectory_chart(q.picture), width="content")
    if session.phase == "asking":
        countdown()
        answer_widgets(session, q)
    elif session.phase == "grading":
        grading_form(session, q)
    elif session.phase == "feedback":
        feedback(session, q, session.outcomes[-1])


def answer_widgets(session: QuizSession, q: Question) -> None:
    i = session.index
    if q.kind in ("choice", "name"):
        for j, option in enumerate(q.options):
            st.button(f"**{j + 1}.** {option}", key=f"quiz.option.{i}.{j}", on_click=_on_choice, args=(j,),
                      shortcut=str(j + 1), width="stretch")
        st.caption("Keys 1–%d pick an answer." % len(q.options))
    elif q.kind == "numeric":
        key = f"quiz.number.{i}"
        with st.form(f"quiz.numeric_form.{i}", border=False):
            st.text_input("Your answer", key=key, placeholder="0.25, 2.5e-1 or 1/4")
            st.form_submit_button("Submit answer", key=f"quiz.submit.{i}", on_click=_on_numeric, args=(key,))
        if st.session_state["quiz.format_error"]:
            st.warning(st.session_state["quiz.format_error"] + " The card is still open.", icon=":material/edit:")
        st.caption("Enter submits.")
    else:
        st.info("Answer out loud as you would in an interview, then reveal the model answer and tick what you said.")
        st.button("Reveal the model answer", key=f"quiz.reveal.{i}", on_click=_on_reveal, shortcut="V", type="primary")
        st.caption("Key V reveals.")


def grading_form(session: QuizSession, q: Question) -> None:
    st.markdown("**Model answer**")
    st.markdown(q.answer)
    keys = [f"quiz.point.{session.index}.{j}" for j in range(len(q.key_points))]
    with st.form(f"quiz.grade_form.{session.index}"):
        st.markdown("**Tick each key point you made:**")
        for key, point in zip(keys, q.key_points):
            st.checkbox(point, key=key)
        st.form_submit_button("Grade my answer", key=f"quiz.grade.{session.index}", on_click=_on_grade, args=(keys,),
                              type="primary")


def feedback(session: QuizSession, q: Question, outcome: Outcome) -> None:
    if outcome.timed_out:
        st.error("Time ran out: counted as a miss.", icon=":material/timer_off:")
    elif outcome.correct:
        a = outcome.award
        st.success(f"Right! +{a.total} points (base {a.base}, speed +{a.speed_bonus}, streak +{a.streak_bonus}) "
                   f"in {outcome.elapsed_s:.1f} s.", icon=":material/check_circle:")
    else:
        st.error(f"Not this time ({outcome.response}).", icon=":material/cancel:")
    if q.kind in ("choice", "name") and q.correct is not None:
        st.markdown(f"**Answer:** {q.options[q.correct]}")
    if q.kind == "numeric" and q.value is not None:
        st.markdown(f"**Exact value:** `{q.value:.6g}`" + (f" · you typed `{outcome.response}`" if not outcome.timed_out else ""))
    st.markdown(q.answer)
    if q.key_points:
        st.markdown("**Key points**\n\n" + "\n".join(f"- {p}" for p in q.key_points))
    st.markdown(f"Read more: [{titles().get(q.topic, q.topic)}]({section_url(q.topic)})")
    last = session.index + 1 >= len(session.questions)
    st.button("See the summary" if last else "Next card", key=f"quiz.next.{session.index}", on_click=_on_next,
              shortcut="N", type="primary")
    st.caption("Key N continues.")


# ----- charts -------------------------------------------------------------------------------------------------
def trajectory_chart(picture: dict[str, Any]) -> alt.LayerChart:
    """A static, unlabelled picture: the loss surface, the path, its start and its end."""
    grid = picture["grid"]
    xs, ys = grid["x"], grid["y"]
    # Cells overlap by a few percent so the canvas shows no seams between them.
    dx, dy = (xs[1] - xs[0]) * 0.52, (ys[1] - ys[0]) * 0.52
    low = min(min(row) for row in grid["loss"])
    cells = pd.DataFrame(
        [(x - dx, x + dx, y - dy, y + dy, loss) for y, row in zip(ys, grid["loss"]) for x, loss in zip(xs, row)],
        columns=["x", "x2", "y", "y2", "loss"],
    )
    # log1p keeps the valley floor visible next to walls hundreds of times higher.
    cells["height"] = (cells["loss"] - low).map(math.log1p) if picture.get("log_scale", True) else cells["loss"]
    (x0, x1), (y0, y1) = picture["bounds"]
    x_scale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    y_scale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    surface = alt.Chart(cells).mark_rect(strokeWidth=0).encode(
        x=alt.X("x:Q", scale=x_scale, title=None), x2="x2", y=alt.Y("y:Q", scale=y_scale, title=None), y2="y2",
        color=alt.Color("height:Q", scale=alt.Scale(scheme="greys", reverse=True), legend=None),
    )
    path = pd.DataFrame(picture["path"], columns=["x", "y"]).reset_index(names="step")
    line = alt.Chart(path).mark_line(color="#d9480f", strokeWidth=2, clip=True,
                                     point=alt.OverlayMarkDef(size=14, color="#d9480f", clip=True)).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), order="step:Q",
    )
    start = path.iloc[[0]].assign(label="start")
    start_mark = alt.Chart(start).mark_point(size=140, filled=True, color="#2f9e44", clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale))
    start_text = alt.Chart(start).mark_text(dy=-14, fontWeight="bold", color="#2f9e44", clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), text="label:N")
    end_mark = alt.Chart(path.iloc[[-1]]).mark_point(size=120, shape="diamond", filled=True, color="#1c7ed6",
                                                     clip=True).encode(
        x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale))
    width = 520
    height = int(max(220, min(520, width * (y1 - y0) / (x1 - x0))))
    return (surface + line + start_mark + start_text + end_mark).properties(width=width, height=height)


def topic_accuracy_chart(rows: pd.DataFrame) -> alt.Chart:
    return alt.Chart(rows).mark_bar().encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="Accuracy"),
        y=alt.Y("section:N", sort="x", title=None),
        color=alt.Color("accuracy:Q", scale=alt.Scale(domain=[0, 1], scheme="redyellowgreen"), legend=None),
        tooltip=["section", "correct", "answered", alt.Tooltip("accuracy:Q", format=".0%")],
    ).properties(height=alt.Step(32))


# ----- the end-of-session summary -----------------------------------------------------------------------------
def summary_view(cards: Deck, session: QuizSession) -> None:
    summary = session.summary()
    all_titles = titles()
    st.subheader("Session summary")
    a, b, c, d = st.columns(4)
    a.metric("Score", summary.score)
    b.metric("Accuracy", f"{summary.accuracy:.0%}" if summary.answered else "–")
    c.metric("Best streak", summary.best_streak)
    d.metric("Time", f"{summary.total_time_s:.0f} s")
    if summary.answered:
        # Short section names: full titles are too long for chart axes.
        rows = pd.DataFrame([
            {"section": SECTIONS.get(t.topic, t.topic), "correct": t.correct, "answered": t.total, "accuracy": t.accuracy}
            for t in summary.per_topic
        ])
        st.markdown("**Accuracy per topic**")
        st.altair_chart(topic_accuracy_chart(rows), width="stretch")
        st.markdown("**Time per card**")
        st.dataframe(_per_card_table(session), hide_index=True, width="stretch")
    if summary.missed:
        st.markdown("**Review these again**")
        for q in summary.missed:
            gist = q.prompt.split("\n")[0]
            gist = gist if len(gist) < 140 else gist[:137] + "…"
            st.markdown(f"- {gist} — [{all_titles.get(q.topic, q.topic)}]({section_url(q.topic)})")
        missed_ids = list(dict.fromkeys(q.card_id for q in summary.missed))
        if st.button("Drill the missed cards now", key="quiz.redo_missed"):
            start_session(cards, "drill", len(missed_ids), [], card_ids=missed_ids)
            st.rerun()
    elif summary.answered:
        st.success("No misses this time.")
    st.button("New session", key="quiz.new_session", on_click=_on_new_session, type="primary")


def _per_card_table(session: QuizSession) -> pd.DataFrame:
    rows = []
    for o in session.outcomes:
        result = "timeout" if o.timed_out else ("right" if o.correct else "wrong")
        rows.append({
            "#": o.index + 1,
            "card": o.card_id,
            "topic": SECTIONS.get(o.topic, o.topic),
            "result": f"{RESULT_ICONS[result]} {result}",
            "seconds": round(o.elapsed_s, 1),
            "limit": int(o.limit_s),
            "points": o.points,
        })
    return pd.DataFrame(rows)


# ----- the page -----------------------------------------------------------------------------------------------
def render() -> None:
    _init_state()
    st.title("Interview practice")
    cards = deck()
    storage_banner()
    session: QuizSession | None = st.session_state["quiz.session"]
    profile_picker("quiz", locked=session is not None and session.phase != "done")
    if session is None:
        st.caption(f"{len(cards)} cards across {len(cards.topics())} sections.")
        setup_panel(cards)
        if st.session_state["quiz.session"] is not None:
            st.rerun()
        return
    if session.phase == "done":
        summary_view(cards, session)
        return
    session_header(session)
    card_view(session)
