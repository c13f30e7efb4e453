"""The app's page list, grouped as the guide is: one page per content section plus the practice tools."""

from __future__ import annotations

import pathlib
import re

import streamlit as st

from descent_core import content

from .section import page_file

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Pages that are not content sections: (file, title, icon, group).
TOOLS = [
    ("pages/labs.py", "Live labs", ":material/science:", "Practice"),
    ("pages/inside.py", "Look inside an optimizer", ":material/search:", "Practice"),
    ("pages/your_surface.py", "Your own surface", ":material/edit:", "Practice"),
    ("pages/network.py", "A real network race", ":material/hub:", "Practice"),
    ("pages/quiz.py", "Interview quiz", ":material/quiz:", "Quiz"),
    ("pages/progress.py", "Your progress", ":material/trending_up:", "Quiz"),
]
GROUP_ORDER = ["Start", *content.GROUPS, "Quiz"]
# Practice tools go after the schedules section and before the race, table and bibliography.
TOOLS_AFTER = "schedules"


def url_path(page_path: str) -> str:
    """The address of a page file: its name without the ordering prefix (pages/03_momentum.py -> momentum).

    Streamlit matches a requested address against these file-derived names before the script declares its
    navigation, so any other address would flash a "page not found" notice on a direct link.
    """
    return re.sub(r"^\d+_", "", pathlib.Path(page_path).stem)


def build_navigation():
    groups: dict[str, list] = {group: [] for group in GROUP_ORDER}
    groups["Start"].append(st.Page("pages/home.py", title="Welcome", icon=":material/landscape:", url_path="home", default=True))
    for section in content.sections().values():
        path = page_file(section)
        groups[section.group].append(st.Page(path, title=section.title.split(":")[0], url_path=url_path(path)))
        if section.id == TOOLS_AFTER:
            _add_tools(groups, "Practice")
    _add_tools(groups, "Quiz")
    return st.navigation({group: pages for group, pages in groups.items() if pages}, expanded=True)


def _add_tools(groups: dict[str, list], group: str) -> None:
    for path, title, icon, tool_group in TOOLS:
        if tool_group == group and (ROOT / path).exists():
            groups[group].append(st.Page(path, title=title, icon=icon, url_path=url_path(path)))


def inside_app_frame() -> None:
    """Make sure a page runs inside app.py's navigation, even on a server's very first request.

    Until some run has called ``st.navigation``, Streamlit 1.67 treats a ``pages/`` folder the old way: a deep
    link such as /grand_race runs pages/14_grand_race.py alone, without app.py's page config, sidebar and
    navigation. Each page calls this first; in that one situation it switches the old mode off and reruns, and
    the rerun goes through app.py like every other.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
