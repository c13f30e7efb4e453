"""A quiz session as a pure state machine: which cards, in which phase, what each answer earned.

Time is always passed in (`now`, seconds on any monotonic clock), so tests drive a session with a fake clock and
the UI with time.monotonic(). Nothing here touches Streamlit or the database: the UI records each Outcome in the
store as it happens, and removes it again when the learner undoes it.

Phases of the current card::

    asking --answer/timeout--> feedback --next--> asking (next card) ... --> done
    asking --reveal (explain)--> grading --grade 1-4--> feedback
    feedback --undo--> grading (explain: grade again) | withdrawn (machine-checked: not counted) --next--> ...
    asking --pause--> asking (paused: clock stopped, card hidden) --resume--> asking
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from . import srs
from .deck import Card
from .formulas import FormulaError, grade_formula
from .question import Question
from .scoring import NO_POINTS, Award, award, self_graded_award

MODES = {"drill": "Timed drill", "due": "Due review", "weak": "Weak spots"}
DEFAULT_TIME_LIMITS = {"explain": 90.0, "choice": 30.0, "numeric": 60.0, "name": 30.0, "formula": 90.0}
GRADE_LABELS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@dataclass
class Outcome:
    index: int
    card_id: str
    topic: str
    kind: str
    correct: bool
    timed_out: bool
    elapsed_s: float
    limit_s: float
    award: Award
    rating: int  # the FSRS rating this answer gives the card (1 Again .. 4 Easy)
    self_graded: bool = False
    response: str = ""
    detail: str = ""  # formula cards: where the typed rule and the true one part
    streak_before: int = 0
    best_before: int = 0

    @property
    def points(self) -> int:
        return self.award.total


class NumericFormatError(ValueError):
    """The typed answer is not a number: shown to the user, never counted as a wrong answer."""


class PhaseError(RuntimeError):
    """An action arrived for a phase the card is no longer in (e.g. a click after the timeout)."""


def parse_number(text: str) -> float:
    """Read '0.5', '-1e-3', '2/3' or '1,000'-free plain numbers; reject anything else with a reason."""
    cleaned = text.strip().replace("\u2212", "-").replace(" ", "")
    if not cleaned:
        raise NumericFormatError("Type a number first, for example 0.25 or 1e-3.")
    if len(cleaned) > 60:
        raise NumericFormatError("That is too long for a number; type at most 60 characters.")
    if re.fullmatch(r"-?\d+,\d+", cleaned):
        raise NumericFormatError(f"Use a dot for decimals: {cleaned.replace(',', '.')} rather than {cleaned}.")
    fraction = re.fullmatch(r"(-?[\d.eE+-]+)/([\d.eE+-]+)", cleaned)
    try:
        if fraction:
            value = float(fraction.group(1)) / float(fraction.group(2))
        else:
            value = float(cleaned)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise NumericFormatError(
            f"Could not read {text.strip()!r} as a number. Use a decimal (0.25), scientific notation (2.5e-1) or a fraction (1/4)."
        ) from None
    if not math.isfinite(value):
        raise NumericFormatError("The answer must be a finite number.")
    return value


def numeric_matches(question: Question, value: float) -> bool:
    target = question.value
    assert target is not None
    return math.isclose(value, target, rel_tol=question.rel_tol, abs_tol=1e-12)


def static_question(card: Card) -> Question:
    return Question(
        card_id=card.id,
        kind=card.kind,
        topic=card.topic,
        difficulty=card.difficulty,
        prompt=card.prompt,
        answer=card.answer,
        key_points=card.key_points,
        options=card.options,
        correct=card.correct,
        expression=card.expression,
        variables=card.variables,
    )


def question_for(card: Card, rng: random.Random) -> Question:
    """Hand-written cards are asked as written; generated ones get fresh random parameters."""
    if card.generator is None:
        return static_question(card)
    from .generators import make_question  # imports the engine's races only when needed

    return make_question(card, rng)


@dataclass
class QuizSession:
    mode: str
    questions: list[Question]
    time_limits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIME_LIMITS))
    index: int = 0
    phase: str = "ready"
    paused: bool = False
    started_at: float | None = None
    frozen_elapsed: float | None = None  # explain cards: time to reveal; any card: time when paused
    outcomes: list[Outcome] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)  # indices of cards whose answer was undone
    streak: int = 0
    best_streak: int = 0
    score: int = 0
    db_session_id: int | None = None

    # ----- the current card -------------------------------------------------------------------
    def current(self) -> Question:
        return self.questions[self.index]

    def limit(self) -> float:
        return float(self.time_limits[self.current().kind])

    def elapsed(self, now: float) -> float:
        if self.frozen_elapsed is not None:
            return self.frozen_elapsed
        assert self.started_at is not None
        return max(0.0, now - self.started_at)

    def remaining(self, now: float) -> float:
        return max(0.0, self.limit() - self.elapsed(now))

    def expired(self, now: float) -> bool:
        return self.phase == "asking" and not self.paused and self.elapsed(now) >= self.limit()

    def last_outcome(self) -> Outcome | None:
        return self.outcomes[-1] if self.outcomes else None

    # ----- transitions ----------------------------------------------------------------------------
    def start(self, now: float) -> None:
        if not self.questions:
            raise ValueError("a session needs at least one card")
        self.index = 0
        self._ask(now)

    def answer_choice(self, option: int, now: float) -> Outcome:
        question = self._expect("asking", kinds=("choice", "name"))
        if self.expired(now):
            return self.timeout(now)
        correct = question.correct == option
        return self._finish(correct, now, response=_option_label(question, option))

    def answer_numeric(self, text: str, now: float) -> Outcome:
        """Raises NumericFormatError for unreadable input and leaves the card (and its clock) running."""
        question = self._expect("asking", kinds=("numeric",))
        if self.expired(now):
            return self.timeout(now)
        value = parse_number(text)
        return self._finish(numeric_matches(question, value), now, response=text.strip())

    def answer_formula(self, text: str, now: float) -> Outcome:
        """Raises FormulaError for text the parser cannot read and leaves the card (and its clock) running."""
        question = self._expect("asking", kinds=("formula",))
        if self.expired(now):
            return self.timeout(now)
        verdict = grade_formula(text, question.expression, question.variables, seed=self.index)
        return self._finish(verdict.correct, now, response=text.strip(), detail=verdict.reason)

    def reveal(self, now: float) -> Outcome | None:
        """Explain cards: stop the clock and show the model answer. Revealing after time ran out is a miss."""
        self._expect("asking", kinds=("explain",))
        if self.expired(now):
            return self.timeout(now)
        self.frozen_elapsed = self.elapsed(now)
        self.phase = "grading"
        return None

    def grade_self(self, rating: int) -> Outcome:
        """Explain cards: the learner's own FSRS grade, 1 Again, 2 Hard, 3 Good, 4 Easy."""
        question = self._expect("grading", kinds=("explain",))
        if rating not in GRADE_LABELS:
            raise ValueError(f"a grade is 1, 2, 3 or 4, not {rating!r}")
        reveal_s = self.frozen_elapsed or 0.0
        correct = rating > 1
        streak = self.streak + 1 if correct else 0
        points = self_graded_award(rating, question.difficulty, reveal_s, streak)
        return self._record(correct, timed_out=False, elapsed=min(reveal_s, self.limit()), response=GRADE_LABELS[rating],
                            rating=rating, points=points, self_graded=True)

    def timeout(self, now: float) -> Outcome:
        self._expect("asking")
        return self._record(correct=False, timed_out=True, elapsed=self.limit(), response="(time ran out)")

    def undo(self) -> Outcome:
        """Take back the answer on the feedback screen. A self-grade can be given again; a machine-checked answer,
        whose solution has now been seen, is withdrawn: it counts for nothing and the session moves on."""
        self._expect("feedback")
        outcome = self.outcomes.pop()
        self.score -= outcome.points
        self.streak, self.best_streak = outcome.streak_before, outcome.best_before
        if outcome.self_graded:
            self.phase = "grading"
            self.frozen_elapsed = outcome.elapsed_s
        else:
            self.withdrawn.append(self.index)
            self.phase = "withdrawn"
        return outcome

    def pause(self, now: float) -> None:
        """Stop the clock of the card being asked (the page was left); the card stays hidden until `resume`."""
        if self.phase != "asking" or self.paused:
            return
        self.frozen_elapsed = self.elapsed(now)
        self.paused = True

    def resume(self, now: float) -> None:
        if not self.paused:
            return
        assert self.frozen_elapsed is not None
        self.started_at = now - self.frozen_elapsed
        self.frozen_elapsed = None
        self.paused = False

    def next(self, now: float) -> None:
        if self.phase not in ("feedback", "withdrawn"):
            raise PhaseError(f"card {self.index + 1} is in phase {self.phase!r}, not feedback")
        if self.index + 1 >= len(self.questions):
            self.phase = "done"
            return
        self.index += 1
        self._ask(now)

    def end(self) -> None:
        """Stop early: the summary covers the cards answered so far; an unanswered card is not counted."""
        self.phase = "done"
        self.paused = False

    # ----- helpers ---------------------------------------------------------------------------------
    def _ask(self, now: float) -> None:
        self.phase = "asking"
        self.paused = False
        self.started_at = now
        self.frozen_elapsed = None

    def _expect(self, phase: str, kinds: Iterable[str] | None = None) -> Question:
        if self.phase != phase:
            raise PhaseError(f"card {self.index + 1} is in phase {self.phase!r}, not {phase!r}")
        if self.paused:
            raise PhaseError(f"card {self.index + 1} is paused")
        question = self.current()
        if kinds is not None and question.kind not in kinds:
            raise PhaseError(f"a {question.kind} card cannot take that answer")
        return question

    def _finish(self, correct: bool, now: float, response: str, detail: str = "") -> Outcome:
        elapsed = min(self.elapsed(now), self.limit())
        return self._record(correct, timed_out=False, elapsed=elapsed, response=response, detail=detail)

    def _record(self, correct: bool, timed_out: bool, elapsed: float, response: str, rating: int | None = None,
                points: Award | None = None, self_graded: bool = False, detail: str = "") -> Outcome:
        question = self.current()
        streak_before, best_before = self.streak, self.best_streak
        self.streak = self.streak + 1 if correct else 0
        self.best_streak = max(self.best_streak, self.streak)
        if points is None:
            points = award(correct, question.difficulty, elapsed, self.limit(), self.streak) if correct else NO_POINTS
        if rating is None:
            rating = int(srs.rating_for(correct, timed_out, elapsed, self.limit()))
        outcome = Outcome(
            index=self.index, card_id=question.card_id, topic=question.topic, kind=question.kind, correct=correct,
            timed_out=timed_out, elapsed_s=elapsed, limit_s=self.limit(), award=points, rating=rating,
            self_graded=self_graded, response=response, detail=detail, streak_before=streak_before,
            best_before=best_before,
        )
        self.score += points.total
        self.outcomes.append(outcome)
        self.frozen_elapsed = elapsed
        self.phase = "feedback"
        return outcome

    def summary(self) -> "Summary":
        return summarise(self)


