"""The guide's Markdown content: sections with YAML front matter, split into blocks a renderer can lay out.

A section body is a sequence of blocks: plain Markdown, callouts (GitHub-style ``> [!TRAP] Title`` quotes) and
markers for live figures and labs (``{{figure:id}}`` / ``{{lab:id}}`` alone on a line). Parsing lives here, away
from Streamlit, so tests can check every file without rendering it.
"""

from __future__ import annotations

import functools
import pathlib
import re
from dataclasses import dataclass, field
from typing import Literal

import yaml

CONTENT_DIR = pathlib.Path(__file__).resolve().parent.parent / "content"
CALLOUT_KINDS = ("MODEL", "TRAP", "TRADEOFF", "RUN", "NOTE")
REQUIRED_KEYS = ("id", "title", "order", "group", "summary", "optimizers", "landscapes", "deck", "references")
GROUPS = ("Foundations", "Momentum", "Adaptive rates", "The Adam family", "Frontier", "After Adam", "Practice")

# A quoted measurement, {{q:gd_best_rate=0.980198}}; the number may hold one level of braces: 2\times10^{-9}.
QUOTE = re.compile(r"\{\{q:([a-z0-9_]+)=((?:[^{}]|\{[^{}]*\})+?)\}\}")
_MARKER = re.compile(r"^\{\{\s*(figure|lab|view)\s*:\s*([a-z0-9_]+)\s*\}\}\s*$")
_CALLOUT_HEAD = re.compile(r"^>\s*\[!([A-Z]+)\]\s*(.*)$")
_FAMILY_BULLET = re.compile(r"^- \*\*([a-z0-9_]+)\*\* — core idea: (.+?); use it when: (.+)$")
_BIB_BULLET = re.compile(r"^- \*\*([a-z0-9]+)\*\* — (.+)$")


@dataclass(frozen=True)
class Block:
    kind: Literal["markdown", "callout", "figure", "lab", "view"]  # view: an explanatory figure that is not a race
    text: str = ""  # markdown or callout body
    name: str = ""  # callout kind, or figure/lab id
    title: str = ""  # callout title


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    order: int
    group: str
    summary: str
    optimizers: tuple[str, ...]
    landscapes: tuple[str, ...]
    deck: str
    references: tuple[str, ...]
    body: str  # as the reader sees it: quote markers replaced by their numbers
    path: pathlib.Path
    blocks: tuple[Block, ...] = field(default=())
    extra: dict = field(default_factory=dict)  # front-matter keys beyond the required ones (e.g. a race's claims)

    @property
    def slug(self) -> str:
        """The file name without its ordering prefix: content/01-gradient-descent.md -> gradient-descent."""
        return strip_order(self.path.stem)

    @property
    def url_path(self) -> str:
        """Where the app serves this section: /gradient_descent (Streamlit derives it from pages/01_gradient_descent.py)."""
        return self.slug.replace("-", "_")

    @property
    def figures(self) -> list[str]:
        return [b.name for b in self.blocks if b.kind == "figure"]

    @property
    def labs(self) -> list[str]:
        return [b.name for b in self.blocks if b.kind == "lab"]

    @property
    def views(self) -> list[str]:
        return [b.name for b in self.blocks if b.kind == "view"]


def quotes(text: str) -> list[tuple[str, str]]:
    """Every quoted measurement in ``text``: (quantity id, the number as written)."""
    return QUOTE.findall(text)


def unquote(text: str) -> str:
    """The text a reader sees: each quote marker replaced by the number it quotes."""
    return QUOTE.sub(lambda m: m.group(2), text)


def strip_order(name: str) -> str:
    """A file name without its two-digit ordering prefix: "01-gradient-descent" -> "gradient-descent"."""
    return re.sub(r"^\d+[-_]", "", name)


