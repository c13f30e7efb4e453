"""Export and import of one profile's progress as JSON, validated completely before anything is written.

An import file is untrusted text. Its size, nesting depth and number lengths are checked on the raw text *before*
the JSON parser sees it (a 100,000-deep bracket or a 5,000-digit number would otherwise raise out of the parser),
then every field is checked: card states are rebuilt through fsrs's own types with every number finite and ranged,
steps whole, dates between 2000 and 2200. Any problem rejects the whole file with a message naming the field, and
the database is not touched. A valid file is written as a new generation in bounded transactions (store.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from descent_core import content

from . import srs
from .profiles import load_settings
from .session import MODES
from .errors import StoreError
from .store import (ReviewRow, TransientStoreError, card_states, current_generation, import_batches, load_card_rows,
                    load_reviews, load_sessions, naive_utc, now_utc, profiles, retrying, reviews,
                    sessions, writing)

EXPORT_FORMAT = "descent-progress"
EXPORT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
MAX_DEPTH = 6  # the format itself needs 4: document, list, row, state
MAX_NUMBER_CHARS = 40
MAX_TEXT_CHARS = 200
MAX_ELAPSED_MS = 24 * 3600 * 1000
IMPORT_CHUNK_ROWS = 500
UTF8_BOM = b"\xef\xbb\xbf"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[^\[\]{}]")
_LONG_NUMBER = re.compile(r"[-+0-9.eE]{%d,}" % (MAX_NUMBER_CHARS + 1))


class ImportRejected(StoreError, ValueError):
    """The import file failed validation; nothing was written. The message names the problem and can be shown as-is
    (a StoreError, like every error of the store the page reports; a ValueError, as it always was)."""


# ----- export --------------------------------------------------------------------------------------------------
def export_profile(engine: Engine, profile_id: int, profile_name: str, now: datetime | None = None) -> dict[str, Any]:
    """A JSON-able snapshot of one profile's progress (sessions referenced by position, not database id)."""
    session_rows = load_sessions(engine, profile_id)
    position = {row["id"]: i for i, row in enumerate(session_rows)}
    settings = load_settings(engine, profile_id)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "profile": profile_name,
        "exported_at": (now or now_utc()).isoformat(),
        "settings": {
            "desired_retention": settings.desired_retention,
            "fsrs_parameters": list(settings.parameters) if settings.parameters else None,
        },
        "card_states": [
            {"card_id": cid, "state": row.state, "suspended": row.suspended,
             "reset_at": row.reset_at.isoformat() if row.reset_at else None}
            for cid, row in sorted(load_card_rows(engine, profile_id).items())
        ],
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


# ----- validation ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardImport:
    card_id: str
    state: dict[str, Any] | None
    suspended: bool
    reset_at: datetime | None


@dataclass(frozen=True)
class ImportPayload:
    profile: str
    card_states: list[CardImport]
    reviews: list[tuple[ReviewRow, int | None]]
    sessions: list[dict[str, Any]]
    desired_retention: float | None = None
    parameters: tuple[float, ...] | None = None


def validate_import(raw: bytes | str, known_card_ids: Iterable[str], now: datetime | None = None) -> ImportPayload:
    """Check an export file completely before anything is written; raise ImportRejected naming the problem."""
    text = _checked_text(raw)
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise ImportRejected(f"The file is not valid JSON ({exc.msg} at line {exc.lineno}). Nothing was imported.") from None
        raise ImportRejected(f"The file holds a value JSON progress files never contain ({exc}). Nothing was imported.") from None
    except RecursionError:  # unreachable after the depth check; kept so no input can escape as a crash
        raise ImportRejected("The file is nested too deeply. Nothing was imported.") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise ImportRejected("This file is not a Descent progress export (its 'format' is missing or different). Nothing was imported.")
    if doc.get("version") not in READABLE_VERSIONS:
        raise ImportRejected(
            f"This export has version {_shown(doc.get('version'))}; this app reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Nothing was imported.")
    checker = _ImportChecker(set(known_card_ids), now or now_utc())
    payload = checker.payload(doc)
    if checker.problems:
        shown = "; ".join(checker.problems[:5])
        more = f" (and {len(checker.problems) - 5} more)" if len(checker.problems) > 5 else ""
        raise ImportRejected(f"The file was rejected: {shown}{more}. Nothing was imported.")
    return payload


