"""Progress page: reviews per day, accuracy trend, cards due soon, FSRS retention, export and import.

Shares the profile and the database connection with the quiz page (descent_ui.quiz).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from fsrs import State
from sqlalchemy.engine import Engine

from descent_core.quiz import SECTIONS, Deck, srs, store
from descent_ui import quiz as quiz_ui

STATE_NAMES = {int(s): s.name for s in State}
DUE_SOON_ROWS = 12


def render() -> None:
    quiz_ui._init_state()
    st.title("Your progress")
    quiz_ui.storage_banner()
    engine, _ = quiz_ui.store_engine()
    active = st.session_state.get("quiz.session")
    profile_id, name = quiz_ui.profile_picker("progress", locked=active is not None and active.phase != "done")
    if engine is None:
        _session_only_view()
        return
    if profile_id is None or name is None:
        st.info("Pick or create a profile to see its progress.")
        return
    try:
        reviews = store.load_reviews(engine, profile_id)
        states = store.load_states(engine, profile_id)
    except Exception as exc:
        st.session_state["quiz.db"] = (None, quiz_ui._describe(exc))
        st.rerun()
    now = quiz_ui._wall()
    headline(reviews, states, now)
    if reviews:
        frame = reviews_frame(reviews)
        left, right = st.columns(2)
        left.markdown("**Reviews per day**")
        left.altair_chart(reviews_per_day_chart(frame), width="stretch")
        right.markdown("**Accuracy trend**")
        right.altair_chart(accuracy_trend_chart(frame), width="stretch")
    else:
        st.info("No reviews yet for this profile: answer a few cards on the quiz page.")
    due_soon(states, now, quiz_ui.deck())
    export_import(engine, profile_id, name)


def headline(reviews: list[dict], states: dict[str, dict], now: datetime) -> None:
    answered = len(reviews)
    correct = sum(bool(r["correct"]) for r in reviews)
    retention = srs.retention_estimate(quiz_ui.SCHEDULER, states.values(), now)
    due_now = sum(srs.due_at(s) <= now for s in states.values())
    due_week = sum(srs.due_at(s) <= now + timedelta(days=7) for s in states.values())
    a, b, c, d = st.columns(4)
    a.metric("Reviews", answered)
    b.metric("Accuracy", f"{correct / answered:.0%}" if answered else "–")
    c.metric("Predicted recall now", f"{retention:.0%}" if retention is not None else "–",
             help="FSRS's estimate, averaged over every card you have reviewed, of the chance you would recall it today.")
    d.metric("Due now / this week", f"{due_now} / {due_week}")


def reviews_frame(reviews: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(reviews)
    frame["day"] = pd.to_datetime(frame["reviewed_at"], utc=True).dt.tz_localize(None).dt.normalize()
    frame["result"] = ["timeout" if t else ("right" if c else "wrong") for t, c in zip(frame["timed_out"], frame["correct"])]
    frame["correct"] = frame["correct"].astype(bool)
    return frame


def reviews_per_day_chart(frame: pd.DataFrame) -> alt.Chart:
    counts = frame.groupby(["day", "result"]).size().reset_index(name="reviews")
    return alt.Chart(counts).mark_bar().encode(
        x=alt.X("day:O", timeUnit="yearmonthdate", title=None, axis=alt.Axis(format="%b %d", labelAngle=0)),
        y=alt.Y("reviews:Q", title="Reviews"),
        color=alt.Color("result:N", scale=alt.Scale(domain=["right", "wrong", "timeout"],
                                                    range=["#2f9e44", "#e03131", "#868e96"]), title=None),
        tooltip=[alt.Tooltip("day:T", title="day"), "result", "reviews"],
    ).properties(height=220)


def accuracy_trend_chart(frame: pd.DataFrame) -> alt.Chart:
    daily = frame.groupby("day").agg(answered=("correct", "size"), correct=("correct", "sum")).reset_index()
    daily["accuracy"] = daily["correct"] / daily["answered"]
    # A running accuracy over the last 50 reviews smooths days with only a handful of answers.
    rolling = frame["correct"].rolling(50, min_periods=1).mean()
    daily["last 50 reviews"] = frame.assign(rolling=rolling).groupby("day")["rolling"].last().values
    long = daily.melt(id_vars="day", value_vars=["accuracy", "last 50 reviews"], var_name="measure", value_name="value")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("day:O", timeUnit="yearmonthdate", title=None, axis=alt.Axis(format="%b %d", labelAngle=0)),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="Accuracy"),
        color=alt.Color("measure:N", title=None),
        tooltip=[alt.Tooltip("day:T", title="day"), "measure", alt.Tooltip("value:Q", format=".0%")],
    ).properties(height=220)


def due_soon(states: dict[str, dict], now: datetime, cards: Deck) -> None:
    st.markdown("**Cards due soon**")
    if not states:
        st.caption("Nothing scheduled yet.")
        return
    rows = []
    for card_id, state in sorted(states.items(), key=lambda kv: srs.due_at(kv[1]))[:DUE_SOON_ROWS]:
        card = cards.by_id.get(card_id)
        rows.append({
            "card": (card.prompt[:90] + "…") if card and len(card.prompt) > 90 else (card.prompt if card else card_id),
            "section": SECTIONS.get(card.topic, card.topic) if card else "",
            "due": _when(srs.due_at(state), now),
            "state": STATE_NAMES.get(int(state["state"]), "?"),
            "recall now": f"{srs.retrievability(quiz_ui.SCHEDULER, state, now):.0%}",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _when(due: datetime, now: datetime) -> str:
    delta = due - now
    if delta <= timedelta(0):
        return "now"
    if delta < timedelta(hours=1):
        return f"in {max(1, round(delta.total_seconds() / 60))} min"
    if delta < timedelta(days=1):
        return f"in {round(delta.total_seconds() / 3600)} h"
    return f"in {delta.days} d"


# ----- export and import --------------------------------------------------------------------------------------
def export_import(engine: Engine, profile_id: int, name: str) -> None:
    st.markdown("**Back up or move your progress**")
    left, right = st.columns(2)
    exported = store.export_profile(engine, profile_id, name, now=quiz_ui._wall())
    left.download_button(
        "Download progress (JSON)", json.dumps(exported, indent=1), file_name=f"descent-progress-{name}.json",
        mime="application/json", key="progress.export",
    )
    upload = right.file_uploader("Import a progress file", type=["json"], key="progress.upload",
                                 max_upload_size=max(1, store.MAX_IMPORT_BYTES // 2**20),
                                 help="Replaces this profile's progress. The file is checked first; a bad file changes nothing.")
    if upload is not None and right.button("Replace my progress with this file", key="progress.import"):
        ok, message = import_progress(engine, profile_id, upload.getvalue(), quiz_ui.deck())
        if ok:
            st.session_state.pop("quiz.states", None)  # the quiz's FSRS mirror must reload the imported states
        (right.success if ok else right.error)(message)


def import_progress(engine: Engine, profile_id: int, raw: bytes, cards: Deck) -> tuple[bool, str]:
    """Validate, then replace the profile's progress in one transaction. Returns (ok, message for the user)."""
    try:
        payload = store.validate_import(raw, cards.by_id.keys())
    except store.ImportRejected as exc:
        return False, str(exc)
    try:
        store.import_profile(engine, profile_id, payload)
    except Exception as exc:  # the transaction rolled back: the old progress is intact
        return False, f"The import could not be written ({quiz_ui._describe(exc)}); your progress is unchanged."
    return True, (f"Imported {len(payload.reviews)} reviews, {len(payload.card_states)} card states and "
                  f"{len(payload.sessions)} sessions (exported from profile “{payload.profile}”).")


def _session_only_view() -> None:
    history: list[Any] = st.session_state.get("quiz.history", [])
    if not history:
        st.info("Answers from this session will show here; nothing is stored while the database is unavailable.")
        return
    correct = sum(ok for _, _, ok in history)
    st.metric("Answered this session", len(history), help="Not saved: the database is unavailable.")
    st.metric("Accuracy this session", f"{correct / len(history):.0%}")
