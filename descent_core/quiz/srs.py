"""Spaced repetition through the fsrs package (FSRS-6): the answer-to-rating map and thin wrappers.

The scheduler itself is fsrs.Scheduler; this module only decides which Rating an answer earns and
moves card states to and from plain dicts for the progress store.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from typing import Iterable, Mapping

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler, State

from .scoring import speed_class

DESIRED_RETENTION = 0.9


def rating_for(correct: bool, timed_out: bool, elapsed_s: float, limit_s: float) -> Rating:
    """timeout or wrong -> Again; right but slow -> Hard; right -> Good; right and fast -> Easy."""
    if timed_out or not correct:
        return Rating.Again
    return {"slow": Rating.Hard, "normal": Rating.Good, "fast": Rating.Easy}[speed_class(elapsed_s, limit_s)]


def make_scheduler(fuzz: bool = True) -> Scheduler:
    """Default FSRS-6 weights. Tests turn fuzzing off so intervals are reproducible."""
    return Scheduler(desired_retention=DESIRED_RETENTION, enable_fuzzing=fuzz)


def fsrs_id(card_id: str) -> int:
    """fsrs wants an int id; a CRC of our string id is stable across runs and machines."""
    return zlib.crc32(card_id.encode("utf-8"))


def new_state(card_id: str, now: datetime) -> FsrsCard:
    return FsrsCard(card_id=fsrs_id(card_id), due=now)


def review(
    scheduler: Scheduler,
    card_id: str,
    state: Mapping | None,
    rating: Rating,
    now: datetime,
    elapsed_s: float,
) -> dict:
    """Apply one review and return the new state as a JSON-able dict (fsrs.Card.to_dict)."""
    card = state_from_dict(state) if state else new_state(card_id, now)
    card, _log = scheduler.review_card(card, rating, review_datetime=utc(now), review_duration=round(elapsed_s * 1000))
    return card.to_dict()


def state_from_dict(state: Mapping) -> FsrsCard:
    return FsrsCard.from_dict(dict(state))  # type: ignore[arg-type]


def due_at(state: Mapping) -> datetime:
    return utc(datetime.fromisoformat(state["due"]))


def retrievability(scheduler: Scheduler, state: Mapping, now: datetime) -> float:
    return float(scheduler.get_card_retrievability(state_from_dict(state), current_datetime=utc(now)))


def retention_estimate(scheduler: Scheduler, states: Iterable[Mapping], now: datetime) -> float | None:
    """Mean predicted recall probability over cards reviewed at least once; None without any."""
    values = [retrievability(scheduler, s, now) for s in states if s.get("last_review")]
    return sum(values) / len(values) if values else None


def is_learning(state: Mapping) -> bool:
    return int(state["state"]) in (State.Learning, State.Relearning)


def utc(moment: datetime) -> datetime:
    """fsrs insists on timezone-aware UTC; SQLite hands datetimes back naive (stored as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
