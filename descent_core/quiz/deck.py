"""Flashcard decks: load content/decks/*.yaml, validate every card, resolve topics to the guide's sections.

A deck file looks like::

    topic_group: Momentum
    cards:
      - id: momentum-why-ravine
        kind: explain            # explain | choice | formula
        topic: momentum          # a section id (descent_core.content.sections())
        difficulty: 2            # 1..3
        prompt: ...
        answer: ...              # Markdown + KaTeX-friendly LaTeX
        key_points: [...]        # explain cards: the rubric
        options: [...]           # choice cards
        correct: 0               # choice cards: index into options
        expression: lr * g       # formula cards: the true rule, in the surface parser's syntax
        variables:               # formula cards: the symbols an answer may use, and their test ranges
          - {name: g, meaning: "the gradient $g_t$", range: [-3, 3], latex: "g_t", aliases: [grad]}

Generated cards (numeric, name-the-optimizer) are declared in code by `generators.py` and joined to the
hand-written ones by `descent_core.quiz.load_deck()`; they go through the same id check so ids stay unique.
Topics, their titles and their links come from the section files themselves (`descent_core.content`).
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

import yaml

from descent_core import content

from .question import Variable

ROOT = pathlib.Path(__file__).resolve().parents[2]
DECK_DIR = ROOT / "content" / "decks"
# Deck files hold cards; files whose name starts with an underscore hold prose the generators use (hints).
DECK_GLOB = "[!_]*.yaml"

HAND_WRITTEN_KINDS = ("explain", "choice", "formula")
GENERATED_KINDS = ("numeric", "name")
CARD_KINDS = HAND_WRITTEN_KINDS + GENERATED_KINDS

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COMMON_KEYS = {"id", "kind", "topic", "difficulty", "prompt", "answer"}
KEYS_BY_KIND = {
    "explain": COMMON_KEYS | {"key_points"},
    "choice": COMMON_KEYS | {"options", "correct", "key_points"},
    "formula": COMMON_KEYS | {"expression", "variables", "key_points"},
}
VARIABLE_KEYS = {"name", "meaning", "range", "integer", "aliases", "latex"}
# KaTeX in st.markdown renders none of these (CONVENTIONS.md, "Body Markdown").
FORBIDDEN_LATEX = ("\\begin{align", "\\begin{equation", "\\label", "\\eqref", "\\newcommand", "\\def")


# ----- topics: the guide's sections ----------------------------------------------------------------------------
def topic_ids() -> list[str]:
    """Every section id, in guide order: the topics a card may belong to."""
    return list(content.sections())


def topic_title(topic: str) -> str:
    """The section's full title, e.g. "Momentum: a heavy ball in the ravine"."""
    found = content.sections().get(topic)
    return found.title if found else topic


def topic_short_title(topic: str) -> str:
    """The part of the title before its colon ("Momentum"): short enough for chart axes and tables."""
    return topic_title(topic).split(":")[0]


def topic_url(topic: str) -> str:
    """Where the app serves the section, e.g. gd -> /gradient_descent."""
    return "/" + content.section(topic).url_path


def topic_titles() -> dict[str, str]:
    """Section id -> full title, in guide order, read from the section files (nothing hard-coded here)."""
    return {sid: found.title for sid, found in content.sections().items()}


@dataclass(frozen=True)
class Card:
    """One flashcard as authored. Generated kinds carry a `generator` key instead of a fixed answer."""

    id: str
    kind: str
    topic: str
    difficulty: int
    prompt: str
    answer: str = ""
    key_points: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    correct: int | None = None
    generator: str | None = None
    source: str = ""
    expression: str = ""
    variables: tuple[Variable, ...] = ()

    @property
    def link(self) -> str:
        return topic_url(self.topic)