def split_front_matter(text: str, source: str = "") -> tuple[dict, str]:
    if not text.startswith("---\n"):
        raise ValueError(f"{source}: missing YAML front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{source}: unterminated YAML front matter")
    meta = yaml.safe_load(text[4:end]) or {}
    if not isinstance(meta, dict):
        raise ValueError(f"{source}: front matter must be a mapping")
    return meta, text[end + 5 :]


def parse_blocks(body: str) -> tuple[Block, ...]:
    """Split a body into Markdown, callout and marker blocks (fenced code is never split); quote markers become
    the numbers they quote."""
    blocks: list[Block] = []
    buffer: list[str] = []
    lines = unquote(body).splitlines()
    i, in_fence = 0, False

    def flush():
        text = "\n".join(buffer).strip("\n")
        if text.strip():
            blocks.append(Block("markdown", text))
        buffer.clear()

    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        marker = None if in_fence else _MARKER.match(line.strip())
        head = None if in_fence else _CALLOUT_HEAD.match(line)
        if marker:
            flush()
            blocks.append(Block(marker.group(1), name=marker.group(2)))
            i += 1
        elif head and head.group(1) in CALLOUT_KINDS:
            flush()
            body_lines = []
            i += 1
            while i < len(lines) and lines[i].startswith(">"):
                body_lines.append(lines[i][1:].removeprefix(" "))
                i += 1
            blocks.append(Block("callout", "\n".join(body_lines).strip(), head.group(1), head.group(2).strip()))
        else:
            buffer.append(line)
            i += 1
    flush()
    return tuple(blocks)


def load_section(path: pathlib.Path) -> Section:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"), path.name)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ValueError(f"{path.name}: front matter lacks {missing}")
    return Section(
        id=str(meta["id"]), title=str(meta["title"]), order=int(meta["order"]), group=str(meta["group"]),
        summary=str(meta["summary"]), optimizers=tuple(meta["optimizers"] or ()),
        landscapes=tuple(meta["landscapes"] or ()), deck=str(meta["deck"]),
        references=tuple(meta["references"] or ()), body=unquote(body), path=path, blocks=parse_blocks(body),
        extra={k: v for k, v in meta.items() if k not in REQUIRED_KEYS},
    )


@functools.lru_cache(maxsize=1)
def sections() -> dict[str, Section]:
    """Every numbered section file, in guide order."""
    loaded = [load_section(p) for p in sorted(CONTENT_DIR.glob("[0-9][0-9]-*.md"))]
    return {s.id: s for s in sorted(loaded, key=lambda s: s.order)}


def section(section_id: str) -> Section:
    found = sections()
    if section_id not in found:
        raise KeyError(f"Unknown section {section_id!r}; valid: {', '.join(found)}")
    return found[section_id]


@functools.lru_cache(maxsize=1)
def notation() -> str:
    _, body = split_front_matter((CONTENT_DIR / "notation.md").read_text(encoding="utf-8"), "notation.md")
    return body


def family_notes() -> dict[str, tuple[str, str]]:
    """{optimizer id: (core idea, use it when)} from the family-table section's bullets."""
    notes = {}
    for line in section("family").body.splitlines():
        match = _FAMILY_BULLET.match(line.strip())
        if match:
            notes[match.group(1)] = (match.group(2).strip(), match.group(3).strip().rstrip("."))
    return notes


def bibliography() -> dict[str, str]:
    """{reference key: formatted entry} from the bibliography section."""
    entries = {}
    for line in section("bibliography").body.splitlines():
        match = _BIB_BULLET.match(line.strip())
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


@functools.lru_cache(maxsize=1)
def inside_notes() -> dict[str, dict[str, str]]:
    """The inspector's text (content/inside.yaml): ``slots`` (what each buffer is), ``explain`` (per optimizer)."""
    notes = yaml.safe_load((CONTENT_DIR / "inside.yaml").read_text(encoding="utf-8"))
    return {"slots": dict(notes["slots"]), "explain": dict(notes["explain"])}
