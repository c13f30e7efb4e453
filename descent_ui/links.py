"""Every page of the app, derived from content/: its file, its address, its title and its place in the menu.

One list serves the navigation, the sidebar menu, the home page's route and every cross-link, so a section's
address is stated once (its content file's name) and nothing keeps a copy.
"""

from __future__ import annotations

import functools
import pathlib
import re
from dataclasses import dataclass

from descent_core import content

ROOT = pathlib.Path(__file__).resolve().parent.parent

START_GROUP, QUIZ_GROUP = "Start", "Quiz"
GROUP_ORDER = (START_GROUP, *content.GROUPS, QUIZ_GROUP)
TOOLS_AFTER = "schedules"  # the practice tools follow this section, before the race, table and bibliography


@dataclass(frozen=True)
class PageEntry:
    path: str  # the page file, relative to the app's root
    title: str
    group: str
    icon: str | None = None
    section_id: str | None = None  # set for guide sections

    @property
    def url_path(self) -> str:
        """The address Streamlit serves the file at: its name without the ordering prefix."""
        return content.strip_order(pathlib.Path(self.path).stem)


HOME = PageEntry("pages/home.py", "Welcome", START_GROUP, ":material/landscape:")
TOOLS = (
    PageEntry("pages/labs.py", "Live labs", "Practice", ":material/science:"),
    PageEntry("pages/inside.py", "Look inside an optimizer", "Practice", ":material/search:"),
    PageEntry("pages/your_surface.py", "Your own surface", "Practice", ":material/edit:"),
    PageEntry("pages/network.py", "A real network race", "Practice", ":material/hub:"),
)
QUIZ = PageEntry("pages/quiz.py", "Interview quiz", QUIZ_GROUP, ":material/quiz:")
PROGRESS = PageEntry("pages/progress.py", "Your progress", QUIZ_GROUP, ":material/trending_up:")


def page_file(section: content.Section | str) -> str:
    """pages/NN_slug.py for content/NN-slug.md (a Section or its id)."""
    found = content.section(section) if isinstance(section, str) else section
    return f"pages/{found.path.stem.replace('-', '_')}.py"


def target(page: PageEntry | content.Section | str) -> str:
    """The absolute path of a page file, as ``st.Page`` and ``st.page_link`` take it: absolute, so links resolve
    the same whether the app runs from app.py or a page file runs on its own (a test, a first deep link)."""
    if isinstance(page, PageEntry):
        page = page.path
    elif isinstance(page, content.Section):
        page = page_file(page)
    elif not page.startswith("pages/"):
        page = page_file(page)  # a section id
    return str(ROOT / page)


@functools.lru_cache(maxsize=1)
def _spellings() -> tuple[tuple[re.Pattern, str], ...]:
    """Optimizer names whose spelling is more than a capital first letter (RMSProp, AdaGrad, AdamW...), matched
    whatever their case: titles spell them as the registry does."""
    names = set(registry_names().values())
    odd = [n for n in names if " " not in n and n not in (n.capitalize(), n.lower())]
    return tuple((re.compile(rf"\b{re.escape(n)}\b", re.IGNORECASE), n) for n in sorted(odd, key=len, reverse=True))


_SPEC = re.compile(r'OptimizerSpec\(\s*"([a-z0-9_]+)",\s*"([^"]+)"')


@functools.lru_cache(maxsize=1)
def registry_names() -> dict[str, str]:
    """{optimizer id: name} read from the registry's source (descent_core/optimizers.py) rather than imported, so
    the menu is drawn without loading torch; ``tests/test_ui_logic.py`` checks it equals ``dc.OPTIMIZERS``."""
    source = (ROOT / "descent_core" / "optimizers.py").read_text(encoding="utf-8")
    return dict(_SPEC.findall(source))


def spelled(text: str) -> str:
    """``text`` with every optimizer name spelled as in ``descent_core.OPTIMIZERS`` ("RMSprop" -> "RMSProp")."""
    for pattern, name in _spellings():
        text = pattern.sub(name, text)
    return text


def title_of(section: content.Section) -> str:
    """A section's full title, names spelled as in the registry."""
    return spelled(section.title)


def short_title(section: content.Section) -> str:
    """A section's title up to its colon: what menus and links show."""
    return spelled(section.title.split(":")[0])


@functools.lru_cache(maxsize=1)
def pages() -> tuple[PageEntry, ...]:
    """Every page in menu order: the welcome page, the sections by group (tools after ``TOOLS_AFTER``), the quiz."""
    by_group: dict[str, list[PageEntry]] = {group: [] for group in GROUP_ORDER}
    by_group[START_GROUP].append(HOME)
    for section in content.sections().values():
        by_group[section.group].append(PageEntry(page_file(section), short_title(section), section.group,
                                                 section_id=section.id))
        if section.id == TOOLS_AFTER:
            by_group[section.group].extend(TOOLS)
    by_group[QUIZ_GROUP] += [QUIZ, PROGRESS]
    return tuple(entry for group in GROUP_ORDER for entry in by_group[group] if (ROOT / entry.path).exists())


def groups() -> dict[str, list[PageEntry]]:
    """The pages by menu group, in order, empty groups left out."""
    grouped: dict[str, list[PageEntry]] = {}
    for entry in pages():
        grouped.setdefault(entry.group, []).append(entry)
    return grouped
