"""Spaced repetition through the fsrs package (FSRS-6): ratings, strict card states, recall, load and fitting.

The scheduler itself is fsrs.Scheduler; this module decides which Rating an answer earns, moves card states to and
from plain dicts for the store (rebuilding every state through fsrs's own types, with every field bounded, so no
stored or imported state can make a later review raise), and adds what a study tool shows around the scheduler:
recall forecasts, the review load a retention target implies, and parameters fitted to one person's history.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from fsrs import Card as FsrsCard
from fsrs import Rating, ReviewLog, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, MAX_DIFFICULTY, MIN_DIFFICULTY, STABILITY_MIN, UPPER_BOUNDS_PARAMETERS

from .scoring import speed_class

DESIRED_RETENTION = 0.9
RETENTION_RANGE = (0.70, 0.97)
# Card states stay inside these bounds; fsrs itself never leaves them (stability is capped by the 100-year
# maximum interval long before 1e6 days).
MAX_STABILITY_DAYS = 1e6
MAX_STEP = 20
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
STATE_KEYS = {"card_id", "state", "step", "stability", "difficulty", "due", "last_review"}
# fsrs.Optimizer returns the defaults until it has this many reviews a day or more after the card's previous one
# (its mini-batch size); below that there is nothing to fit.
MIN_REVIEWS_TO_FIT = 512
# The optimizer reads at most this many reviews per card (fsrs.optimizer's max_seq_len); the log-loss does too.
MAX_REVIEWS_PER_CARD = 64


class StateError(ValueError):
    """A card state that fsrs could not safely review; the message names the field."""


# ----- ratings and the scheduler ------------------------------------------------------------------------------
def rating_for(correct: bool, timed_out: bool, elapsed_s: float, limit_s: float) -> Rating:
    """Machine-checked answers: timeout or wrong -> Again; right but slow -> Hard; right -> Good; fast -> Easy."""
    if timed_out or not correct:
        return Rating.Again
    return {"slow": Rating.Hard, "normal": Rating.Good, "fast": Rating.Easy}[speed_class(elapsed_s, limit_s)]


def make_scheduler(parameters: Sequence[float] | None = None, desired_retention: float = DESIRED_RETENTION,
                   fuzz: bool = True) -> Scheduler:
    """FSRS-6 with the given (or default) weights and retention. Tests turn fuzzing off so intervals repeat."""
    return Scheduler(parameters=tuple(parameters or DEFAULT_PARAMETERS), desired_retention=check_retention(desired_retention),
                     enable_fuzzing=fuzz)


def _shown(value: object, limit: int = 40) -> str:
    """``value`` as a message may quote it: its repr, cut to ``limit`` characters (a file can hold any text)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_retention(value: float) -> float:
    low, high = RETENTION_RANGE
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low - 1e-9 <= value <= high + 1e-9):
        raise ValueError(f"desired retention must be between {low:.2f} and {high:.2f}, got {_shown(value)}")
    return float(value)


