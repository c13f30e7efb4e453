"""One card as it is asked: the prompt, the answer and whatever the checker needs, fixed for this asking.

Hand-written cards are asked as written; generated cards (numeric, name-the-optimizer) get fresh parameters each
time, so the prompt and answer belong to the instance, not to the card. This module sits below both the session and
the generators, so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Kinds the machine checks (a speed bonus is fair there) and the kind the learner grades for themself.
MACHINE_CHECKED_KINDS = ("choice", "numeric", "name", "formula")
SELF_GRADED_KINDS = ("explain",)
QUESTION_KINDS = SELF_GRADED_KINDS + MACHINE_CHECKED_KINDS


@dataclass(frozen=True)
class Variable:
    """A symbol a formula card's answer may use, and the range its value is drawn from when answers are compared."""

    name: str
    meaning: str
    low: float
    high: float
    integer: bool = False
    aliases: tuple[str, ...] = ()
    latex: str = ""  # how the symbol is printed in feedback, e.g. \\hat m_t; the name itself when empty


@dataclass
class Question:
    """One card as asked: generated kinds get fresh parameters, so prompt and answer are per-instance."""

    card_id: str
    kind: str
    topic: str
    difficulty: int
    prompt: str
    answer: str
    key_points: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    correct: int | None = None
    value: float | None = None  # numeric cards: the exact answer
    rel_tol: float = 0.01  # numeric cards: accepted relative error, stated in the prompt
    picture: dict[str, Any] | None = None  # name-the-optimizer cards: the trajectory to draw
    params: dict[str, Any] = field(default_factory=dict)
    expression: str = ""  # formula cards: the true rule, in the parser's syntax
    variables: tuple[Variable, ...] = ()  # formula cards: the symbols the answer may use

    @property
    def self_graded(self) -> bool:
        return self.kind in SELF_GRADED_KINDS
