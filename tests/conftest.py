import pathlib
import sys

# Browser tests share tests/browser/live_server.py; make it importable as a plain module.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "browser"))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright against a live server")
