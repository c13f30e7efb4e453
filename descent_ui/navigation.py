"""The app's frame: page config, the navigation, its sidebar menu and the shared sidebar controls.

``app.py`` calls ``run_app``; every page file starts with ``inside_app_frame()``.

Why the menu is our own. This app keeps its page files in a top-level ``pages/`` folder. Until some script run has
called ``st.navigation``, Streamlit 1.67 serves such a folder the old way: it lists the files' raw names in the
sidebar, and a deep link (say /grand_race) on a fresh server runs that page file alone, without ``app.py``. The
raw list is hidden by ``client.showSidebarNavigation = false`` (.streamlit/config.toml), so the app declares its
pages with ``st.navigation(position="hidden")`` and draws the menu with ``st.page_link``: Streamlit's documented
way to build a custom menu, and the one that never shows file names. A page file run alone calls ``run_app``
itself (``inside_app_frame``), so even that first deep link is served inside the frame.
``tests/browser/test_frame_browser.py`` fails the day Streamlit stops behaving this way.
"""

from __future__ import annotations

import threading

import streamlit as st

from . import links
from .state import sidebar_controls
from .theme import apply_reader_css

_RUN = threading.local()  # set while app.py's frame runs a page in this script thread


def run_app() -> None:
    """Configure the page, declare every page, draw the sidebar and run the page the address asks for."""
    st.set_page_config(page_title="Descent · a field guide to gradient descent", page_icon="⛰️", layout="wide")
    page = st.navigation(_declared_pages(), position="hidden")
    apply_reader_css()
    sidebar_menu()
    sidebar_controls()
    _RUN.in_frame = True
    try:
        page.run()
    finally:
        _RUN.in_frame = False


def inside_app_frame() -> None:
    """Make sure the page runs inside ``run_app``'s frame. A page file that runs alone (the first deep link on a
    fresh server) runs the whole frame instead, which serves the address (this page) inside it, and then stops.
    Tests run pages through app.py (``AppTest.from_file("app.py")`` and ``switch_page``), as users see them."""
    if getattr(_RUN, "in_frame", False):
        return
    run_app()
    st.stop()


def _declared_pages() -> list:
    return [st.Page(links.target(entry), title=entry.title, icon=entry.icon, url_path=entry.url_path,
                    default=entry is links.HOME) for entry in links.pages()]


def sidebar_menu() -> None:
    """The guide's route, grouped as the guide is; the current page is highlighted by ``st.page_link`` itself."""
    with st.sidebar:
        st.markdown("### :material/landscape: Descent")
        for group, entries in links.groups().items():
            st.caption(group)
            for entry in entries:
                st.page_link(links.target(entry), label=entry.title, icon=entry.icon)
