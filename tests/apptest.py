"""Open a page the way a reader does: through app.py's frame (navigation, sidebar), then switched to the page."""

from __future__ import annotations

import pathlib

from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def open_page(path: str, timeout: float = 120) -> AppTest:
    """An AppTest of app.py showing ``path`` (e.g. "pages/labs.py"), run once."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.switch_page(path)
    return at.run()
