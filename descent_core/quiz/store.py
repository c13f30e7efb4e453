"""Progress store: profiles, reviews, FSRS card states and session scores in any SQLAlchemy database.

Every function takes an Engine (the UI passes `st.connection("sql").engine`), so the store is tested
without Streamlit. Each write is its own transaction: a review is committed the moment it is answered.
Datetimes are stored as naive UTC (SQLite keeps no zone) and handed back timezone-aware.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import srs
from .deck import SECTIONS

SCHEMA_VERSION = 1
EXPORT_FORMAT = "descent-progress"
EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
MAX_PROFILE_NAME = 40
PROFILE_NAME_PATTERN = re.compile(r"^[\w .'-]+$")

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1: a single row
    sa.Column("version", sa.Integer, nullable=False),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Case-folded name: "Ada" and "ada " are the same profile.
    sa.Column("name_key", sa.String(MAX_PROFILE_NAME * 2), nullable=False, unique=True),
    sa.Column("name", sa.String(MAX_PROFILE_NAME * 2), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

sessions = sa.Table(
    "quiz_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False, index=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("n_cards", sa.Integer, nullable=False, default=0),
    sa.Column("n_correct", sa.Integer, nullable=False, default=0),
    sa.Column("score", sa.Integer, nullable=False, default=0),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("quiz_sessions.id"), nullable=True),
    sa.Column("card_id", sa.String(100), nullable=False),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("reviewed_at", sa.DateTime, nullable=False),
    sa.Column("rating", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("timed_out", sa.Boolean, nullable=False),
    sa.Column("elapsed_ms", sa.Integer, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Index("ix_reviews_profile_time", "profile_id", "reviewed_at"),
)

card_states = sa.Table(
    "card_states",
    metadata,
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), primary_key=True),
    sa.Column("card_id", sa.String(100), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # fsrs.Card.to_dict() as JSON
    sa.Column("due", sa.DateTime, nullable=False),
)

# version -> function(connection) bringing a database from version-1 up to version.
MIGRATIONS: dict[int, Any] = {}


class StoreError(RuntimeError):
    """Base for problems the UI reports as-is."""


class SchemaError(StoreError):
    pass


class ProfileNameError(StoreError):
    pass


class ImportRejected(StoreError):
    """The import file failed validation; nothing was written."""


# ----- schema --------------------------------------------------------------------------------------------
def ensure_schema(engine: Engine) -> int:
    """Create the tables on first run, apply migrations, and return the schema version."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except sa.exc.OperationalError:
        # Two sessions starting at once can race on CREATE TABLE; the second attempt sees the tables.
        metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        found = conn.execute(sa.select(schema_version.c.version)).scalar()
        if found is None:
            conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION))
            return SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise SchemaError(f"The progress database uses schema {found}; this app understands up to {SCHEMA_VERSION}.")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](conn)
        if found < SCHEMA_VERSION:
            conn.execute(sa.update(schema_version).values(version=SCHEMA_VERSION))
    return SCHEMA_VERSION


def check_writable(engine: Engine) -> None:
    """Raise if the database refuses writes (read-only file, replica, permissions); writes nothing."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(sa.update(schema_version).values(version=schema_version.c.version))
        finally:
            transaction.rollback()


# ----- profiles ------------------------------------------------------------------------------------------
def normalize_profile_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ProfileNameError("Profile name cannot be empty.")
    if len(cleaned) > MAX_PROFILE_NAME:
        raise ProfileNameError(f"Profile name is too long ({len(cleaned)} characters; the limit is {MAX_PROFILE_NAME}).")
    if not PROFILE_NAME_PATTERN.match(cleaned):
        raise ProfileNameError("Use letters, digits, spaces and . ' - _ in profile names.")
    return cleaned


def create_profile(engine: Engine, name: str, now: datetime | None = None) -> int:
    """Create a profile; an existing name (ignoring case and extra spaces) is an error, never a merge."""
    cleaned = normalize_profile_name(name)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                sa.insert(profiles).values(name_key=cleaned.casefold(), name=cleaned, created_at=_naive(now or _now()))
            )
            return int(result.inserted_primary_key[0])
    except sa.exc.IntegrityError:
        raise ProfileNameError(f"A profile called {cleaned!r} already exists: pick it from the list instead.") from None


def find_profile(engine: Engine, name: str) -> int | None:
    key = normalize_profile_name(name).casefold()
    with engine.connect() as conn:
        return conn.execute(sa.select(profiles.c.id).where(profiles.c.name_key == key)).scalar()


def list_profiles(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(profiles.c.name).order_by(profiles.c.name_key)).scalars())


# ----- writes during a quiz ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewRow:
    card_id: str
    topic: str
    reviewed_at: datetime
    rating: int
    correct: bool
    timed_out: bool
    elapsed_ms: int
    points: int


def start_session(engine: Engine, profile_id: int, mode: str, n_cards: int, now: datetime) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(sessions).values(profile_id=profile_id, mode=mode, started_at=_naive(now), n_cards=n_cards)
        )
        return int(result.inserted_primary_key[0])


def record_review(
    engine: Engine, profile_id: int, review: ReviewRow, state: Mapping[str, Any], session_id: int | None = None
) -> None:
    """One transaction: the review row and the card's new FSRS state land together or not at all."""
    with engine.begin() as conn:
        conn.execute(sa.insert(reviews).values(profile_id=profile_id, session_id=session_id, **_review_values(review)))
        _put_state(conn, profile_id, review.card_id, state)


