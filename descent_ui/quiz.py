"""Interview practice page: open a profile, set up a session, answer timed cards, read the summary.

The quiz's logic lives in descent_core.quiz; what the widgets set off (answers, grades, undo, pause, resume) lives in
descent_ui.quiz_flow; the progress store (connection, profile, saving status) in descent_ui.progress_store. This
module draws. Only the countdown is a fragment, so ticking never reruns the whole page.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from descent_core.quiz import Deck, topic_from_query, topic_short_title, topic_title, topic_url
from descent_core.quiz.formulas import FormulaError, to_latex
from descent_core.quiz.question import Question
from descent_core.quiz.scoring import QUICK_REVEAL_S
from descent_core.quiz.session import DEFAULT_TIME_LIMITS, GRADE_LABELS, MODES, Outcome, QuizSession

from . import progress_store, quiz_flow
from .quiz_charts import show_trajectory, topic_accuracy_chart
from .quiz_keys import quiz_keys

KIND_LABELS = {"explain": "Explain aloud", "choice": "Multiple choice", "numeric": "Compute",
               "name": "Name the optimizer", "formula": "Write the rule"}
RESULT_ICONS = {"right": "✓", "wrong": "✗", "timeout": "∅"}  # plain symbols: table cells show no icon fonts
TYPED_LABELS = {"numeric": "Your answer", "formula": "Your rule"}
GRADE_HELP = {1: "I did not know it", 2: "I got there, with effort or gaps", 3: "I knew it", 4: "I knew it at once, easily"}


# ----- set-up -------------------------------------------------------------------------------------------------
def _apply_topic_link(cards: Deck) -> None:
    """``?topic=<section>`` (the guide's "Practise … in the quiz" links) preselects a drill on that topic."""
    topic = topic_from_query(st.query_params.get("topic"))
    if topic and topic in cards.topics() and st.session_state.get("quiz.topic_link") != topic:
        st.session_state["quiz.topic_link"] = topic
        st.session_state["quiz.mode"] = "drill"
        st.session_state["quiz.topics"] = [topic]


def setup_panel(cards: Deck) -> None:
    _apply_topic_link(cards)
    mode = st.radio("Mode", list(MODES), format_func=MODES.get, horizontal=True, key="quiz.mode")
    n = st.number_input("Cards", min_value=1, max_value=50, value=10, step=1, key="quiz.n")
    topics: list[str] = []
    fill_new = True
    if mode == "drill":
        topics = st.multiselect("Topics (empty = all)", cards.topics(), format_func=topic_title, key="quiz.topics")
    elif mode == "due":
        fill_new = st.checkbox("Fill up with cards never seen", value=True, key="quiz.fill_new")
    with st.expander("Time limit per card"):
        limits = st.session_state["quiz.limits"]
        columns = st.columns(len(DEFAULT_TIME_LIMITS))
        for column, kind in zip(columns, DEFAULT_TIME_LIMITS):
            limits[kind] = float(column.number_input(
                KIND_LABELS[kind] + " (s)", min_value=1, max_value=900, value=int(limits[kind]), step=5,
                key=f"quiz.limit.{kind}"))
    if st.button("Start session", type="primary", key="quiz.start", shortcut="S"):
        quiz_flow.start_session(cards, mode, int(n), topics, fill_new)
    if quiz_flow.notice():
        st.info(quiz_flow.notice())


# ----- the countdown: the only part that reruns every second --------------------------------------------------
@st.fragment(run_every=1.0)
def countdown() -> None:
    session = quiz_flow.current()
    if session is None or session.phase != "asking" or session.paused:
        return
    now = quiz_flow.now()
    if session.expired(now):
        quiz_flow.on_timeout()  # running out of time counts as a miss
        st.rerun(scope="app")
    left = session.remaining(now)
    st.progress(left / session.limit(), text=f":material/timer: {math.ceil(left)} s left")


# ----- a card -------------------------------------------------------------------------------------------------
def session_header(session: QuizSession) -> None:
    left, middle, right, end = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    left.markdown(f"**{MODES[session.mode]}** · card {session.index + 1} of {len(session.questions)}")
    middle.metric("Score", session.score)
    right.metric("Streak", session.streak)
    end.button("End session", key="quiz.end", on_click=quiz_flow.on_end)


def card_view(session: QuizSession) -> None:
    q = session.current()
    typed = TYPED_LABELS.get(q.kind) if session.phase == "asking" and not session.paused else None
    quiz_keys(card=f"{id(session)}.{session.index}", watch=session.phase == "asking" and not session.paused,
              focus=typed, on_hidden=quiz_flow.on_pause)
    stars = "★" * q.difficulty + "☆" * (3 - q.difficulty)
    st.caption(f"{KIND_LABELS[q.kind]} · {topic_title(q.topic)} · {stars}")
    if session.paused:
        st.info("Paused: the clock has stopped and the card is hidden until you come back.", icon=":material/pause:")
        st.button("Resume", key=f"quiz.resume.{session.index}", on_click=quiz_flow.on_resume, shortcut="P",
                  type="primary")
        st.caption("Key P resumes.")
        return
    st.markdown(q.prompt)
    if q.kind == "formula":
        symbols(q)
    if q.picture is not None:
        show_trajectory(q.picture, key=f"quiz.picture.{session.index}")
    if session.phase == "asking":
        countdown()
        answer_widgets(session, q)
    elif session.phase == "grading":
        grading_panel(session, q)
    elif session.phase == "feedback":
        feedback(session, q, session.outcomes[-1])
    elif session.phase == "withdrawn":
        st.info(quiz_flow.notice() or "Answer taken back.", icon=":material/undo:")
        solution(q)
        next_button(session)


def symbols(q: Question) -> None:
    lines = [f"- `{v.name}`" + (f" (or `{'`, `'.join(v.aliases)}`)" if v.aliases else "")
             + f": {v.meaning}" + (f" ${v.latex}$" if v.latex and f"${v.latex}$" not in v.meaning else "")
             for v in q.variables]  # a meaning that already writes the symbol is not followed by it twice
    st.markdown("**Symbols you may use**\n\n" + "\n".join(lines)
                + "\n\nOperators `+ - * / **`, functions such as `sqrt`, `exp`, `log`.")


def answer_widgets(session: QuizSession, q: Question) -> None:
    i = session.index
    if q.kind in ("choice", "name"):
        for j, option in enumerate(q.options):
            st.button(f"**{j + 1}.** {option}", key=f"quiz.option.{i}.{j}", on_click=quiz_flow.on_choice, args=(j,),
                      shortcut=str(j + 1), width="stretch")
        st.caption("Keys 1–%d pick an answer; P pauses." % len(q.options))
    elif q.kind in TYPED_LABELS:
        key = f"quiz.typed.{i}"
        placeholder = "0.25, 2.5e-1 or 1/4" if q.kind == "numeric" else "for example lr * m / (sqrt(v) + eps)"
        with st.form(f"quiz.typed_form.{i}", border=False):
            st.text_input(TYPED_LABELS[q.kind], key=key, placeholder=placeholder)
            st.form_submit_button("Submit answer", key=f"quiz.submit.{i}", on_click=quiz_flow.on_typed,
                                  args=(key, q.kind))
        problem = quiz_flow.input_error()
        if problem:
            message, caret = problem
            st.warning(message + " The card is still open.", icon=":material/edit:")
            if caret:
                st.code(caret, language=None)
        st.caption("Enter submits; the cursor is already in the box.")
    else:
        st.info("Answer out loud as you would in an interview, then reveal the model answer and grade yourself.")
        st.button("Reveal the model answer", key=f"quiz.reveal.{i}", on_click=quiz_flow.on_reveal, shortcut="V",
                  type="primary")
        st.caption("Key V reveals; P pauses.")
    st.button("Pause", key=f"quiz.pause.{i}", on_click=quiz_flow.on_pause, shortcut="P")


def grading_panel(session: QuizSession, q: Question) -> None:
    st.markdown("**Model answer**")
    st.markdown(q.answer)
    if q.key_points:
        st.markdown("**Key points**\n\n" + "\n".join(f"- {p}" for p in q.key_points))
    st.markdown("**How well did you know it?**")
    columns = st.columns(len(GRADE_LABELS))
    for column, (rating, label) in zip(columns, GRADE_LABELS.items()):
        column.button(f"{rating} · {label}", key=f"quiz.grade.{session.index}.{rating}", on_click=quiz_flow.on_grade,
                      args=(rating,), shortcut=str(rating), help=GRADE_HELP[rating], width="stretch",
                      type="primary" if rating == 3 else "secondary")
    st.caption("Keys 1–4 grade (FSRS's scale: Again, Hard, Good, Easy). Your grade schedules the card; explained "
               "cards earn no speed bonus, since the clock cannot tell a fast answer from a fast click.")


def feedback(session: QuizSession, q: Question, outcome: Outcome) -> None:
    a = outcome.award
    if outcome.timed_out:
        st.error("Time ran out: counted as a miss.", icon=":material/timer_off:")
    elif outcome.self_graded:
        if outcome.elapsed_s < QUICK_REVEAL_S:
            points = f"no points: the answer was revealed within {QUICK_REVEAL_S:.0f} s"
        else:
            points = f"+{a.total} points (base {a.base}, streak +{a.streak_bonus}; no speed bonus for self-graded cards)"
        (st.success if outcome.correct else st.error)(f"Graded **{outcome.response}**: {points}.",
                                                       icon=":material/grading:")
    elif outcome.correct:
        st.success(f"Right! +{a.total} points (base {a.base}, speed +{a.speed_bonus}, streak +{a.streak_bonus}) "
                   f"in {outcome.elapsed_s:.1f} s.", icon=":material/check_circle:")
    else:
        # A picked option is deck text (Markdown and math, like the card); typed text is the learner's, shown as is.
        picked = q.kind in ("choice", "name")
        response = outcome.response if picked else progress_store.escape_markdown(outcome.response)
        st.error(f"Not this time ({response}).", icon=":material/cancel:")
    if outcome.detail:
        st.caption(outcome.detail)
    if q.kind == "formula" and outcome.response and not outcome.timed_out:
        try:
            st.markdown("You wrote")
            st.latex(to_latex(outcome.response, q.variables))
        except FormulaError:
            pass
    if not outcome.self_graded:
        solution(q, outcome)
    st.markdown(f"Read more: [{topic_title(q.topic)}]({topic_url(q.topic)})")
    if quiz_flow.notice():
        st.info(quiz_flow.notice())
    left, right = st.columns([1, 3])
    with right:
        undo_label = "Undo this grade" if outcome.self_graded else "Undo this answer"
        st.button(undo_label, key=f"quiz.undo.{session.index}", on_click=quiz_flow.on_undo, shortcut="U",
                  help="Mis-pressed? Takes the answer back (unless another tab has reviewed the card since).")
    with left:
        next_button(session)
    st.caption("Key N continues; U undoes.")


def solution(q: Question, outcome: Outcome | None = None) -> None:
    if q.kind in ("choice", "name") and q.correct is not None:
        st.markdown(f"**Answer:** {q.options[q.correct]}")
    if q.kind == "numeric" and q.value is not None:
        typed = f" · you typed `{outcome.response}`" if outcome is not None and not outcome.timed_out else ""
        st.markdown(f"**Exact value:** `{q.value:.6g}`{typed}")
    if q.kind == "formula" and q.expression:
        st.markdown("**The rule**")
        st.latex(to_latex(q.expression, q.variables))
    st.markdown(q.answer)
    if q.key_points and q.kind != "explain":
        st.markdown("**Key points**\n\n" + "\n".join(f"- {p}" for p in q.key_points))


def next_button(session: QuizSession) -> None:
    last = session.index + 1 >= len(session.questions)
    st.button("See the summary" if last else "Next card", key=f"quiz.next.{session.index}",
              on_click=quiz_flow.on_next, shortcut="N", type="primary")


# ----- the end-of-session summary -----------------------------------------------------------------------------
def summary_view(cards: Deck, session: QuizSession) -> None:
    summary = session.summary()
    st.subheader("Session summary")
    a, b, c, d = st.columns(4)
    a.metric("Score", summary.score)
    b.metric("Accuracy", f"{summary.accuracy:.0%}" if summary.answered else "–")
    c.metric("Best streak", summary.best_streak)
    d.metric("Time", f"{summary.total_time_s:.0f} s")
    if summary.answered:
        rows = pd.DataFrame([{"section": topic_short_title(t.topic), "correct": t.correct, "answered": t.total,
                              "accuracy": t.accuracy} for t in summary.per_topic])
        st.markdown("**Accuracy per topic**")
        st.altair_chart(topic_accuracy_chart(rows), width="stretch")
        st.markdown("**Time per card**")
        st.dataframe(_per_card_table(session), hide_index=True, width="stretch")
    if summary.missed:
        st.markdown("**Review these again**")
        for q in summary.missed:
            gist = q.prompt.split("\n")[0]
            gist = gist if len(gist) < 140 else gist[:137] + "…"
            st.markdown(f"- {gist} — [{topic_title(q.topic)}]({topic_url(q.topic)})")
        missed_ids = list(dict.fromkeys(q.card_id for q in summary.missed))
        if st.button("Drill the missed cards now", key="quiz.redo_missed"):
            quiz_flow.start_session(cards, "drill", len(missed_ids), [], card_ids=missed_ids)
            st.rerun()
    elif summary.answered:
        st.success("No misses this time.")
    st.button("New session", key="quiz.new_session", on_click=quiz_flow.on_new_session, type="primary")


def _per_card_table(session: QuizSession) -> pd.DataFrame:
    rows = []
    for o in session.outcomes:
        result = "timeout" if o.timed_out else ("right" if o.correct else "wrong")
        rows.append({"#": o.index + 1, "card": o.card_id, "topic": topic_short_title(o.topic),
                     "result": f"{RESULT_ICONS[result]} {result}", "grade": GRADE_LABELS.get(o.rating, ""),
                     "seconds": round(o.elapsed_s, 1), "limit": int(o.limit_s), "points": o.points})
    return pd.DataFrame(rows)


# ----- the page -----------------------------------------------------------------------------------------------
def render() -> None:
    quiz_flow.init_state()
    st.title("Interview practice")
    cards = quiz_flow.deck()
    progress_store.profile_panel("quiz", locked=quiz_flow.running())
    token = st.query_params.get("resume")
    if quiz_flow.current() is None and token and st.session_state.get("quiz.resume_tried") != token:
        if quiz_flow.try_resume(token):
            st.session_state["quiz.resume_tried"] = token
            st.toast("Picked up your session where you left it.", icon=":material/restore:")
        elif progress_store.profile() is not None or progress_store.access_mode() == "local":
            st.session_state["quiz.resume_tried"] = token
            st.query_params.pop("resume", None)
        else:
            st.info("Open your profile to continue the session you were in.")
    progress_store.banner()
    session = quiz_flow.current()
    if session is None:
        st.caption(f"{len(cards)} cards across {len(cards.topics())} sections.")
        setup_panel(cards)
        if quiz_flow.current() is not None:
            st.rerun()
        return
    if session.phase == "done":
        summary_view(cards, session)
        return
    session_header(session)
    card_view(session)
