"""Progress page: what FSRS predicts, the retention target and its daily load, a review calendar, recall over
time, the card browser, parameters fitted to your reviews, and export/import.

Every number here is the engine's (descent_core.quiz): the calendar is `store.reviews_per_day` in the reader's UTC
offset, recall over time is `srs.retention_over_time`, the browser is `browser.browse_cards`, fitting is
`profiles.fit_profile`; this module only draws them. The connection, the open profile and the saving status belong
to descent_ui.progress_store, shared with the quiz.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st
from fsrs.scheduler import DEFAULT_PARAMETERS

from descent_core.quiz import Deck, profiles, srs, store, transfer

from . import progress_store, quiz_flow
from .card_browser import render_browser


def render() -> None:
    quiz_flow.init_state()
    st.title("Your progress")
    current = progress_store.profile_panel("progress", locked=quiz_flow.running())
    progress_store.banner()
    engine = progress_store.engine()
    if engine is None:
        _session_only_view()
        return
    if current is None:
        st.info("Open or create a profile to see its progress.")
        return
    data = progress_store.read(lambda e: (store.load_reviews(e, current.id), store.load_card_rows(e, current.id),
                                          store.past_reviews(e, current.id)))
    if data is None:
        _session_only_view()
        return
    reviews, rows, past = data
    states = {cid: row.state for cid, row in rows.items() if row.state is not None}
    now = quiz_flow.wall()
    cards = quiz_flow.deck()
    headline(reviews, states, now)
    retention_panel(states, now)
    if reviews:
        offset = reader_utc_offset(now)
        per_day = progress_store.read(lambda e: store.reviews_per_day(e, current.id, offset or timedelta(0)), {}) or {}
        left, right = st.columns(2)
        left.markdown("**Reviews per day**")
        if per_day:
            left.altair_chart(heatmap_chart(heatmap_frame(per_day)), width="stretch")
            left.caption(zone_caption(offset))
        right.markdown("**Recall over time: predicted and actual**")
        points = srs.retention_over_time(progress_store.settings().parameters or DEFAULT_PARAMETERS, past)
        if not points:
            right.caption("Shown once you have reviewed a card a second time.")
        else:
            right.altair_chart(retention_chart(retention_frame(points)), width="stretch")
            right.caption("Per week, repeat reviews only: the share you recalled against the share FSRS expected.")
    else:
        st.info("No reviews yet for this profile: answer a few cards on the quiz page.")
    render_browser(cards, current.id, rows, reviews, now)
    fitting_panel(current.id, past)
    export_import(current, cards)


# ----- headline ------------------------------------------------------------------------------------------------
def headline(reviews: list[dict], states: dict[str, dict], now: datetime) -> None:
    answered = len(reviews)
    correct = sum(bool(r["correct"]) for r in reviews)
    scheduler = progress_store.scheduler(fuzz=False)
    recall = srs.retention_estimate(scheduler, states.values(), now)
    week = srs.retention_estimate(scheduler, states.values(), now + timedelta(days=7))
    due_now = sum(srs.due_at(s) <= now for s in states.values())
    due_week = sum(srs.due_at(s) <= now + timedelta(days=7) for s in states.values())
    a, b, c, d = st.columns(4)
    a.metric("Reviews", answered)
    b.metric("Accuracy", f"{correct / answered:.0%}" if answered else "–")
    c.metric("Predicted recall now", f"{recall:.0%}" if recall is not None else "–",
             delta=f"{week:.0%} in a week" if week is not None else None, delta_color="off",
             help="FSRS's forecast, averaged over the cards you have reviewed, of recalling each one now.")
    d.metric("Due now / this week", f"{due_now} / {due_week}")
    if recall is not None and answered:
        st.caption(
            f"Why recall and accuracy differ: accuracy ({correct / answered:.0%}) counts every answer, first "
            "sightings and misses included. Predicted recall is for *now*: a card you have just answered, even "
            "wrongly, was just shown its answer, so its recall is high for a while and falls as the days pass "
            f"({week:.0%} a week from now if you stop). Cards due: {due_now}.")


# ----- retention target ------------------------------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner=False)
def _load(parameters: tuple[float, ...], retention: float, states_json: str, day: str) -> float:
    states = json.loads(states_json)
    return srs.daily_review_load(parameters, retention, states, datetime.fromisoformat(day), days=30)


def retention_panel(states: dict[str, dict], now: datetime) -> None:
    chosen = progress_store.settings()
    low, high = srs.RETENTION_RANGE
    key = "progress.retention"
    st.session_state.setdefault(key, float(chosen.desired_retention))
    value = st.slider("Desired retention", low, high, step=0.01, key=key, format="%.2f",
                      help="The recall FSRS aims for when a card comes due. Higher means shorter intervals and "
                           "more reviews.")
    if abs(value - chosen.desired_retention) > 1e-9:
        progress_store.save_retention(value)
    if not states:
        st.caption("The daily review load is estimated once some cards have been reviewed.")
        return
    parameters = tuple(chosen.parameters or DEFAULT_PARAMETERS)
    text = json.dumps(list(states.values()), sort_keys=True)
    day = now.replace(minute=0, second=0, microsecond=0).isoformat()
    load = _load(parameters, float(value), text, day)
    base = _load(parameters, srs.DESIRED_RETENTION, text, day)
    st.metric("Estimated reviews per day (next 30 days)", f"{load:.1f}" if load >= 1 else f"{load:.2f}",
              delta=f"{load - base:+.1f} against {srs.DESIRED_RETENTION:.2f}" if abs(value - srs.DESIRED_RETENTION) > 1e-9 else None,
              delta_color="inverse",
              help=f"A simulation of FSRS on your {len(states)} reviewed cards, each reviewed when due, "
                   "recalled with the forecast chance. New cards come on top.")


# ----- charts ----------------------------------------------------------------------------------------------------
MAX_UTC_OFFSET = timedelta(hours=14)


def reader_utc_offset(now: datetime) -> timedelta | None:
    """The reader's offset from UTC as their browser reports it (Streamlit's st.context), or None when it did not.

    `st.context.timezone_offset` is JavaScript's getTimezoneOffset: minutes, UTC minus local (so UTC+2 is -120);
    `st.context.timezone` (an IANA name) is the fallback.
    """
    try:
        minutes, name = st.context.timezone_offset, st.context.timezone
    except Exception:  # no browser behind this run (a script, a test)
        return None
    offset = None
    if isinstance(minutes, (int, float)):
        offset = -timedelta(minutes=float(minutes))
    elif isinstance(name, str) and name:
        try:
            offset = now.astimezone(ZoneInfo(name)).utcoffset()
        except Exception:  # an unknown zone name: UTC, and the caption says so
            offset = None
    if offset is None or abs(offset) > MAX_UTC_OFFSET:
        return None
    return offset


def zone_caption(offset: timedelta | None) -> str:
    if offset is None:
        return "Days in UTC: your browser did not report its time zone."
    sign, minutes = ("+" if offset >= timedelta(0) else "-"), int(abs(offset).total_seconds() // 60)
    return f"Days in your browser's time zone (UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})."


CALENDAR_WEEKS = (12, 53)  # the calendar spans at least a quarter and at most a year, ending on the last review day


def heatmap_frame(per_day: dict[date, int]) -> pd.DataFrame:
    """`store.reviews_per_day` laid out as a calendar: every day from a Monday 12 to 53 weeks back to the last."""
    counts = pd.DataFrame({"day": pd.to_datetime(list(per_day)), "reviews": list(per_day.values())})
    last = counts["day"].max()
    shortest, longest = (pd.Timedelta(days=7 * w) for w in CALENDAR_WEEKS)
    first = max(min(counts["day"].min(), last - shortest), last - longest)
    days = pd.DataFrame({"day": pd.date_range(first - pd.Timedelta(days=first.weekday()), last, freq="D")})
    days = days.merge(counts, on="day", how="left").fillna({"reviews": 0})
    days["reviews"] = days["reviews"].astype(int)
    days["date"] = days["day"].dt.strftime("%Y-%m-%d")
    days["week"] = (days["day"] - days["day"].min()).dt.days // 7
    days["weekday"] = days["day"].dt.strftime("%a")
    return days.drop(columns=["day"])


def heatmap_chart(days: pd.DataFrame) -> alt.Chart:
    """A calendar: one square per day (weeks across, weekdays down), coloured by the reviews made that day."""
    return alt.Chart(days).mark_rect(cornerRadius=2, stroke="white").encode(
        x=alt.X("week:O", title=None, axis=None),
        y=alt.Y("weekday:N", sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], title=None),
        color=alt.Color("reviews:Q", scale=alt.Scale(scheme="greens", domainMin=0), title="reviews"),
        tooltip=[alt.Tooltip("date:N", title="day"), alt.Tooltip("reviews:Q")],
    ).properties(height=190)


def retention_frame(points: list[srs.RetentionPoint]) -> pd.DataFrame:
    """`srs.retention_over_time`'s periods, long form: one row per period and line (predicted, actual)."""
    frame = pd.DataFrame([{"week": _naive(pd.Timestamp(p.start)), "reviews": p.reviews,
                           "predicted": p.predicted, "actual": p.actual} for p in points])
    return frame.melt(id_vars=["week", "reviews"], value_vars=["predicted", "actual"], var_name="recall",
                      value_name="share")