def finish_session(engine: Engine, session_id: int, n_correct: int, score: int, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(sessions)
            .where(sessions.c.id == session_id)
            .values(finished_at=_naive(now), n_correct=n_correct, score=score)
        )


def _review_values(review: ReviewRow) -> dict[str, Any]:
    return {
        "card_id": review.card_id,
        "topic": review.topic,
        "reviewed_at": _naive(review.reviewed_at),
        "rating": int(review.rating),
        "correct": bool(review.correct),
        "timed_out": bool(review.timed_out),
        "elapsed_ms": int(review.elapsed_ms),
        "points": int(review.points),
    }


def _put_state(conn: Connection, profile_id: int, card_id: str, state: Mapping[str, Any]) -> None:
    # Update-then-insert works on every dialect; rows are per profile, so profiles never collide.
    values = {"state": json.dumps(dict(state)), "due": _naive(srs.due_at(state))}
    where = (card_states.c.profile_id == profile_id) & (card_states.c.card_id == card_id)
    if conn.execute(sa.update(card_states).where(where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(card_states).values(profile_id=profile_id, card_id=card_id, **values))


# ----- reads ---------------------------------------------------------------------------------------------
def load_states(engine: Engine, profile_id: int) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(card_states.c.card_id, card_states.c.state).where(card_states.c.profile_id == profile_id)
        )
        return {card_id: json.loads(state) for card_id, state in rows}


def load_reviews(engine: Engine, profile_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(reviews)
        .where(reviews.c.profile_id == profile_id)
        .order_by(reviews.c.reviewed_at, reviews.c.id)
    )
    with engine.connect() as conn:
        return [_aware_row(row._asdict(), "reviewed_at") for row in conn.execute(query)]


def load_sessions(engine: Engine, profile_id: int) -> list[dict[str, Any]]:
    query = sa.select(sessions).where(sessions.c.profile_id == profile_id).order_by(sessions.c.started_at, sessions.c.id)
    with engine.connect() as conn:
        return [_aware_row(row._asdict(), "started_at", "finished_at") for row in conn.execute(query)]


def _aware_row(row: dict[str, Any], *time_keys: str) -> dict[str, Any]:
    for key in time_keys:
        if row.get(key) is not None:
            row[key] = srs.utc(row[key])
    return row


# ----- export and import ---------------------------------------------------------------------------------
def export_profile(engine: Engine, profile_id: int, profile_name: str, now: datetime | None = None) -> dict[str, Any]:
    """A JSON-able snapshot of one profile's progress (sessions referenced by position, not database id)."""
    session_rows = load_sessions(engine, profile_id)
    position = {row["id"]: i for i, row in enumerate(session_rows)}
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "profile": profile_name,
        "exported_at": (now or _now()).isoformat(),
        "card_states": [{"card_id": cid, "state": state} for cid, state in sorted(load_states(engine, profile_id).items())],
        "reviews": [
            {
                "card_id": r["card_id"],
                "topic": r["topic"],
                "reviewed_at": r["reviewed_at"].isoformat(),
                "rating": r["rating"],
                "correct": bool(r["correct"]),
                "timed_out": bool(r["timed_out"]),
                "elapsed_ms": r["elapsed_ms"],
                "points": r["points"],
                "session": position.get(r["session_id"]),
            }
            for r in load_reviews(engine, profile_id)
        ],
        "sessions": [
            {
                "mode": s["mode"],
                "started_at": s["started_at"].isoformat(),
                "finished_at": s["finished_at"].isoformat() if s["finished_at"] else None,
                "n_cards": s["n_cards"],
                "n_correct": s["n_correct"],
                "score": s["score"],
            }
            for s in session_rows
        ],
    }


