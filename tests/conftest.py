import os
import pathlib
import sys

# Under pytest-xdist each core runs a worker: one torch thread per worker, or the workers fight over the cores.
# (Set before anything imports torch; servers the browser tests start inherit it.)
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

from hypothesis import settings

# Browser tests share tests/browser/live_server.py; make it importable as a plain module.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "browser"))

# These machines are shared and noisy: a per-example time limit would fail tests for load, not for bugs.
settings.register_profile("descent", deadline=None)
settings.load_profile("descent")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright against a live server")


# ----- databases for the store and quiz tests: SQLite files and a real PostgreSQL --------------------------------
# scripts/test.sh starts a throwaway PostgreSQL cluster and exports its URL; each test gets its own schema in it, so
# tests never see each other's rows. Without the URL the PostgreSQL cases skip, unless DESCENT_REQUIRE_PG says the
# server must be there (test.sh and CI set it), in which case they fail.
import contextlib
import os
import uuid

import pytest

PG_URL_ENV = "DESCENT_TEST_PG_URL"
DATABASES = ["sqlite", "postgresql"]


@contextlib.contextmanager
def postgres_schema_url():
    """A URL whose connections use a fresh, empty schema of the test server; the schema is dropped afterwards."""
    import sqlalchemy as sa

    base = os.environ.get(PG_URL_ENV)
    if not base:
        if os.environ.get("DESCENT_REQUIRE_PG"):
            pytest.fail(f"{PG_URL_ENV} is not set, but DESCENT_REQUIRE_PG says PostgreSQL must be tested")
        pytest.skip(f"no PostgreSQL server: set {PG_URL_ENV} (scripts/test.sh starts one)")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    joiner = "&" if "?" in base else "?"
    try:
        yield f"{base}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def store_url(request, tmp_path):
    """The URL of an empty progress database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'progress.db'}"
    else:
        with postgres_schema_url() as url:
            yield url
