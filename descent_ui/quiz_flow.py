"""What happens between the quiz's widgets and the store: starting, answering, grading, undoing, pausing, resuming.

Answers arrive in widget callbacks, which Streamlit runs before the page script: each answer is committed to the
store there (`record`), before anything is rendered, so an answer survives the tab closing right after the click.
After every change the session's snapshot is kept under the tab's resume token (``?resume=`` in the URL), so a
reload (F5) picks the session up where it was. Session-state keys are namespaced ``quiz.*``.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import streamlit as st

from descent_core.quiz import Deck, load_deck, resume, srs, store
from descent_core.quiz.errors import UndoRefused
from descent_core.quiz.formulas import FormulaError
from descent_core.quiz.session import (DEFAULT_TIME_LIMITS, NumericFormatError, Outcome, PhaseError, QuizSession,
                                       build_session, pick_drill, pick_due, pick_weak)

from . import progress_store

RELOAD_GRACE_S = 60.0  # time away beyond this, at a reload, pauses the card
MEMORY_SNAPSHOTS = 500  # sessions without a stored profile, kept in this process for a reload


# ----- clocks (tests replace these) ---------------------------------------------------------------------------
def _clock() -> float:
    """Seconds on a monotonic clock: what the countdown and answer times are measured with."""
    return time.monotonic()


def _wall() -> datetime:
    """Wall-clock UTC time stamped on reviews and used for due dates."""
    return datetime.now(timezone.utc)


def wall() -> datetime:
    return _wall()


def now() -> float:
    return _clock()


def session_history() -> list[tuple[str, str, bool]]:
    """(card, topic, correct) of this browser session's answers, kept in memory whatever the store does."""
    return list(st.session_state.get("quiz.history", []))


@st.cache_resource(show_spinner="Loading the decks…")
def deck() -> Deck:
    return load_deck()


@st.cache_resource
def _memory_snapshots() -> tuple[OrderedDict, threading.Lock]:
    """Snapshots of sessions played without a stored profile, keyed by the resume token's hash (bounded)."""
    return OrderedDict(), threading.Lock()


# ----- state --------------------------------------------------------------------------------------------------
def init_state() -> None:
    st.session_state.setdefault("quiz.session", None)
    st.session_state.setdefault("quiz.limits", dict(DEFAULT_TIME_LIMITS))
    st.session_state.setdefault("quiz.history", [])
    st.session_state.setdefault("quiz.states", {})
    st.session_state.setdefault("quiz.input_error", None)
    st.session_state.setdefault("quiz.notice", None)
    st.session_state.setdefault("quiz.last", None)
    opened = progress_store.opened_count()
    if st.session_state.get("quiz.profile_seen") != opened:  # another profile: what memory kept was the old one's
        st.session_state["quiz.profile_seen"] = opened
        st.session_state["quiz.states"] = {}
        st.session_state["quiz.history"] = []


def current() -> QuizSession | None:
    return st.session_state.get("quiz.session")


def running() -> bool:
    session = current()
    return session is not None and session.phase != "done"


def notice() -> str | None:
    return st.session_state.get("quiz.notice")


def input_error() -> tuple[str, str] | None:
    return st.session_state.get("quiz.input_error")


def _rng() -> random.Random:
    return random.Random(st.session_state.get("quiz.seed"))  # tests pin the draw


def states() -> dict[str, dict]:
    """FSRS states for choosing due cards: the store's when a profile is open, this session's otherwise."""
    profile = progress_store.profile()
    if profile is not None:
        stored = progress_store.read(lambda e: store.load_states(e, profile.id))
        if stored is not None:
            return stored
    return st.session_state["quiz.states"]


def history() -> list[tuple[str, str, bool]]:
    profile = progress_store.profile()
    if profile is not None:
        rows = progress_store.read(lambda e: store.load_reviews(e, profile.id))
        if rows is not None:
            return [(r["card_id"], r["topic"], bool(r["correct"])) for r in rows]
    return list(st.session_state["quiz.history"])


def suspended() -> set[str]:
    profile = progress_store.profile()
    if profile is None:
        return set()
    return progress_store.read(lambda e: store.suspended_cards(e, profile.id), set()) or set()


# ----- recording ----------------------------------------------------------------------------------------------
@dataclass
class LastAnswer:
    """What undo takes back: the answer's name in the saving queue, the card's in-memory state before it, and what
    the store wrote (None while the write waits for a busy database, or when there is no stored profile)."""

    tag: str
    card_id: str
    before: dict | None
    recorded: store.Recorded | None = None


def last_answer() -> LastAnswer | None:
    return st.session_state.get("quiz.last")


def _written(tag: str, recorded: Any) -> None:
    """A kept answer landed later (with another write): undo can now take it back from the store."""
    last = last_answer()
    if last is not None and last.tag == tag and isinstance(recorded, store.Recorded):
        last.recorded = recorded