@dataclass(frozen=True)
class ImportPayload:
    profile: str
    card_states: list[tuple[str, dict[str, Any]]]
    reviews: list[tuple[ReviewRow, int | None]]
    sessions: list[dict[str, Any]]


def validate_import(raw: bytes | str, known_card_ids: Iterable[str]) -> ImportPayload:
    """Parse and check an export file completely before anything is written; raise ImportRejected."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected(
            f"The file is {len(data) / 1e6:.1f} MB; progress files are at most {MAX_IMPORT_BYTES / 1e6:.0f} MB. Nothing was imported."
        )
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ImportRejected("The file is not UTF-8 text, so it is not a Descent progress export. Nothing was imported.") from None
    except json.JSONDecodeError as exc:
        raise ImportRejected(f"The file is not valid JSON ({exc.msg} at line {exc.lineno}). Nothing was imported.") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise ImportRejected("This file is not a Descent progress export (its 'format' is missing or different). Nothing was imported.")
    if doc.get("version") != EXPORT_VERSION:
        raise ImportRejected(
            f"This export has version {doc.get('version')!r}; this app reads version {EXPORT_VERSION}. Nothing was imported."
        )
    checker = _ImportChecker(set(known_card_ids))
    payload = checker.payload(doc)
    if checker.problems:
        shown = "; ".join(checker.problems[:5])
        more = f" (and {len(checker.problems) - 5} more)" if len(checker.problems) > 5 else ""
        raise ImportRejected(f"The file was rejected: {shown}{more}. Nothing was imported.")
    return payload


class _ImportChecker:
    """Collects every problem in an export document instead of stopping at the first."""

    def __init__(self, known_card_ids: set[str]):
        self.known = known_card_ids
        self.problems: list[str] = []
        self.unknown_ids: set[str] = set()

    def payload(self, doc: dict[str, Any]) -> ImportPayload:
        profile = doc.get("profile")
        if not isinstance(profile, str):
            self.problems.append("'profile' must be a string")
        lists = {key: doc.get(key) for key in ("card_states", "reviews", "sessions")}
        for key, value in lists.items():
            if not isinstance(value, list):
                self.problems.append(f"'{key}' must be a list")
                lists[key] = []
            elif len(value) > MAX_IMPORT_ROWS:
                self.problems.append(f"'{key}' has {len(value)} rows; the limit is {MAX_IMPORT_ROWS}")
                lists[key] = []
        session_rows = [self._session(i, s) for i, s in enumerate(lists["sessions"])]
        states = [self._state(i, s) for i, s in enumerate(lists["card_states"])]
        review_rows = [self._review(i, r, len(session_rows)) for i, r in enumerate(lists["reviews"])]
        ids = [s[0] for s in states if s]
        if len(set(ids)) != len(ids):
            self.problems.append("a card appears twice in 'card_states'")
        if self.unknown_ids:
            listed = ", ".join(sorted(self.unknown_ids)[:5])
            self.problems.insert(0, f"{len(self.unknown_ids)} card id(s) are not in the current decks ({listed})")
        return ImportPayload(
            profile=profile if isinstance(profile, str) else "",
            card_states=[s for s in states if s],
            reviews=[r for r in review_rows if r],
            sessions=[s for s in session_rows if s],
        )

    def _card_id(self, value: Any, where: str) -> str | None:
        if not isinstance(value, str):
            self.problems.append(f"{where}: card_id must be a string")
            return None
        if value not in self.known:
            self.unknown_ids.add(value)
            return None
        return value

    def _state(self, i: int, row: Any) -> tuple[str, dict[str, Any]] | None:
        where = f"card_states[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("state"), dict):
            self.problems.append(f"{where} must be an object with card_id and state")
            return None
        card_id = self._card_id(row.get("card_id"), where)
        try:
            state = srs.state_from_dict(row["state"]).to_dict()  # fsrs itself checks the fields
            srs.due_at(state)
        except (KeyError, TypeError, ValueError) as exc:
            self.problems.append(f"{where}: not a valid FSRS card state ({type(exc).__name__}: {exc})")
            return None
        return (card_id, state) if card_id else None

    def _review(self, i: int, row: Any, n_sessions: int) -> tuple[ReviewRow, int | None] | None:
        where = f"reviews[{i}]"
        if not isinstance(row, dict):
            self.problems.append(f"{where} must be an object")
            return None
        card_id = self._card_id(row.get("card_id"), where)
        ok = _check_fields(
            row,
            {
                "topic": lambda v: v in SECTIONS,
                "rating": lambda v: _is_int(v) and 1 <= v <= 4,
                "correct": lambda v: isinstance(v, bool),
                "timed_out": lambda v: isinstance(v, bool),
                "elapsed_ms": lambda v: _is_int(v) and 0 <= v <= 24 * 3600 * 1000,
                "points": lambda v: _is_int(v) and 0 <= v <= 10_000,
                "reviewed_at": _is_datetime,
                "session": lambda v: v is None or (_is_int(v) and 0 <= v < n_sessions),
            },
        )
        if ok is not True:
            self.problems.append(f"{where}: bad or missing {ok}")
            return None
        if card_id is None:
            return None
        review = ReviewRow(
            card_id=card_id,
            topic=row["topic"],
            reviewed_at=srs.utc(datetime.fromisoformat(row["reviewed_at"])),
            rating=row["rating"],
            correct=row["correct"],
            timed_out=row["timed_out"],
            elapsed_ms=row["elapsed_ms"],
            points=row["points"],
        )
        return review, row["session"]

    def _session(self, i: int, row: Any) -> dict[str, Any] | None:
        where = f"sessions[{i}]"
        if not isinstance(row, dict):
            self.problems.append(f"{where} must be an object")
            return None
        ok = _check_fields(
            row,
            {
                "mode": lambda v: isinstance(v, str) and 0 < len(v) <= 16,
                "started_at": _is_datetime,
                "finished_at": lambda v: v is None or _is_datetime(v),
                "n_cards": lambda v: _is_int(v) and v >= 0,
                "n_correct": lambda v: _is_int(v) and v >= 0,
                "score": lambda v: _is_int(v) and v >= 0,
            },
        )
        if ok is not True:
            self.problems.append(f"{where}: bad or missing {ok}")
            return None
        return dict(row)


def _check_fields(row: Mapping[str, Any], checks: Mapping[str, Any]) -> bool | str:
    """True when every field passes; otherwise the name of the first field that does not."""
    for name, check in checks.items():
        if name not in row or not check(row[name]):
            return name
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def import_profile(engine: Engine, profile_id: int, payload: ImportPayload) -> None:
    """Replace one profile's progress with a validated payload, all in one transaction."""
    with engine.begin() as conn:
        for table in (reviews, card_states, sessions):
            conn.execute(sa.delete(table).where(table.c.profile_id == profile_id))
        new_ids = []
        for s in payload.sessions:
            result = conn.execute(
                sa.insert(sessions).values(
                    profile_id=profile_id,
                    mode=s["mode"],
                    started_at=_naive(srs.utc(datetime.fromisoformat(s["started_at"]))),
                    finished_at=_naive(srs.utc(datetime.fromisoformat(s["finished_at"]))) if s["finished_at"] else None,
                    n_cards=s["n_cards"],
                    n_correct=s["n_correct"],
                    score=s["score"],
                )
            )
            new_ids.append(int(result.inserted_primary_key[0]))
        for review, session_ref in payload.reviews:
            session_id = new_ids[session_ref] if session_ref is not None else None
            conn.execute(sa.insert(reviews).values(profile_id=profile_id, session_id=session_id, **_review_values(review)))
        for card_id, state in payload.card_states:
            _put_state(conn, profile_id, card_id, state)


def snapshot(engine: Engine, profile_id: int) -> dict[str, Any]:
    """Everything stored for a profile, for tests that check an operation changed nothing."""
    return {
        "states": load_states(engine, profile_id),
        "reviews": load_reviews(engine, profile_id),
        "sessions": load_sessions(engine, profile_id),
    }


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _naive(moment: datetime) -> datetime:
    return srs.utc(moment).replace(tzinfo=None)