def check_parameters(parameters: Any) -> tuple[float, ...]:
    """Stored or fitted weights: 21 finite numbers inside fsrs's own bounds, else ValueError."""
    if not isinstance(parameters, (list, tuple)) or len(parameters) != len(DEFAULT_PARAMETERS):
        raise ValueError(f"FSRS parameters must be a list of {len(DEFAULT_PARAMETERS)} numbers")
    checked = []
    for i, (value, low, high) in enumerate(zip(parameters, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"FSRS parameter {i} must be a number in [{low}, {high}], got {_shown(value)}")
        checked.append(float(value))
    return tuple(checked)


def fsrs_id(card_id: str) -> int:
    """fsrs wants an int id; a CRC of our string id is stable across runs and machines."""
    return zlib.crc32(card_id.encode("utf-8"))


def new_state(card_id: str, now: datetime) -> FsrsCard:
    return FsrsCard(card_id=fsrs_id(card_id), due=utc(now))


def review(scheduler: Scheduler, card_id: str, state: Mapping | None, rating: Rating | int, now: datetime,
           elapsed_s: float) -> dict:
    """Apply one review and return the new state as a JSON-able dict (fsrs.Card.to_dict)."""
    card = state_from_dict(state, card_id) if state else new_state(card_id, now)
    card, _log = scheduler.review_card(card, Rating(int(rating)), review_datetime=utc(now),
                                       review_duration=max(0, round(elapsed_s * 1000)))
    if card.stability is not None and card.stability > MAX_STABILITY_DAYS:
        # fsrs never caps stability (only the interval, at 100 years); capping it here keeps every state this
        # function returns inside the bounds `state_from_dict` accepts.
        card.stability = MAX_STABILITY_DAYS
    return card.to_dict()


# ----- strict card states ---------------------------------------------------------------------------------------
def state_from_dict(state: Mapping, card_id: str | None = None) -> FsrsCard:
    """Rebuild an fsrs.Card from a dict, refusing anything fsrs could not review later (StateError)."""
    if not isinstance(state, Mapping):
        raise StateError("the state must be an object")
    extra = set(state) - STATE_KEYS
    if extra:
        raise StateError(f"unknown field {_shown(sorted(extra)[0])}")
    missing = STATE_KEYS - {"card_id"} - set(state)
    if missing:
        raise StateError(f"missing field {_shown(sorted(missing)[0])}")
    kind = _int_field(state, "state", 1, 3)
    step = None if state["step"] is None else _int_field(state, "step", 0, MAX_STEP)
    stability = _optional_float(state, "stability", STABILITY_MIN, MAX_STABILITY_DAYS)
    difficulty = _optional_float(state, "difficulty", MIN_DIFFICULTY, MAX_DIFFICULTY)
    due = _time_field(state, "due")
    last_review = None if state["last_review"] is None else _time_field(state, "last_review")
    if (stability is None) != (difficulty is None):
        raise StateError("stability and difficulty must both be set or both be empty")
    if kind in (State.Review, State.Relearning) and (stability is None or last_review is None):
        raise StateError("a card in review needs stability, difficulty and last_review")
    if kind in (State.Learning, State.Relearning) and step is None:
        raise StateError("step must be a whole number while a card is learning")
    if kind == State.Review and step is not None:
        raise StateError("step must be empty once a card is in review")
    if last_review is not None and due < last_review:
        raise StateError("due must not be before last_review")
    number = fsrs_id(card_id) if card_id is not None else _int_field(state, "card_id", 0, 2**63 - 1)
    return FsrsCard(card_id=number, state=State(kind), step=step, stability=stability, difficulty=difficulty,
                    due=due, last_review=last_review)


def checked_state(state: Mapping, card_id: str | None = None) -> dict:
    """The state as fsrs would write it after `state_from_dict`'s checks."""
    return state_from_dict(state, card_id).to_dict()


def _int_field(state: Mapping, name: str, low: int, high: int) -> int:
    value = state.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StateError(f"{name} must be a whole number from {low} to {high}")
    return value


def _optional_float(state: Mapping, name: str, low: float, high: float) -> float | None:
    value = state.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise StateError(f"{name} must be empty or a finite number from {low:g} to {high:g}")
    return float(value)


def _time_field(state: Mapping, name: str) -> datetime:
    try:
        return parse_time(state.get(name))
    except ValueError as exc:
        raise StateError(f"{name} {exc}") from None


def parse_time(value: Any) -> datetime:
    """An ISO date-time between 2000 and 2200 as aware UTC; ValueError (with a reason) for anything else.

    The year is checked before any offset is applied: converting year 1 with a +01:00 offset to UTC would
    overflow datetime and raise something other than ValueError.
    """
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO date-time text")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO date-time such as 2025-03-01T09:00:00+00:00") from None
    if not EARLIEST.year <= moment.year < LATEST.year:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return utc(moment)


def due_at(state: Mapping) -> datetime:
    return utc(datetime.fromisoformat(state["due"]))


def is_learning(state: Mapping) -> bool:
    return int(state["state"]) in (State.Learning, State.Relearning)


