"""Progress store: schema and migrations, per-answer commits, card states with versions, in any SQLAlchemy database.

Every function takes an Engine (the UI passes `st.connection("sql").engine`), so the store is tested without
Streamlit, on SQLite and on PostgreSQL. Datetimes are stored as naive UTC (SQLite keeps no zone) and handed back
timezone-aware.

Three rules keep progress safe when many people, or one person in two tabs, write at once:

- An answer is one short transaction that holds the card's row while it works: it locks the row (PostgreSQL
  ``SELECT ... FOR UPDATE``; SQLite takes its write lock at ``BEGIN IMMEDIATE``), reads the state as stored *now*,
  lets the scheduler compute the next state from it, and writes it back with its `version` raised by one (checked
  as well, so a writer that somehow got past the lock still cannot overwrite a newer state). A tab holding a stale
  copy therefore never overwrites a review made in another tab, and writers queue instead of failing each other:
  a second writer of the same card waits until the first commits, then builds on what the first wrote.
- SQLite's own lock is not a queue: a waiting writer polls, and a steady stream of short writers can starve it
  (an import's chunks behind a classroom's answers). The writers of one SQLite file in this process (a Streamlit
  server is one process) therefore take turns first come, first served (`_WriteQueue`); other processes still
  meet at SQLite's lock, with its busy timeout and the retries below.
- Transient errors (SQLite busy, a PostgreSQL serialization failure or dropped connection) are retried with
  backoff; `TransientStoreError` tells the caller the write did not happen yet and may be tried again later.
- Everything a profile owns carries a `generation`. An import writes a new generation in small transactions and
  then switches the profile to it in one tiny one, so a large import never holds the write lock for long and a
  failed import leaves the old progress in place.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import threading
import random
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import srs
from .errors import SchemaError, StoreError, TransientStoreError, UndoRefused
from .names import MAX_PROFILE_NAME, NAME_COLUMN, name_key

SCHEMA_VERSION = 2
# How long one SQLite statement waits for another writer's lock before the retry loop takes over.
SQLITE_BUSY_TIMEOUT_MS = 500
RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4, 0.8)
# How long a writer waits for its turn behind the other writers of the same SQLite file in this process.
WRITE_QUEUE_TIMEOUT_S = 20.0
# Tests switch this off to prove that the version check alone still refuses a stale write (see _for_update).
LOCKING = True

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
    # NFKC + case-folded name: "Ada", "ADA" and the full-width "Ａｄａ" are one profile.
    sa.Column("name_key", sa.String(NAME_COLUMN), nullable=False, unique=True),
    sa.Column("name", sa.String(NAME_COLUMN), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("passphrase_hash", sa.String(255), nullable=True),
    sa.Column("owner", sa.String(255), nullable=True),  # the signed-in identity that owns it (st.user), if any
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("desired_retention", sa.Float, nullable=True),
    sa.Column("fsrs_parameters", sa.Text, nullable=True),  # JSON list of 21 weights fitted to this profile
    sa.Column("fit_report", sa.Text, nullable=True),  # JSON: the log-loss before and after that fit
    sa.Index("ix_profiles_owner", "owner", unique=True),
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
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    # A session in progress, as descent_core.quiz.session.QuizSession.snapshot() writes it, so a reload resumes it;
    # found again by the hash of the resume token the tab holds (never the token itself).
    sa.Column("snapshot", sa.Text, nullable=True),
    sa.Column("resume_key", sa.String(64), nullable=True),
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
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_reviews_profile_time", "profile_id", "reviewed_at"),
    sa.Index("ix_reviews_profile_card", "profile_id", "generation", "card_id"),
)


def _card_states_table(name: str, meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        meta,
        sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), primary_key=True),
        sa.Column("generation", sa.Integer, primary_key=True, server_default="0"),
        sa.Column("card_id", sa.String(100), primary_key=True),
        sa.Column("state", sa.Text, nullable=True),  # fsrs.Card.to_dict() as JSON; empty for a new or reset card
        sa.Column("due", sa.DateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reset_at", sa.DateTime, nullable=True),
    )


card_states = _card_states_table("card_states", metadata)

# One row per import: its id is the generation the imported rows are written under.
import_batches = sa.Table(
    "import_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished", sa.Boolean, nullable=False, server_default=sa.false()),
)


# ----- engines, transient errors and retries --------------------------------------------------------------------
def prepare_engine(engine: Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """Per-connection settings for SQLite: wait briefly for a lock instead of failing at once, and let this module
    begin transactions itself, so that a write transaction takes the write lock first (`writing`)."""
    if engine.dialect.name == "sqlite" and not getattr(engine, "_descent_prepared", False):
        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised through every SQLite test
            dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN of its own; _on_begin does
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover - exercised through every SQLite test
            # A deferred transaction that reads and then writes must upgrade its lock, and SQLite refuses an upgrade
            # at once (no waiting) when another writer is ahead. IMMEDIATE takes the write lock up front and waits.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("descent_write") else "BEGIN")

        engine._descent_prepared = True  # type: ignore[attr-defined]
        engine.dispose()  # connections made before the listeners would miss them
    return engine


class _WriteQueue:
    """First come, first served turns for the writers of one SQLite file in this process."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: collections.deque[object] = collections.deque()
        self._holder: int | None = None

    @contextlib.contextmanager
    def turn(self, timeout_s: float = WRITE_QUEUE_TIMEOUT_S) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            if self._holder == me:
                # The same thread would wait for itself forever: a write started inside another write.
                raise StoreError("A write to the progress database was started inside another one.")
            ticket = object()
            self._waiting.append(ticket)
            if not self._changed.wait_for(lambda: self._holder is None and self._waiting[0] is ticket, timeout_s):
                self._waiting.remove(ticket)
                self._changed.notify_all()
                raise TransientStoreError(f"other writers kept the progress database busy for {timeout_s:.0f} s")
            self._waiting.popleft()
            self._holder = me
        try:
            yield
        finally:
            with self._changed:
                self._holder = None
                self._changed.notify_all()