def _naive(moment: pd.Timestamp) -> pd.Timestamp:
    return moment.tz_convert(None) if moment.tzinfo is not None else moment


def retention_chart(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("week:T", title=None, axis=alt.Axis(format="%b %d", labelAngle=0)),
        y=alt.Y("share:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="Recall of repeat reviews"),
        color=alt.Color("recall:N", title=None, scale=alt.Scale(domain=["predicted", "actual"],
                                                                range=["#868e96", "#d9480f"])),
        tooltip=[alt.Tooltip("week:T", title="week of"), "recall", alt.Tooltip("share:Q", format=".0%"), "reviews"],
    ).properties(height=190)


# ----- fitting ---------------------------------------------------------------------------------------------------
def fit_summary(report: dict) -> str | None:
    """The stored fit report (profiles.fit_profile) as one sentence; None when it is damaged."""
    try:
        before, after, used = float(report["loss_before"]), float(report["loss_after"]), int(report["reviews_used"])
    except (KeyError, TypeError, ValueError):
        return None
    kept = report.get("kept", after < before)
    verdict = "kept: they predict your recall better" if kept else "not kept: they predict no better"
    return (f"Last fit on {used} reviews: log-loss {before:.4f} before, {after:.4f} after (lower predicts better); "
            f"the fitted parameters were {verdict}.")


def fitting_panel(profile_id: int, past: list[srs.PastReview]) -> None:
    st.subheader("Scheduling parameters")
    in_use = st.container()  # filled last, so a fit made by this click is what it describes
    ready = srs.fit_ready_count(past)
    if ready < srs.MIN_REVIEWS_TO_FIT:
        st.caption(f"Fitting needs {srs.MIN_REVIEWS_TO_FIT} reviews made a day or more after the card's previous one; "
                   f"you have {ready}. Until then the defaults are used.")
    else:
        left, right = st.columns(2)
        if left.button("Fit parameters to my reviews", key="progress.fit", type="primary"):
            fit_now(profile_id)
        if progress_store.settings().parameters is not None and right.button("Back to the defaults",
                                                                             key="progress.defaults"):
            progress_store.save_parameters(None, None)
            st.rerun()
    chosen = progress_store.settings()
    with in_use:
        if chosen.parameters is None:
            st.markdown("FSRS's **default** parameters schedule your cards.")
        else:
            st.markdown("Parameters **fitted to your reviews** schedule your cards.")
        summary = fit_summary(chosen.fit_report) if chosen.fit_report else None
        if summary:
            st.markdown(summary)


def fit_now(profile_id: int) -> None:
    """profiles.fit_profile: fsrs's optimizer on this profile's reviews; the weights are kept only if they predict
    better, and the before/after report is stored either way."""
    engine = progress_store.engine()
    if engine is None:
        return
    with st.spinner("Fitting FSRS to your history…"):
        try:
            outcome = profiles.fit_profile(engine, profile_id)
        except Exception as exc:  # a busy database or an optimizer that cannot fit: said, nothing changed
            st.error(f"Fitting did not finish ({progress_store.describe(exc)}); the parameters in use are unchanged.")
            return
    progress_store.reload_settings()
    report = outcome.report
    if report is None:
        st.info(f"Fitting needs {outcome.needed} reviews; you have {outcome.reviews_ready}.")
    elif outcome.kept:
        st.success(f"Kept: log-loss {report.loss_before:.4f} → {report.loss_after:.4f} on {report.reviews_used} reviews.")
    else:
        st.info(f"Not kept: the fit predicts no better (log-loss {report.loss_before:.4f} → {report.loss_after:.4f}); "
                "the parameters in use stay.")


# ----- export and import -----------------------------------------------------------------------------------------
def export_import(current, cards: Deck) -> None:
    st.subheader("Back up or move your progress")
    if current.has_passphrase:
        secret = st.text_input("Passphrase (asked again to export or import)", type="password",
                               key="progress.passphrase")
        if not progress_store.check_passphrase(secret):
            if secret:
                st.error(progress_store.ACCESS_MESSAGE)
            return
    left, right = st.columns(2)
    exported = progress_store.read(lambda e: transfer.export_profile(e, current.id, current.name, now=quiz_flow.wall()))
    if exported is not None:
        left.download_button("Download progress (JSON)", json.dumps(exported, indent=1),
                             file_name="descent-progress.json", mime="application/json", key="progress.export")
    upload = right.file_uploader("Import a progress file", type=["json"], key="progress.upload",
                                 max_upload_size=max(1, transfer.MAX_IMPORT_BYTES // 2**20),
                                 help="Replaces this profile's progress. The file is checked first; a bad file "
                                      "changes nothing.")
    if upload is not None and right.button("Replace my progress with this file", key="progress.import"):
        ok, message = import_progress(current.id, upload.getvalue(), cards)
        (right.success if ok else right.error)(message)


def import_progress(profile_id: int, raw: bytes, cards: Deck) -> tuple[bool, str]:
    """Validate, then replace the open profile's progress. (ok, a message safe to show as Markdown)."""
    engine = progress_store.engine()
    if engine is None:
        return False, "Progress cannot be imported while the database is unavailable."
    try:
        payload = transfer.validate_import(raw, cards.by_id.keys())
    except transfer.ImportRejected as exc:
        return False, progress_store.escape_markdown(str(exc))
    try:
        transfer.import_profile(engine, profile_id, payload)
    except Exception as exc:  # the import writes a new generation; the old progress stays live on failure
        return False, progress_store.escape_markdown(
            f"The import could not be written ({progress_store.describe(exc)}); your progress is unchanged.")
    progress_store.reload_settings()  # the import brought its own retention target and parameters
    st.session_state.pop("progress.retention", None)
    return True, (f"Imported {len(payload.reviews)} reviews, {len(payload.card_states)} card states and "
                  f"{len(payload.sessions)} sessions (exported from profile “"
                  f"{progress_store.escape_markdown(payload.profile)}”).")


def _session_only_view() -> None:
    history = quiz_flow.session_history()
    if not history:
        st.info("Answers from this session will show here; nothing is stored while the database is unavailable.")
        return
    correct = sum(ok for _, _, ok in history)
    st.metric("Answered this session", len(history), help="Not saved: the database is unavailable.")
    st.metric("Accuracy this session", f"{correct / len(history):.0%}")