def utc(moment: datetime) -> datetime:
    """fsrs insists on timezone-aware UTC; SQLite hands datetimes back naive (stored as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# ----- recall ----------------------------------------------------------------------------------------------------
def recall_probability(parameters: Sequence[float], stability: float, elapsed_days: float) -> float:
    """FSRS-6's forgetting curve R = (1 + f t / S)^(-w20), with f chosen so that R = 0.9 when t = S.

    fsrs's own get_card_retrievability counts whole days (so it says 100% all day after a review); the
    forecasts shown to people use the fractional elapsed time instead.
    """
    decay = -parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return (1 + factor * max(0.0, elapsed_days) / stability) ** decay


def recall_now(scheduler: Scheduler, state: Mapping, now: datetime) -> float | None:
    """Predicted chance of recalling a reviewed card at `now`; None for a card never reviewed."""
    if not state.get("last_review") or not state.get("stability"):
        return None
    elapsed = (utc(now) - utc(datetime.fromisoformat(state["last_review"]))).total_seconds() / 86400
    return recall_probability(scheduler.parameters, float(state["stability"]), elapsed)


def retention_estimate(scheduler: Scheduler, states: Iterable[Mapping], now: datetime) -> float | None:
    """Mean predicted recall over cards reviewed at least once; None without any."""
    values = [r for r in (recall_now(scheduler, s, now) for s in states) if r is not None]
    return sum(values) / len(values) if values else None


# ----- review histories: replay, log-loss, fitting, calibration -----------------------------------------------
@dataclass(frozen=True)
class PastReview:
    card_id: str
    reviewed_at: datetime
    rating: int


def histories(reviews: Iterable[PastReview]) -> dict[str, list[PastReview]]:
    """Each card's reviews in time order."""
    by_card: dict[str, list[PastReview]] = {}
    for r in reviews:
        by_card.setdefault(r.card_id, []).append(r)
    for rows in by_card.values():
        rows.sort(key=lambda r: r.reviewed_at)
    return by_card


def log_loss(parameters: Sequence[float], reviews: Iterable[PastReview]) -> tuple[float, int] | None:
    """Mean binary cross-entropy of FSRS's recall forecasts against what happened, and how many reviews it covers.

    Measured exactly where fsrs.Optimizer measures it: every review at least a whole day after the card's
    previous one, forecast by fsrs's own (whole-day) retrievability, the first 64 reviews per card.
    """
    scheduler = Scheduler(parameters=tuple(parameters), enable_fuzzing=False)
    total, count = 0.0, 0
    for card_id, rows in histories(reviews).items():
        card = new_state(card_id, rows[0].reviewed_at)
        for r in rows[:MAX_REVIEWS_PER_CARD]:
            when = utc(r.reviewed_at)
            if card.last_review is not None and (when - card.last_review).days > 0:
                p = min(max(scheduler.get_card_retrievability(card, current_datetime=when), 1e-7), 1 - 1e-7)
                recalled = r.rating != Rating.Again
                total -= math.log(p) if recalled else math.log(1 - p)
                count += 1
            card, _ = scheduler.review_card(card, Rating(r.rating), review_datetime=when)
    return (total / count, count) if count else None


def fit_ready_count(reviews: Iterable[PastReview]) -> int:
    """How many reviews the optimizer would learn from (a day or more after the card's previous review)."""
    count = 0
    for rows in histories(reviews).values():
        rows = rows[:MAX_REVIEWS_PER_CARD]
        count += sum((b.reviewed_at - a.reviewed_at).days > 0 for a, b in zip(rows, rows[1:]))
    return count


@dataclass(frozen=True)
class FitReport:
    parameters: tuple[float, ...]
    loss_before: float
    loss_after: float
    reviews_used: int

    @property
    def improved(self) -> bool:
        return self.loss_after < self.loss_before

    def to_dict(self) -> dict[str, Any]:
        return {"parameters": list(self.parameters), "loss_before": self.loss_before, "loss_after": self.loss_after,
                "reviews_used": self.reviews_used}


def fit_parameters(reviews: Sequence[PastReview], current: Sequence[float] | None = None) -> FitReport:
    """Fit FSRS weights to one person's reviews with fsrs.Optimizer (torch); ValueError below the minimum.

    The report compares the log-loss of the weights in use before with the fitted ones on the same reviews; the
    caller keeps the fitted weights only when they predict better.
    """
    from fsrs import Optimizer  # torch and pandas load only when someone fits

    ready = fit_ready_count(reviews)
    if ready < MIN_REVIEWS_TO_FIT:
        raise ValueError(f"fitting needs {MIN_REVIEWS_TO_FIT} reviews spaced a day or more apart; there are {ready}")
    logs = [ReviewLog(card_id=fsrs_id(r.card_id), rating=Rating(r.rating), review_datetime=utc(r.reviewed_at),
                      review_duration=None) for r in reviews]
    fitted = check_parameters(list(Optimizer(logs).compute_optimal_parameters()))
    before = log_loss(current or DEFAULT_PARAMETERS, reviews)
    after = log_loss(fitted, reviews)
    assert before is not None and after is not None  # there are MIN_REVIEWS_TO_FIT measured reviews
    return FitReport(fitted, before[0], after[0], after[1])