_queues: dict[str, _WriteQueue] = {}
_queues_lock = threading.Lock()


def _write_queue(engine: Engine) -> _WriteQueue | None:
    """The queue of an SQLite file (None for other databases: their row locks queue writers themselves)."""
    if engine.dialect.name != "sqlite" or not LOCKING:
        return None
    database = engine.url.database
    key = os.path.realpath(database) if database and database != ":memory:" else f"memory:{id(engine)}"
    with _queues_lock:
        return _queues.setdefault(key, _WriteQueue())


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction, committed on leaving the block (rolled back on an error).

    On SQLite it waits for its turn among this process's writers of the file, then begins with the write lock held
    (see prepare_engine), so its reads and its writes see one state; on PostgreSQL the rows it must not lose are
    locked by the statements themselves (`_for_update`).
    """
    prepare_engine(engine)
    queue = _write_queue(engine)
    with queue.turn() if queue is not None else contextlib.nullcontext():
        with engine.connect() as conn:
            conn.execution_options(descent_write=LOCKING)
            with conn.begin():
                yield conn


def _for_update(query: sa.Select) -> sa.Select:
    """Lock the selected rows until the transaction ends (PostgreSQL; SQLite already holds its write lock)."""
    return query.with_for_update() if LOCKING else query


_TRANSIENT_PG_CODES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"}


def is_transient(exc: BaseException) -> bool:
    """Errors that say "not now" rather than "never": worth retrying, and worth keeping the answer for later."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code and (code in _TRANSIENT_PG_CODES or str(code).startswith("08")):
            return True
        if isinstance(exc, sa.exc.OperationalError):
            text = str(exc.orig).lower()
            return any(word in text for word in ("locked", "busy", "timeout", "could not connect", "connection"))
    return False


T = TypeVar("T")


class _Conflict(Exception):
    """Another writer changed the row between our read and our write: read again."""