class DeckError(ValueError):
    """Raised with every problem found, so an author fixes a deck in one pass."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid deck:\n" + "\n".join(f"- {p}" for p in problems))


def load_deck_files(deck_dir: pathlib.Path = DECK_DIR) -> list[Card]:
    """Load and validate every hand-written deck file; raise DeckError listing all problems."""
    cards: list[Card] = []
    problems: list[str] = []
    for path in sorted(deck_dir.glob(DECK_GLOB)):
        file_cards, file_problems = parse_deck_text(path.read_text(encoding="utf-8"), source=path.name)
        cards.extend(file_cards)
        problems.extend(file_problems)
    problems.extend(duplicate_id_problems(cards))
    if problems:
        raise DeckError(problems)
    return cards


def parse_deck_text(text: str, source: str = "<deck>") -> tuple[list[Card], list[str]]:
    """Parse one deck file. Returns the valid cards and a list of problems (empty when all is well)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [f"{source}: not valid YAML ({exc})"]
    if not isinstance(doc, dict):
        return [], [f"{source}: top level must be a mapping with topic_group and cards"]
    problems = []
    if not isinstance(doc.get("topic_group"), str) or not doc["topic_group"].strip():
        problems.append(f"{source}: topic_group must be a non-empty string")
    extra = set(doc) - {"topic_group", "cards"}
    if extra:
        problems.append(f"{source}: unknown top-level keys {sorted(extra)}")
    raw_cards = doc.get("cards")
    if not isinstance(raw_cards, list) or not raw_cards:
        return [], problems + [f"{source}: cards must be a non-empty list"]
    cards = []
    for position, raw in enumerate(raw_cards):
        card, card_problems = card_from_mapping(raw, source=f"{source} card {position + 1}")
        problems.extend(card_problems)
        if card is not None:
            cards.append(card)
    return cards, problems


def card_from_mapping(raw: Any, source: str) -> tuple[Card | None, list[str]]:
    """Check one hand-written card against the deck schema."""
    if not isinstance(raw, dict):
        return None, [f"{source}: a card must be a mapping"]
    where = f"{source} ({raw.get('id', '?')})"
    problems = _common_problems(raw, where)
    kind = raw.get("kind")
    if kind not in HAND_WRITTEN_KINDS:
        problems.append(f"{where}: kind must be one of {list(HAND_WRITTEN_KINDS)}, got {kind!r}")
        return None, problems
    extra = set(raw) - KEYS_BY_KIND[kind]
    if extra:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
    if not _is_text(raw.get("answer")):
        problems.append(f"{where}: answer must be non-empty text")
    key_points = raw.get("key_points", [])
    if kind == "explain" and not key_points:
        problems.append(f"{where}: explain cards need key_points (the rubric)")
    if not isinstance(key_points, list) or not all(_is_text(p) for p in key_points):
        problems.append(f"{where}: key_points must be a list of non-empty strings")
        key_points = []
    options, correct = raw.get("options", []), raw.get("correct")
    if kind == "choice":
        problems.extend(_choice_problems(options, correct, where))
    variables: tuple[Variable, ...] = ()
    if kind == "formula":
        variables, formula_problems = _formula_problems(raw, where)
        problems.extend(formula_problems)
    for name in ("prompt", "answer", *(["options"] if kind == "choice" else [])):
        problems.extend(_latex_problems(raw.get(name), f"{where} {name}"))
    for point in key_points:
        problems.extend(_latex_problems(point, f"{where} key point"))
    if problems:
        return None, problems
    card = Card(
        id=raw["id"],
        kind=kind,
        topic=raw["topic"],
        difficulty=raw["difficulty"],
        prompt=shown(raw["prompt"]),
        answer=shown(raw["answer"]),
        key_points=tuple(shown(p) for p in key_points),
        options=tuple(shown(str(o)) for o in options) if kind == "choice" else (),
        correct=correct if kind == "choice" else None,
        source=source.split(" card ")[0],
        expression=str(raw.get("expression", "")).strip() if kind == "formula" else "",
        variables=tuple(replace(v, meaning=shown(v.meaning)) for v in variables),
    )
    leftovers = [text for text in card_texts(card) if "{{" in text]
    if leftovers:
        return None, [f"{where}: a marker the guide does not know stays raw: {leftovers[0][:80]!r}"]
    return card, []


def shown(text: str) -> str:
    """A card field as the learner sees it: quoted quantities ({{q:id=value}}) become their numbers."""
    return content.unquote(text).strip()


def card_texts(card: Card) -> list[str]:
    """Every text of a card that is shown to the learner."""
    return [card.prompt, card.answer, *card.key_points, *card.options, *(v.meaning for v in card.variables)]