def _checked_text(raw: bytes | str) -> str:
    """The file as text, after the checks that must come before parsing."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected(
            f"The file is {len(data) / 1e6:.1f} MB; progress files are at most {MAX_IMPORT_BYTES / 1e6:.0f} MB. Nothing was imported.")
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]  # editors on Windows like to add one
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRejected("The file is not UTF-8 text, so it is not a Descent progress export. Nothing was imported.") from None
    skeleton = _STRING.sub('""', text)
    if _LONG_NUMBER.search(skeleton):
        raise ImportRejected(f"The file holds a number longer than {MAX_NUMBER_CHARS} characters; no progress file "
                             "needs one. Nothing was imported.")
    brackets = _BRACKETS.sub("", skeleton)
    for _ in range(MAX_DEPTH):  # each pass removes the innermost pairs; what is left after MAX_DEPTH is too deep
        stripped = brackets.replace("[]", "").replace("{}", "")
        if stripped == brackets:
            break
        brackets = stripped
    else:
        if brackets:
            raise ImportRejected(f"The file is nested more than {MAX_DEPTH} levels deep; progress files are not. "
                                 "Nothing was imported.")
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a progress file may hold")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _ImportChecker:
    """Collects every problem in an export document instead of stopping at the first."""

    MAX_PROBLEM_CHARS = 200  # a message quotes parts of the file, and a hostile file can make them as long as it likes

    def _note(self, problem: str) -> None:
        if len(problem) > self.MAX_PROBLEM_CHARS:
            problem = problem[: self.MAX_PROBLEM_CHARS - 3] + "..."
        self.problems.append(problem)

    def __init__(self, known_card_ids: set[str], now: datetime):
        self.known = known_card_ids
        self.latest = srs.utc(now) + timedelta(days=1)  # nothing in an export can have happened after it was made
        self.problems: list[str] = []
        self.unknown_ids: set[str] = set()

    def payload(self, doc: dict[str, Any]) -> ImportPayload:
        profile = doc.get("profile")
        if not isinstance(profile, str) or len(profile) > MAX_TEXT_CHARS or not profile.isprintable():
            self._note(f"'profile' must be printable text of at most {MAX_TEXT_CHARS} characters")
            profile = ""
        lists = {key: doc.get(key) for key in ("card_states", "reviews", "sessions")}
        for key, value in lists.items():
            if not isinstance(value, list):
                self._note(f"'{key}' must be a list")
                lists[key] = []
            elif len(value) > MAX_IMPORT_ROWS:
                self._note(f"'{key}' has {len(value)} rows; the limit is {MAX_IMPORT_ROWS}")
                lists[key] = []
        retention, parameters = self._settings(doc.get("settings"))
        session_rows = [self._session(i, s) for i, s in enumerate(lists["sessions"])]
        states = [self._state(i, s) for i, s in enumerate(lists["card_states"])]
        review_rows = [self._review(i, r, len(session_rows)) for i, r in enumerate(lists["reviews"])]
        ids = [s.card_id for s in states if s]
        if len(set(ids)) != len(ids):
            self._note("a card appears twice in 'card_states'")
        if self.unknown_ids:
            listed = ", ".join(sorted(self.unknown_ids)[:5])
            self.problems.insert(0, f"{len(self.unknown_ids)} card id(s) are not in the current decks ({listed})")
        return ImportPayload(profile, [s for s in states if s], [r for r in review_rows if r],
                             [s for s in session_rows if s], retention, parameters)

    def _settings(self, value: Any) -> tuple[float | None, tuple[float, ...] | None]:
        if value is None:
            return None, None
        if not isinstance(value, dict) or set(value) - {"desired_retention", "fsrs_parameters"}:
            self._note("'settings' must be an object with desired_retention and fsrs_parameters")
            return None, None
        retention = parameters = None
        try:
            if value.get("desired_retention") is not None:
                retention = srs.check_retention(value["desired_retention"])
            if value.get("fsrs_parameters") is not None:
                parameters = srs.check_parameters(value["fsrs_parameters"])
        except ValueError as exc:
            self._note(f"settings: {exc}")
        return retention, parameters

    def _card_id(self, value: Any, where: str) -> str | None:
        if not isinstance(value, str) or len(value) > 100:
            self._note(f"{where}.card_id must be text of at most 100 characters")
            return None
        if value not in self.known:
            self.unknown_ids.add(_shown(value))
            return None
        return value

    def _time(self, value: Any, where: str, optional: bool = False) -> datetime | None | bool:
        """The parsed time; False (after noting the problem) when it is not a sane one."""
        if value is None and optional:
            return None
        try:
            moment = srs.parse_time(value)
        except ValueError as exc:
            self._note(f"{where} {exc}")
            return False
        if moment > self.latest:
            self._note(f"{where} lies after the export was made")
            return False
        return moment

    def _state(self, i: int, row: Any) -> CardImport | None:
        where = f"card_states[{i}]"
        if not isinstance(row, dict) or set(row) - {"card_id", "state", "suspended", "reset_at"}:
            self._note(f"{where} must be an object with card_id, state, suspended and reset_at")
            return None
        card_id = self._card_id(row.get("card_id"), where)
        suspended = row.get("suspended", False)
        if not isinstance(suspended, bool):
            self._note(f"{where}.suspended must be true or false")
            return None
        reset_at = self._time(row.get("reset_at"), f"{where}.reset_at", optional=True)
        state = None
        if row.get("state") is not None:
            try:
                state = srs.checked_state(row["state"], card_id)
            except srs.StateError as exc:
                self._note(f"{where}.state: {exc}")
                return None
            last = state["last_review"]
            if last is not None and srs.utc(datetime.fromisoformat(last)) > self.latest:
                self._note(f"{where}.state.last_review lies after the export was made")
                return None
        if reset_at is False or card_id is None:
            return None
        return CardImport(card_id, state, suspended, reset_at)  # type: ignore[arg-type]

    def _review(self, i: int, row: Any, n_sessions: int) -> tuple[ReviewRow, int | None] | None:
        where = f"reviews[{i}]"
        if not isinstance(row, dict):
            self._note(f"{where} must be an object")
            return None
        card_id = self._card_id(row.get("card_id"), where)
        bad = _first_bad(row, {
            "topic": lambda v: isinstance(v, str) and v in content.sections(),
            "rating": lambda v: _is_int(v) and 1 <= v <= 4,
            "correct": lambda v: isinstance(v, bool),
            "timed_out": lambda v: isinstance(v, bool),
            "elapsed_ms": lambda v: _is_int(v) and 0 <= v <= MAX_ELAPSED_MS,
            "points": lambda v: _is_int(v) and 0 <= v <= 10_000,
            "session": lambda v: v is None or (_is_int(v) and 0 <= v < n_sessions),
        })
        if bad:
            self._note(f"{where}: bad or missing {bad}")
            return None
        reviewed_at = self._time(row.get("reviewed_at"), f"{where}.reviewed_at")
        if card_id is None or reviewed_at is False:
            return None
        review = ReviewRow(card_id, row["topic"], reviewed_at, row["rating"], row["correct"], row["timed_out"],  # type: ignore[arg-type]
                           row["elapsed_ms"], row["points"])
        return review, row["session"]

    def _session(self, i: int, row: Any) -> dict[str, Any] | None:
        where = f"sessions[{i}]"
        if not isinstance(row, dict):
            self._note(f"{where} must be an object")
            return None
        bad = _first_bad(row, {
            "mode": lambda v: isinstance(v, str) and v in MODES,
            "n_cards": lambda v: _is_int(v) and 0 <= v <= 10_000,
            "n_correct": lambda v: _is_int(v) and 0 <= v <= 10_000,
            "score": lambda v: _is_int(v) and 0 <= v <= 10_000_000,
        })
        if bad:
            self._note(f"{where}: bad or missing {bad}")
            return None
        started = self._time(row.get("started_at"), f"{where}.started_at")
        finished = self._time(row.get("finished_at"), f"{where}.finished_at", optional=True)
        if started is False or finished is False:
            return None
        return {"mode": row["mode"], "started_at": started, "finished_at": finished, "n_cards": row["n_cards"],
                "n_correct": row["n_correct"], "score": row["score"]}


def _first_bad(row: Mapping[str, Any], checks: Mapping[str, Callable[[Any], bool]]) -> str | None:
    """The name of the first field that is missing or fails its check."""
    for name, check in checks.items():
        if name not in row or not check(row[name]):
            return name
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----- writing an import -----------------------------------------------------------------------------------------
def import_profile(engine: Engine, profile_id: int, payload: ImportPayload, chunk_rows: int = IMPORT_CHUNK_ROWS) -> None:
    """Replace one profile's progress with a validated payload.

    The rows go in under a fresh generation, `chunk_rows` per transaction, so other people's answers wait at most
    one short chunk for the write lock; one last small transaction switches the profile to the new generation.
    If anything fails before that switch, the partial rows are removed and the old progress is untouched.
    """
    generation = _start_batch(engine, profile_id)
    try:
        session_ids = _insert_sessions(engine, profile_id, generation, payload.sessions, chunk_rows)
        review_rows = [{"profile_id": profile_id, "generation": generation,
                        "session_id": session_ids[ref] if ref is not None else None,
                        **_review_columns(review)} for review, ref in payload.reviews]
        _insert_chunks(engine, reviews, review_rows, chunk_rows)
        card_rows = [{"profile_id": profile_id, "generation": generation, "card_id": c.card_id, "version": 1,
                      "state": json.dumps(c.state) if c.state else None,
                      "due": naive_utc(srs.due_at(c.state)) if c.state else None, "suspended": c.suspended,
                      "reset_at": naive_utc(c.reset_at) if c.reset_at else None} for c in payload.card_states]
        _insert_chunks(engine, card_states, card_rows, chunk_rows)
        old = _switch(engine, profile_id, generation, payload)
    except BaseException:
        try:
            _delete_generation(engine, profile_id, generation, chunk_rows)
        except Exception:  # leftovers of an unused generation are invisible to every read
            pass
        raise
    _delete_generation(engine, profile_id, old, chunk_rows)


def _start_batch(engine: Engine, profile_id: int) -> int:
    def write() -> int:
        with writing(engine) as conn:
            result = conn.execute(sa.insert(import_batches).values(profile_id=profile_id, started_at=naive_utc(now_utc())))
            return int(result.inserted_primary_key[0])

    return retrying(write)


def _insert_sessions(engine: Engine, profile_id: int, generation: int, rows: list[dict[str, Any]], chunk_rows: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), chunk_rows):
        def write(chunk=rows[start:start + chunk_rows]) -> list[int]:
            with writing(engine) as conn:
                made = []
                for s in chunk:
                    result = conn.execute(sa.insert(sessions).values(
                        profile_id=profile_id, generation=generation, mode=s["mode"], started_at=naive_utc(s["started_at"]),
                        finished_at=naive_utc(s["finished_at"]) if s["finished_at"] else None, n_cards=s["n_cards"],
                        n_correct=s["n_correct"], score=s["score"]))
                    made.append(int(result.inserted_primary_key[0]))
                return made

        ids.extend(retrying(write))
    return ids


def _insert_chunks(engine: Engine, table: sa.Table, rows: list[dict[str, Any]], chunk_rows: int) -> None:
    for start in range(0, len(rows), chunk_rows):
        def write(chunk=rows[start:start + chunk_rows]) -> None:
            with writing(engine) as conn:
                conn.execute(sa.insert(table), chunk)

        retrying(write)


def _switch(engine: Engine, profile_id: int, generation: int, payload: ImportPayload) -> int:
    """Make the new generation the profile's live one; returns the generation it replaced."""
    def write() -> int:
        with writing(engine) as conn:
            old = conn.execute(sa.select(current_generation(profile_id))).scalar()
            values: dict[str, Any] = {"generation": generation}
            if payload.desired_retention is not None:
                values["desired_retention"] = payload.desired_retention
            if payload.parameters is not None:
                values["fsrs_parameters"] = json.dumps(list(payload.parameters))
                values["fit_report"] = None
            conn.execute(sa.update(profiles).where(profiles.c.id == profile_id).values(**values))
            conn.execute(sa.update(import_batches).where(import_batches.c.id == generation).values(finished=True))
            return int(old)

    return retrying(write)


def _delete_generation(engine: Engine, profile_id: int, generation: int, chunk_rows: int) -> None:
    """Remove one generation's rows, a chunk at a time (best effort: leftovers are invisible to every read)."""
    for table in (reviews, card_states, sessions):
        where = (table.c.profile_id == profile_id) & (table.c.generation == generation)
        key = table.c.id if "id" in table.c else table.c.card_id
        while True:
            def delete() -> int:
                with writing(engine) as conn:
                    keys = [k for (k,) in conn.execute(sa.select(key).where(where).limit(chunk_rows))]
                    if keys:
                        conn.execute(sa.delete(table).where(where & key.in_(keys)))
                    return len(keys)

            try:
                if retrying(delete) < chunk_rows:
                    break
            except TransientStoreError:
                return


def _review_columns(review: ReviewRow) -> dict[str, Any]:
    return {"card_id": review.card_id, "topic": review.topic, "reviewed_at": naive_utc(review.reviewed_at),
            "rating": int(review.rating), "correct": bool(review.correct), "timed_out": bool(review.timed_out),
            "elapsed_ms": int(review.elapsed_ms), "points": int(review.points)}
