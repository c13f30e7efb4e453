"""Real browser, three widths: the guide's first pages: home, foundations, momentum and the adaptive rates. The checks, and how each page is
visited (opened on a phone, widened to a tablet and a laptop, several pages at once), are in page_checks.py."""

from __future__ import annotations

import os

import pytest

from live_server import CHROMIUM
from page_checks import WIDTHS, check_page, page_paths, pool_fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]

pages = pytest.fixture(scope="module")(pool_fixture)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", page_paths("basics"), ids=lambda p: p or "home")
def test_page_reads_and_fits(pages, path, width):
    check_page(pages, path, width)