def _common_problems(raw: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    card_id = raw.get("id")
    if not isinstance(card_id, str) or not ID_PATTERN.match(card_id):
        problems.append(f"{where}: id must be lower-case kebab-case, got {card_id!r}")
    if raw.get("topic") not in content.sections():
        problems.append(f"{where}: topic {raw.get('topic')!r} is not a section id")
    difficulty = raw.get("difficulty")
    # bool is an int subclass; `difficulty: yes` is a typo, not a level.
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 3:
        problems.append(f"{where}: difficulty must be 1, 2 or 3, got {difficulty!r}")
    if not _is_text(raw.get("prompt")):
        problems.append(f"{where}: prompt must be non-empty text")
    return problems


def _choice_problems(options: Any, correct: Any, where: str) -> list[str]:
    if not isinstance(options, list) or len(options) < 2:
        return [f"{where}: choice cards need a list of at least 2 options"]
    problems = []
    texts = [str(o).strip() for o in options]
    if any(not t for t in texts):
        problems.append(f"{where}: options must be non-empty")
    if len(set(texts)) != len(texts):
        problems.append(f"{where}: options must be distinct")
    if isinstance(correct, bool) or not isinstance(correct, int) or not 0 <= correct < len(options):
        problems.append(f"{where}: correct must be an index into options (0..{len(options) - 1}), got {correct!r}")
    return problems


def _formula_problems(raw: Mapping[str, Any], where: str) -> tuple[tuple[Variable, ...], list[str]]:
    from .formulas import check_card_formula  # the parser pulls in torch; only formula cards need it

    raw_variables = raw.get("variables")
    if not isinstance(raw_variables, list) or not raw_variables:
        return (), [f"{where}: formula cards need a list of variables"]
    variables, problems = [], []
    for position, item in enumerate(raw_variables):
        variable, item_problems = _variable(item, f"{where} variable {position + 1}")
        problems.extend(item_problems)
        if variable is not None:
            variables.append(variable)
    if not _is_text(raw.get("expression")):
        problems.append(f"{where}: formula cards need the true rule as text in 'expression'")
    if problems:
        return (), problems
    return tuple(variables), [f"{where}: {p}" for p in check_card_formula(raw["expression"], variables)]


def _variable(item: Any, where: str) -> tuple[Variable | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f"{where}: a variable must be a mapping with name, meaning and range"]
    problems = []
    extra = set(item) - VARIABLE_KEYS
    if extra:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
    span = item.get("range")
    if not (isinstance(span, list) and len(span) == 2 and all(_is_number(v) for v in span)):
        # PyYAML reads 1e-8 as text (YAML 1.1 wants 1.0e-8), hence the hint.
        problems.append(f"{where}: range must be two numbers [low, high] (write 1.0e-3, not 1e-3)")
    if not _is_text(item.get("name")) or not _is_text(item.get("meaning")):
        problems.append(f"{where}: name and meaning must be non-empty text")
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(_is_text(a) for a in aliases):
        problems.append(f"{where}: aliases must be a list of names")
    if problems:
        return None, problems
    return Variable(
        name=item["name"].strip(), meaning=item["meaning"].strip(), low=float(span[0]), high=float(span[1]),
        integer=bool(item.get("integer", False)), aliases=tuple(a.strip() for a in aliases),
        latex=str(item.get("latex", "")).strip(),
    ), []


def _latex_problems(value: Any, where: str) -> list[str]:
    texts = value if isinstance(value, list) else [value]
    problems = []
    for text in texts:
        if not isinstance(text, str):
            continue
        for token in FORBIDDEN_LATEX:
            if token in text:
                problems.append(f"{where}: KaTeX will not render {token!r}")
        # An odd number of unescaped dollars leaves maths open and swallows the rest of the card.
        if len(re.findall(r"(?<!\\)\$", text)) % 2:
            problems.append(f"{where}: unbalanced $ delimiters")
    return problems


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def duplicate_id_problems(cards: Iterable[Card]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for card in cards:
        if card.id in seen:
            problems.append(f"duplicate card id {card.id!r} in {seen[card.id]} and {card.source}")
        else:
            seen[card.id] = card.source
    return problems


@dataclass(frozen=True)
class Deck:
    """All cards, indexed by id, with topic helpers used by the session pickers."""

    cards: tuple[Card, ...]
    by_id: dict[str, Card] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = duplicate_id_problems(self.cards)
        if problems:
            raise DeckError(problems)
        object.__setattr__(self, "by_id", {c.id: c for c in self.cards})

    def __len__(self) -> int:
        return len(self.cards)

    def topics(self) -> list[str]:
        """Topics that have cards, in the guide's section order."""
        present = {c.topic for c in self.cards}
        return [t for t in topic_ids() if t in present]

    def in_topics(self, topics: Iterable[str] | None) -> list[Card]:
        wanted = set(topics) if topics else None
        return [c for c in self.cards if wanted is None or c.topic in wanted]