def record(outcome: Outcome) -> None:
    """Schedule the card with FSRS and commit the review (its own transaction), before any rendering."""
    now = _wall()
    scheduler = progress_store.scheduler()

    def schedule(before: dict | None) -> dict:
        return srs.review(scheduler, outcome.card_id, before, outcome.rating, now, outcome.elapsed_s)

    memory = st.session_state["quiz.states"]
    last = LastAnswer(f"answer.{uuid.uuid4().hex}", outcome.card_id, memory.get(outcome.card_id))
    memory[outcome.card_id] = schedule(last.before)
    st.session_state["quiz.history"].append((outcome.card_id, outcome.topic, outcome.correct))
    st.session_state["quiz.last"] = last
    profile, session = progress_store.profile(), current()
    if profile is not None and session is not None:
        row = store.ReviewRow(outcome.card_id, outcome.topic, now, outcome.rating, outcome.correct, outcome.timed_out,
                              round(outcome.elapsed_s * 1000), outcome.points)
        session_id, tag = session.db_session_id, last.tag
        last.recorded = progress_store.save(lambda e: store.record_review(e, profile.id, row, schedule, session_id),
                                            keep=True, tag=tag, on_written=lambda result: _written(tag, result))
    keep_snapshot()


def keep_snapshot() -> None:
    """Store the session as it is now under this tab's resume token (cleared once the session is done)."""
    session, token = current(), st.session_state.get("quiz.token")
    if session is None or not token:
        return
    data = None if session.phase == "done" else resume.session_snapshot(session, _clock(), _settings())
    profile = progress_store.profile()
    if profile is not None and session.db_session_id is not None:
        session_id = session.db_session_id
        progress_store.save(lambda e: resume.save_snapshot(e, profile.id, session_id, token, data), keep=True)
        return
    kept, lock = _memory_snapshots()
    with lock:
        key = resume.resume_key(token)
        kept.pop(key, None)
        if data is not None:
            kept[key] = data
            while len(kept) > MEMORY_SNAPSHOTS:
                kept.popitem(last=False)


def _settings() -> dict[str, Any]:
    return dict(st.session_state.get("quiz.setup") or {}) | {"limits": dict(st.session_state["quiz.limits"]),
                                                             "saved_at": _wall().timestamp()}


def try_resume(token: str) -> bool:
    """Pick the session this tab's token names back up (after a reload). False when there is none to resume."""
    profile = progress_store.profile()
    local = progress_store.access_mode() == "local"
    found = None
    if progress_store.engine() is not None and (profile is not None or local):
        found = progress_store.read(lambda e: resume.load_snapshot(e, token, None if local else profile.id))
        if found is not None and (profile is None or found[0] != profile.id) and not progress_store.adopt(found[0]):
            found = None
    data = found[1] if found is not None else None
    if data is None and profile is None:
        kept, lock = _memory_snapshots()
        with lock:
            data = kept.get(resume.resume_key(token))
    if data is None:
        return False
    try:
        session = resume.restore_session(data, _clock())
    except (KeyError, TypeError, ValueError):
        return False
    _count_time_away(session, (data.get("settings") or {}).get("saved_at"))
    chosen = dict(data.get("settings") or {})
    if isinstance(chosen.pop("limits", None), dict):
        st.session_state["quiz.limits"].update(data["settings"]["limits"])
    chosen.pop("saved_at", None)
    st.session_state["quiz.setup"] = chosen
    for key, value in chosen.items():  # the set-up form shows them again after this session
        if value is not None:
            st.session_state[f"quiz.{key}"] = value
    st.session_state["quiz.session"] = session
    st.session_state["quiz.token"] = token
    return True


def _count_time_away(session: QuizSession, saved_at: float | None) -> None:
    """A reload takes a moment, and that moment counts; a longer absence pauses the card instead of timing it out."""
    if session.phase != "asking" or session.paused or session.started_at is None or saved_at is None:
        return
    away = max(0.0, _wall().timestamp() - float(saved_at))
    session.started_at -= min(away, RELOAD_GRACE_S)
    if away > RELOAD_GRACE_S:
        session.pause(_clock())