def _option_label(question: Question, option: int) -> str:
    return question.options[option] if 0 <= option < len(question.options) else f"option {option}"


# ----- end-of-session summary -------------------------------------------------------------------------
@dataclass
class TopicScore:
    topic: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class Summary:
    score: int
    answered: int
    correct: int
    best_streak: int
    per_topic: list[TopicScore]
    outcomes: list[Outcome]
    missed: list[Question]
    withdrawn: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def total_time_s(self) -> float:
        return sum(o.elapsed_s for o in self.outcomes)


def summarise(session: QuizSession) -> Summary:
    per_topic = topic_scores((o.topic, o.correct) for o in session.outcomes)
    missed = [session.questions[o.index] for o in session.outcomes if not o.correct]
    return Summary(
        score=session.score,
        answered=len(session.outcomes),
        correct=sum(o.correct for o in session.outcomes),
        best_streak=session.best_streak,
        per_topic=per_topic,
        outcomes=list(session.outcomes),
        missed=missed,
        withdrawn=len(session.withdrawn),
    )


def topic_scores(results: Iterable[tuple[str, bool]]) -> list[TopicScore]:
    """Accuracy per topic, lowest first (ties: more attempts first, then name)."""
    right: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = defaultdict(int)
    for topic, correct in results:
        seen[topic] += 1
        right[topic] += bool(correct)
    scores = [TopicScore(t, right[t], seen[t]) for t in seen]
    return sorted(scores, key=lambda s: (s.accuracy, -s.total, s.topic))