@dataclass(frozen=True)
class Forecast:
    """One review of a card seen before: what FSRS predicted and what happened."""

    reviewed_at: datetime
    predicted: float
    recalled: bool


def forecasts(parameters: Sequence[float], reviews: Iterable[PastReview]) -> list[Forecast]:
    """Replay every card's history and pair each repeat review with the recall FSRS predicted for it then."""
    scheduler = Scheduler(parameters=tuple(parameters), enable_fuzzing=False)
    paired = []
    for card_id, rows in histories(reviews).items():
        card = new_state(card_id, rows[0].reviewed_at)
        for r in rows:
            when = utc(r.reviewed_at)
            if card.last_review is not None and card.stability is not None:
                elapsed = (when - card.last_review).total_seconds() / 86400
                paired.append(Forecast(when, recall_probability(scheduler.parameters, card.stability, elapsed),
                                       r.rating != Rating.Again))
            card, _ = scheduler.review_card(card, Rating(r.rating), review_datetime=when)
    return sorted(paired, key=lambda f: f.reviewed_at)


# ----- the review load a retention target implies ----------------------------------------------------------------
MAX_SIMULATED_REVIEWS_PER_CARD = 400


def daily_review_load(parameters: Sequence[float], retention: float, states: Iterable[Mapping], now: datetime,
                      days: int = 30, new_cards: int = 0, seed: int = 0) -> float:
    """Expected reviews per day over the next `days` if every due card is reviewed on time.

    A Monte Carlo run of the scheduler itself: each review succeeds with the recall FSRS forecasts for that moment
    (so a higher target means shorter intervals and more reviews). `new_cards` adds cards first seen today.
    """
    scheduler = Scheduler(parameters=tuple(parameters), desired_retention=check_retention(retention), enable_fuzzing=False)
    rng = random.Random(seed)
    start, horizon = utc(now), utc(now) + timedelta(days=days)
    cards = [state_from_dict(s) for s in states]
    cards += [FsrsCard(card_id=i, due=start) for i in range(new_cards)]
    reviews = 0
    for card in cards:
        for _ in range(MAX_SIMULATED_REVIEWS_PER_CARD):
            if card.due >= horizon:
                break
            when = max(card.due, start)
            if card.last_review is None or card.stability is None:
                p = 0.7  # a first sighting: about how often people know a card before studying it
            else:
                p = recall_probability(scheduler.parameters, card.stability, (when - card.last_review).total_seconds() / 86400)
            card, _ = scheduler.review_card(card, Rating.Good if rng.random() < p else Rating.Again, review_datetime=when)
            reviews += 1
    return reviews / days


# ----- retention over time ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetentionPoint:
    """One period of repeat reviews: how many, how many were recalled, and how many FSRS expected."""

    start: datetime
    reviews: int
    recalled: int
    predicted: float  # mean forecast recall of those reviews

    @property
    def actual(self) -> float:
        return self.recalled / self.reviews


def retention_over_time(parameters: Sequence[float], reviews: Iterable[PastReview], period_days: int = 7) -> list[RetentionPoint]:
    """Actual against predicted recall per period (weeks by default), from the repeat reviews of each card.

    First sightings are left out: they measure what someone knew before studying, not what they kept, which is why
    "predicted recall" and raw accuracy can differ so much on a young profile.
    """
    if period_days < 1:
        raise ValueError("a period is at least one day")
    buckets: dict[datetime, list[Forecast]] = {}
    for forecast in forecasts(parameters, reviews):
        day = forecast.reviewed_at.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=(day.toordinal() % period_days))
        buckets.setdefault(start, []).append(forecast)
    return [RetentionPoint(start, len(rows), sum(f.recalled for f in rows), sum(f.predicted for f in rows) / len(rows))
            for start, rows in sorted(buckets.items())]