# ----- starting -----------------------------------------------------------------------------------------------
def start_session(cards: Deck, mode: str, n: int, topics: list[str], fill_new: bool = True,
                  card_ids: list[str] | None = None) -> None:
    rng = _rng()
    skip = suspended()
    pool = [c for c in cards.cards if c.id not in skip]
    if card_ids is not None:
        chosen = [cards.by_id[c] for c in card_ids if c in cards.by_id]
    elif mode == "drill":
        chosen = pick_drill(pool, n, topics, rng)
    elif mode == "due":
        chosen = pick_due(pool, states(), _wall(), n, rng, fill_new=fill_new)
    else:
        chosen = pick_weak(pool, history(), n, rng)
    if not chosen:
        st.session_state["quiz.notice"] = {
            "due": "Nothing is due right now. Tick “Fill up with cards never seen” or try a timed drill.",
            "weak": "No history yet for this profile: answer a drill first, then weak spots can be found.",
        }.get(mode, "No cards match those topics.")
        return
    session = build_session(mode, chosen, rng, st.session_state["quiz.limits"])
    st.session_state["quiz.setup"] = {"mode": mode, "n": n, "topics": list(topics), "fill_new": fill_new}
    profile = progress_store.profile()
    if profile is not None:
        session.db_session_id = progress_store.save(lambda e: store.start_session(e, profile.id, mode, len(chosen), _wall()))
    session.start(_clock())
    token = resume.new_token()
    st.session_state.update({"quiz.session": session, "quiz.token": token, "quiz.notice": None,
                             "quiz.input_error": None, "quiz.last": None})
    st.query_params["resume"] = token
    keep_snapshot()


# ----- answering (widget callbacks) ---------------------------------------------------------------------------
def _act(action: Callable[[QuizSession, float], Outcome | None]) -> None:
    """Apply one action; a stale click (the card already timed out, or is paused) is ignored."""
    session = current()
    if session is None:
        return
    try:
        outcome = action(session, _clock())
    except PhaseError:
        return
    if outcome is not None:
        record(outcome)
    else:
        keep_snapshot()


def on_choice(option: int) -> None:
    _act(lambda s, now: s.answer_choice(option, now))


def on_typed(key: str, kind: str) -> None:
    """Numeric and formula answers: unreadable text is explained and not counted (the card stays open)."""
    text = st.session_state.get(key, "")
    answer = (lambda s, now: s.answer_numeric(text, now)) if kind == "numeric" else (lambda s, now: s.answer_formula(text, now))
    try:
        _act(answer)
        st.session_state["quiz.input_error"] = None
    except NumericFormatError as exc:
        st.session_state["quiz.input_error"] = (str(exc), "")
    except FormulaError as exc:
        st.session_state["quiz.input_error"] = (exc.message, exc.caret)


def on_reveal() -> None:
    _act(lambda s, now: s.reveal(now))


def on_grade(rating: int) -> None:
    _act(lambda s, now: s.grade_self(rating))


def on_timeout() -> None:
    _act(lambda s, now: s.timeout(now) if s.expired(now) else None)


def on_undo() -> None:
    """Take back the last grade: in the store first, then here, so the two always agree.

    A written answer is undone in the store (refused if another tab reviewed the card since); one still waiting for
    a busy database is taken out of the saving queue, so it is never written later.
    """
    session = current()
    if session is None or session.phase != "feedback":
        return
    last = last_answer()
    profile = progress_store.profile()
    if last is not None and profile is not None and not progress_store.cancel(last.tag) and last.recorded is not None:
        engine = progress_store.engine()
        try:
            if engine is not None:
                store.undo_review(engine, profile.id, last.recorded)
        except UndoRefused as exc:
            st.session_state["quiz.notice"] = str(exc)
            return
        except Exception as exc:
            st.session_state["quiz.notice"] = f"The answer could not be taken back ({progress_store.describe(exc)})."
            return
    outcome = session.undo()
    memory = st.session_state["quiz.states"]
    if last is not None and last.card_id == outcome.card_id:
        if last.before is None:
            memory.pop(outcome.card_id, None)
        else:
            memory[outcome.card_id] = last.before
    if st.session_state["quiz.history"]:
        st.session_state["quiz.history"].pop()
    st.session_state["quiz.last"] = None
    st.session_state["quiz.notice"] = ("Grade taken back: grade the card again." if outcome.self_graded else
                                       "Answer taken back: it counts for nothing, and the card is not rescheduled.")
    keep_snapshot()


def on_pause() -> None:
    session = current()
    if session is not None:
        session.pause(_clock())
        keep_snapshot()


def on_resume() -> None:
    session = current()
    if session is not None:
        session.resume(_clock())
        keep_snapshot()


def on_next() -> None:
    session = current()
    if session is None:
        return
    try:
        session.next(_clock())
    except PhaseError:
        return
    st.session_state["quiz.input_error"] = None
    st.session_state["quiz.notice"] = None
    st.session_state["quiz.last"] = None
    if session.phase == "done":
        _finish(session)
    keep_snapshot()


def on_end() -> None:
    session = current()
    if session is not None:
        session.end()
        _finish(session)
        keep_snapshot()


def _finish(session: QuizSession) -> None:
    st.query_params.pop("resume", None)
    if session.db_session_id is not None:
        summary = session.summary()
        session_id = session.db_session_id
        progress_store.save(lambda e: store.finish_session(e, session_id, summary.correct, summary.score, _wall()))


def on_new_session() -> None:
    st.session_state["quiz.session"] = None
    st.session_state["quiz.token"] = None
    st.query_params.pop("resume", None)
