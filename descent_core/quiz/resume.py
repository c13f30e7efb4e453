"""Resuming a quiz session after a reload: the session as plain JSON, and its row in ``quiz_sessions``.

A tab holds a random resume token (in its URL); the store keeps only the token's SHA-256 (``resume_key``) beside
the session's snapshot, so a database dump holds nothing a visitor could paste back. Clock readings are not stored:
the snapshot keeps how long the current card had been open, and a restore starts its clock again from there.
Everything here is additive to the store and the session: neither module needs to know about resuming.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .question import Question, Variable
from .scoring import Award
from .session import Outcome, QuizSession
from .store import current_generation, retrying, sessions, writing

SNAPSHOT_VERSION = 1
MAX_SNAPSHOT_CHARS = 2_000_000


def new_token() -> str:
    return secrets.token_urlsafe(18)


def resume_key(token: str) -> str:
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


# ----- the session as JSON ---------------------------------------------------------------------------------------
def session_snapshot(session: QuizSession, now: float, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything a reload needs: cards, position, phase, score, outcomes, limits, and the caller's settings."""
    elapsed = None
    if session.phase not in ("ready", "done") and (session.started_at is not None or session.frozen_elapsed is not None):
        elapsed = session.elapsed(now)
    return {
        "version": SNAPSHOT_VERSION,
        "mode": session.mode,
        "questions": [dataclasses.asdict(q) for q in session.questions],
        "time_limits": dict(session.time_limits),
        "index": session.index,
        "phase": session.phase,
        "paused": session.paused,
        "elapsed": elapsed,
        "frozen": session.frozen_elapsed is not None,
        "outcomes": [dataclasses.asdict(o) for o in session.outcomes],
        "withdrawn": list(session.withdrawn),
        "streak": session.streak,
        "best_streak": session.best_streak,
        "score": session.score,
        "db_session_id": session.db_session_id,
        "settings": dict(settings or {}),
    }


def restore_session(data: Mapping[str, Any], now: float) -> QuizSession:
    """The session a snapshot describes, its current card's clock running again from where it stood."""
    if data.get("version") != SNAPSHOT_VERSION:
        raise ValueError("unknown snapshot version")
    questions = [_question(q) for q in data["questions"]]
    session = QuizSession(mode=data["mode"], questions=questions, time_limits=dict(data["time_limits"]),
                          index=int(data["index"]), phase=data["phase"], paused=bool(data["paused"]),
                          withdrawn=list(data["withdrawn"]), streak=int(data["streak"]),
                          best_streak=int(data["best_streak"]), score=int(data["score"]),
                          db_session_id=data.get("db_session_id"))
    session.outcomes = [_outcome(o) for o in data["outcomes"]]
    elapsed = data.get("elapsed")
    if elapsed is not None:
        if data.get("frozen"):
            session.frozen_elapsed = float(elapsed)
        else:
            session.started_at = now - float(elapsed)
    return session


def _question(raw: Mapping[str, Any]) -> Question:
    values = dict(raw)
    values["variables"] = tuple(Variable(**{**v, "aliases": tuple(v.get("aliases", ()))}) for v in values.get("variables", ()))
    for key in ("key_points", "options"):
        values[key] = tuple(values.get(key, ()))
    return Question(**values)


def _outcome(raw: Mapping[str, Any]) -> Outcome:
    values = dict(raw)
    values["award"] = Award(**values["award"])
    return Outcome(**values)


# ----- the stored snapshot ---------------------------------------------------------------------------------------
def save_snapshot(engine: Engine, profile_id: int, session_id: int, token: str, data: Mapping[str, Any] | None) -> None:
    """Store (or, with None, clear) the snapshot of a profile's session under the hash of `token`."""
    text = json.dumps(data) if data is not None else None
    if text is not None and len(text) > MAX_SNAPSHOT_CHARS:
        raise ValueError("the session is too large to keep for a reload")

    def write() -> None:
        with writing(engine) as conn:
            conn.execute(sa.update(sessions)
                         .where((sessions.c.id == session_id) & (sessions.c.profile_id == profile_id))
                         .values(snapshot=text, resume_key=resume_key(token) if text is not None else None))

    retrying(write)


def load_snapshot(engine: Engine, token: str, profile_id: int | None = None) -> tuple[int, dict[str, Any]] | None:
    """(profile id, snapshot) of the unfinished session this token resumes; None if there is none.

    With `profile_id`, only that profile's sessions are searched (shared databases: a token never opens a profile).
    """
    if not token or len(token) > 200:
        return None
    where = ((sessions.c.resume_key == resume_key(token)) & sessions.c.finished_at.is_(None)
             & sessions.c.snapshot.is_not(None) & (sessions.c.generation == current_generation(sessions.c.profile_id)))
    if profile_id is not None:
        where = where & (sessions.c.profile_id == profile_id)
    with engine.connect() as conn:
        row = conn.execute(sa.select(sessions.c.profile_id, sessions.c.snapshot).where(where)).first()
    if row is None:
        return None
    try:
        data = json.loads(row.snapshot)
    except ValueError:
        return None
    return (int(row.profile_id), data) if isinstance(data, dict) else None