def retrying(action: Callable[[], T], delays: Iterable[float] = RETRY_DELAYS_S,
             sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`, retrying transient errors and version conflicts with jittered, growing pauses.

    Raises TransientStoreError when the database stays busy; any other error is raised as it is.
    """
    waits = list(delays)
    for attempt in range(len(waits) + 1):
        try:
            return action()
        except _Conflict:
            if attempt == len(waits):
                raise TransientStoreError("the card kept changing under this write; try again") from None
        except sa.exc.DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt == len(waits):
                raise TransientStoreError(_first_line(exc)) from exc
        sleep(waits[attempt] * (0.5 + random.random()))
    raise AssertionError("unreachable")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or type(exc).__name__).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


# ----- schema --------------------------------------------------------------------------------------------------
def ensure_schema(engine: Engine) -> int:
    """Create the tables on first run, migrate an older database forward, and return the schema version."""
    prepare_engine(engine)

    def create() -> None:
        metadata.create_all(engine, checkfirst=True)

    try:
        retrying(create)
    except sa.exc.DBAPIError:
        # Two sessions starting at once can race on CREATE TABLE; the second attempt sees the tables.
        create()
    for attempt in range(3):
        try:
            return _migrate(engine)
        except sa.exc.DBAPIError:
            if attempt == 2:
                raise  # a second process migrating at the same moment wins; re-reading the version settles it
    raise AssertionError("unreachable")


def _migrate(engine: Engine) -> int:
    with writing(engine) as conn:
        query = sa.select(schema_version.c.version)
        if engine.dialect.name != "sqlite":
            query = query.with_for_update()  # one migrator at a time on a shared server
        found = conn.execute(query).scalar()
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


def _migrate_to_2(conn: Connection) -> None:
    """Schema 1 -> 2: passphrases, owners, generations, card versions and flags; names re-keyed with NFKC.

    Card states are copied through the strict fsrs check: a state an older import let in (NaN stability, a
    fractional step) becomes a new card again instead of breaking every later answer to it.
    """
    for column in ("passphrase_hash VARCHAR(255)", "owner VARCHAR(255)", "generation INTEGER NOT NULL DEFAULT 0",
                   "desired_retention FLOAT", "fsrs_parameters TEXT", "fit_report TEXT"):
        conn.execute(sa.text(f"ALTER TABLE profiles ADD COLUMN {column}"))
    conn.execute(sa.text("CREATE UNIQUE INDEX ix_profiles_owner ON profiles (owner)"))
    taken: set[str] = set()
    for profile_id, name in conn.execute(sa.text("SELECT id, name FROM profiles ORDER BY id")).all():
        base = " ".join(unicodedata.normalize("NFKC", name).split())
        display, key, suffix = base, name_key(base), 2
        while key in taken:  # two old names that NFKC makes equal: the later one gets a number
            display = f"{base} {suffix}"
            key, suffix = name_key(display), suffix + 1
        taken.add(key)
        conn.execute(sa.update(profiles).where(profiles.c.id == profile_id).values(name_key=key, name=display))
    for table in ("quiz_sessions", "reviews"):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"))
    for column in ("snapshot TEXT", "resume_key VARCHAR(64)"):
        conn.execute(sa.text(f"ALTER TABLE quiz_sessions ADD COLUMN {column}"))
    conn.execute(sa.text("CREATE INDEX ix_reviews_profile_card ON reviews (profile_id, generation, card_id)"))
    # SQLite cannot change a primary key in place: build the new table beside the old one, copy, swap.
    staging = _card_states_table("card_states_next", sa.MetaData())
    profiles.to_metadata(staging.metadata)
    staging.create(conn)
    rows = conn.execute(sa.text("SELECT profile_id, card_id, state FROM card_states")).all()
    for profile_id, card_id, raw in rows:
        try:
            state = srs.checked_state(json.loads(raw), card_id)
        except (ValueError, TypeError):
            state = None
        conn.execute(sa.insert(staging).values(
            profile_id=profile_id, generation=0, card_id=card_id, version=1, suspended=False,
            state=json.dumps(state) if state else None, due=naive_utc(srs.due_at(state)) if state else None))
    conn.execute(sa.text("DROP TABLE card_states"))
    conn.execute(sa.text("ALTER TABLE card_states_next RENAME TO card_states"))


# version -> function(connection) bringing a database from version-1 up to version.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _migrate_to_2}


def check_writable(engine: Engine) -> None:
    """Raise if the database refuses writes (read-only file, replica, permissions); writes nothing."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(sa.update(schema_version).values(version=schema_version.c.version))
        finally:
            transaction.rollback()


def current_generation(profile_id: int) -> sa.ScalarSelect:
    """The profile's live generation, as a subquery: reads and writes in one statement see one generation."""
    return sa.select(profiles.c.generation).where(profiles.c.id == profile_id).scalar_subquery()


# ----- writes during a quiz ------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Recorded:
    """What one committed answer changed: enough to take it back again."""

    review_id: int
    card_id: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    version: int


def start_session(engine: Engine, profile_id: int, mode: str, n_cards: int, now: datetime) -> int:
    def write() -> int:
        with writing(engine) as conn:
            result = conn.execute(sa.insert(sessions).values(
                profile_id=profile_id, mode=mode, started_at=naive_utc(now), n_cards=n_cards,
                generation=current_generation(profile_id)))
            return int(result.inserted_primary_key[0])

    return retrying(write)


def record_review(engine: Engine, profile_id: int, review: ReviewRow,
                  schedule: Callable[[dict[str, Any] | None], dict[str, Any]], session_id: int | None = None) -> Recorded:
    """One transaction: read the card's stored state, schedule from it, write the review and the new state.

    `schedule(stored_state_or_None) -> new_state` is called with the state as it is in the database at this
    moment (a corrupt one counts as a new card), never with a copy a tab kept in memory.
    """

    def attempt() -> Recorded:
        with writing(engine) as conn:
            generation = conn.execute(sa.select(current_generation(profile_id))).scalar()
            if generation is None:
                raise StoreError("This profile no longer exists.")
            key = _card_key(profile_id, generation, review.card_id)
            # FOR UPDATE: a second writer of this card waits here until this transaction ends, then reads our state.
            row = conn.execute(_for_update(sa.select(card_states.c.state, card_states.c.version).where(key))).first()
            before = _valid_state(row.state, review.card_id) if row else None
            after = schedule(before)
            values = {"state": json.dumps(after), "due": naive_utc(srs.due_at(after))}
            if row is None:
                try:
                    conn.execute(sa.insert(card_states).values(profile_id=profile_id, generation=generation,
                                                               card_id=review.card_id, version=1, **values))
                except sa.exc.IntegrityError:
                    # Another writer created the row first. Leaving the block rolls back (the insert was this
                    # transaction's first write), and the retry reads the row it made.
                    raise _Conflict() from None
                version = 1
            else:
                version = row.version + 1
                updated = conn.execute(sa.update(card_states).where(key & (card_states.c.version == row.version))
                                       .values(version=version, **values))
                if updated.rowcount != 1:
                    raise _Conflict()
            live_session = None
            if session_id is not None:  # an import may have replaced the session this tab started
                live_session = conn.execute(sa.select(sessions.c.id).where(
                    (sessions.c.id == session_id) & (sessions.c.generation == generation))).scalar()
            result = conn.execute(sa.insert(reviews).values(profile_id=profile_id, session_id=live_session,
                                                            generation=generation, **_review_values(review)))
            return Recorded(int(result.inserted_primary_key[0]), review.card_id, before, after, version)

    return retrying(attempt)


def undo_review(engine: Engine, profile_id: int, recorded: Recorded) -> None:
    """Delete a review and put the card back as it was, unless it has been reviewed again since (UndoRefused)."""

    def attempt() -> None:
        with writing(engine) as conn:
            generation = conn.execute(sa.select(current_generation(profile_id))).scalar()
            key = _card_key(profile_id, generation, recorded.card_id)
            version = conn.execute(_for_update(sa.select(card_states.c.version).where(key))).scalar()
            if version != recorded.version:
                raise UndoRefused("This card was reviewed again since (another tab?), so the answer stays.")
            before = recorded.before
            conn.execute(sa.update(card_states).where(key & (card_states.c.version == version)).values(
                version=version + 1, state=json.dumps(before) if before else None,
                due=naive_utc(srs.due_at(before)) if before else None))
            conn.execute(sa.delete(reviews).where((reviews.c.id == recorded.review_id) & (reviews.c.profile_id == profile_id)))

    retrying(attempt)


def finish_session(engine: Engine, session_id: int, n_correct: int, score: int, now: datetime) -> None:
    def write() -> None:
        with writing(engine) as conn:
            conn.execute(sa.update(sessions).where(sessions.c.id == session_id)
                         .values(finished_at=naive_utc(now), n_correct=n_correct, score=score))

    retrying(write)


def set_suspended(engine: Engine, profile_id: int, card_id: str, suspended: bool) -> None:
    """Suspend a card (no mode picks it) or bring it back; its schedule is kept either way."""
    _update_flags(engine, profile_id, card_id, suspended=bool(suspended))


def reset_card(engine: Engine, profile_id: int, card_id: str, now: datetime) -> None:
    """Forget a card's schedule: it is new again. Its past reviews stay in the history (and out of fitting)."""
    _update_flags(engine, profile_id, card_id, state=None, due=None, reset_at=naive_utc(now))


def _update_flags(engine: Engine, profile_id: int, card_id: str, **values: Any) -> None:
    def attempt() -> None:
        with writing(engine) as conn:
            generation = conn.execute(sa.select(current_generation(profile_id))).scalar()
            key = _card_key(profile_id, generation, card_id)
            updated = conn.execute(sa.update(card_states).where(key).values(version=card_states.c.version + 1, **values))
            if updated.rowcount == 0:
                try:
                    conn.execute(sa.insert(card_states).values(profile_id=profile_id, generation=generation,
                                                               card_id=card_id, version=1, **values))
                except sa.exc.IntegrityError:
                    raise _Conflict() from None

    retrying(attempt)


def _card_key(profile_id: int, generation: int, card_id: str) -> sa.ColumnElement[bool]:
    return ((card_states.c.profile_id == profile_id) & (card_states.c.generation == generation)
            & (card_states.c.card_id == card_id))


def _valid_state(raw: str | None, card_id: str) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        return srs.checked_state(json.loads(raw), card_id)
    except (ValueError, TypeError):
        return None  # a damaged stored state: schedule the card as new rather than fail the answer


def _review_values(review: ReviewRow) -> dict[str, Any]:
    return {
        "card_id": review.card_id,
        "topic": review.topic,
        "reviewed_at": naive_utc(review.reviewed_at),
        "rating": int(review.rating),
        "correct": bool(review.correct),
        "timed_out": bool(review.timed_out),
        "elapsed_ms": int(review.elapsed_ms),
        "points": int(review.points),
    }


# ----- reads ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardRow:
    card_id: str
    state: dict[str, Any] | None
    suspended: bool
    reset_at: datetime | None
    version: int


def load_card_rows(engine: Engine, profile_id: int) -> dict[str, CardRow]:
    """Every card this profile has touched: its checked state (None when new or reset) and its flags."""
    query = sa.select(card_states).where((card_states.c.profile_id == profile_id)
                                         & (card_states.c.generation == current_generation(profile_id)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {r.card_id: CardRow(r.card_id, _valid_state(r.state, r.card_id), bool(r.suspended),
                               srs.utc(r.reset_at) if r.reset_at else None, int(r.version)) for r in rows}


def load_states(engine: Engine, profile_id: int) -> dict[str, dict[str, Any]]:
    """FSRS states of the cards this profile has reviewed (new, reset and damaged ones left out)."""
    return {cid: row.state for cid, row in load_card_rows(engine, profile_id).items() if row.state is not None}


def suspended_cards(engine: Engine, profile_id: int) -> set[str]:
    return {cid for cid, row in load_card_rows(engine, profile_id).items() if row.suspended}


def load_reviews(engine: Engine, profile_id: int, card_id: str | None = None) -> list[dict[str, Any]]:
    query = (sa.select(reviews)
             .where((reviews.c.profile_id == profile_id) & (reviews.c.generation == current_generation(profile_id)))
             .order_by(reviews.c.reviewed_at, reviews.c.id))
    if card_id is not None:
        query = query.where(reviews.c.card_id == card_id)
    with engine.connect() as conn:
        return [_aware_row(row._asdict(), "reviewed_at") for row in conn.execute(query)]


def load_sessions(engine: Engine, profile_id: int) -> list[dict[str, Any]]:
    query = (sa.select(sessions)
             .where((sessions.c.profile_id == profile_id) & (sessions.c.generation == current_generation(profile_id)))
             .order_by(sessions.c.started_at, sessions.c.id))
    with engine.connect() as conn:
        return [_aware_row(row._asdict(), "started_at", "finished_at") for row in conn.execute(query)]


def card_history(engine: Engine, profile_id: int, card_id: str) -> list[dict[str, Any]]:
    """One card's reviews, oldest first (the card browser's history), including those before a reset."""
    return load_reviews(engine, profile_id, card_id)


def reviews_per_day(engine: Engine, profile_id: int, utc_offset: timedelta = timedelta(0)) -> dict[Any, int]:
    """Reviews per calendar day (in the reader's zone, given as an offset from UTC), for the review heatmap."""
    counts: dict[Any, int] = {}
    for row in load_reviews(engine, profile_id):
        day = (row["reviewed_at"] + utc_offset).date()
        counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))


def past_reviews(engine: Engine, profile_id: int) -> list[srs.PastReview]:
    """The reviews FSRS learns from: each card's history since it was last reset."""
    resets = {cid: row.reset_at for cid, row in load_card_rows(engine, profile_id).items() if row.reset_at}
    return [srs.PastReview(r["card_id"], r["reviewed_at"], int(r["rating"])) for r in load_reviews(engine, profile_id)
            if r["card_id"] not in resets or r["reviewed_at"] > resets[r["card_id"]]]


def _aware_row(row: dict[str, Any], *time_keys: str) -> dict[str, Any]:
    for key in time_keys:
        if row.get(key) is not None:
            row[key] = srs.utc(row[key])
    row.pop("generation", None)
    return row


def snapshot(engine: Engine, profile_id: int) -> dict[str, Any]:
    """Everything stored for a profile, for tests that check an operation changed nothing."""
    return {
        "cards": load_card_rows(engine, profile_id),
        "reviews": load_reviews(engine, profile_id),
        "sessions": load_sessions(engine, profile_id),
    }


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    return srs.utc(moment).replace(tzinfo=None)