# ----- choosing cards per mode ---------------------------------------------------------------------------
def pick_drill(cards: Sequence[Card], n: int, topics: Iterable[str] | None, rng: random.Random) -> list[Card]:
    wanted = set(topics or ())
    pool = [c for c in cards if not wanted or c.topic in wanted]
    return rng.sample(pool, min(n, len(pool)))


def pick_due(
    cards: Sequence[Card], states: Mapping[str, Mapping], now: datetime, n: int, rng: random.Random, fill_new: bool = True
) -> list[Card]:
    """Cards whose FSRS due date has passed, most overdue first; then never-seen cards if asked."""
    due = [c for c in cards if c.id in states and srs.due_at(states[c.id]) <= srs.utc(now)]
    due.sort(key=lambda c: srs.due_at(states[c.id]))
    chosen = due[:n]
    if fill_new and len(chosen) < n:
        fresh = [c for c in cards if c.id not in states]
        chosen += rng.sample(fresh, min(n - len(chosen), len(fresh)))
    return chosen


def pick_weak(
    cards: Sequence[Card],
    history: Sequence[tuple[str, str, bool]],
    n: int,
    rng: random.Random,
    n_topics: int = 3,
) -> list[Card]:
    """Cards from the topics with the lowest accuracy so far; cards missed before come first.

    `history` holds (card_id, topic, correct) for past reviews. Returns [] without any history.
    """
    weakest = [s.topic for s in topic_scores((topic, ok) for _, topic, ok in history)][:n_topics]
    missed_ids = {card_id for card_id, _, ok in history if not ok}
    pool = [c for c in cards if c.topic in weakest]
    rng.shuffle(pool)
    pool.sort(key=lambda c: (c.id not in missed_ids, weakest.index(c.topic)))
    return pool[:n]


def build_session(mode: str, cards: Sequence[Card], rng: random.Random, time_limits: Mapping[str, float] | None = None) -> QuizSession:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    limits = dict(DEFAULT_TIME_LIMITS)
    limits.update(time_limits or {})
    return QuizSession(mode=mode, questions=[question_for(c, rng) for c in cards], time_limits=limits)


__all__ = [
    "DEFAULT_TIME_LIMITS", "FormulaError", "GRADE_LABELS", "MODES", "NumericFormatError", "Outcome", "PhaseError",
    "QuizSession", "Summary", "TopicScore", "build_session", "numeric_matches", "parse_number", "pick_drill",
    "pick_due", "pick_weak", "question_for", "static_question", "summarise", "topic_scores",
]
