import pathlib
import sys

from hypothesis import settings

# Browser tests share tests/browser/live_server.py; make it importable as a plain module.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "browser"))

# These machines are shared and noisy: a per-example time limit would fail tests for load, not for bugs.
settings.register_profile("descent", deadline=None)
settings.load_profile("descent")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright against a live server")
