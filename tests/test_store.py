"""Progress store on real SQLite files: schema and versioning, profiles, per-review commits, restarts,
concurrent profiles, export/import round trips and every import rejection leaving the database as it was."""

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fsrs import Rating
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descent_core.quiz import srs, store
from descent_core.quiz.store import ImportRejected, ProfileNameError, ReviewRow

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
KNOWN = {"gd-step", "gd-limit", "momentum-effective-lr"}


def engine_at(path):
    engine = sa.create_engine(f"sqlite:///{path}")
    store.ensure_schema(engine)
    return engine


@pytest.fixture
def db(tmp_path):
    engine = engine_at(tmp_path / "p.db")
    yield engine
    engine.dispose()


def answer(engine, profile_id, card_id, rating, when, session_id=None, points=100):
    sched = srs.make_scheduler(fuzz=False)
    state = store.load_states(engine, profile_id).get(card_id)
    new_state = srs.review(sched, card_id, state, rating, when, 4.0)
    row = ReviewRow(card_id, card_id.split("-")[0], when, int(rating), rating != Rating.Again, False, 4000, points)
    store.record_review(engine, profile_id, row, new_state, session_id)
    return new_state


def test_schema_is_created_once_and_versioned(tmp_path):
    engine = engine_at(tmp_path / "s.db")
    assert store.ensure_schema(engine) == store.SCHEMA_VERSION  # second call is a no-op
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*), max(version) from schema_version")).one() == (1, store.SCHEMA_VERSION)
        tables = set(sa.inspect(conn).get_table_names())
    assert {"schema_version", "profiles", "reviews", "card_states", "quiz_sessions"} <= tables


def test_a_newer_schema_is_refused(tmp_path):
    engine = engine_at(tmp_path / "n.db")
    with engine.begin() as conn:
        conn.execute(sa.text("update schema_version set version = 99"))
    with pytest.raises(store.SchemaError, match="schema 99"):
        store.ensure_schema(engine)


@pytest.mark.parametrize("bad, message", [("", "empty"), ("   ", "empty"), ("x" * 41, "too long"), ("<script>", "letters")])
def test_bad_profile_names(db, bad, message):
    with pytest.raises(ProfileNameError, match=message):
        store.create_profile(db, bad)


def test_duplicate_profile_names_ignore_case_and_spacing(db):
    store.create_profile(db, "Ada Lovelace")
    with pytest.raises(ProfileNameError, match="already exists"):
        store.create_profile(db, "  ada   LOVELACE ")
    assert store.list_profiles(db) == ["Ada Lovelace"]
    assert store.find_profile(db, "ADA lovelace") is not None


def test_each_review_is_committed_and_survives_a_restart(tmp_path):
    path = tmp_path / "r.db"
    engine = engine_at(path)
    pid = store.create_profile(engine, "ada")
    sid = store.start_session(engine, pid, "drill", 2, T0)
    answer(engine, pid, "gd-step", Rating.Good, T0, sid)
    # A second, independent engine sees the review at once: it was committed, not buffered.
    other = sa.create_engine(f"sqlite:///{path}")
    assert len(store.load_reviews(other, pid)) == 1
    answer(engine, pid, "gd-step", Rating.Again, T0 + timedelta(minutes=5), sid)
    engine.dispose()  # "kill the server": nothing more is written, no session is finished
    restarted = engine_at(path)
    reviews = store.load_reviews(restarted, pid)
    assert [r["rating"] for r in reviews] == [Rating.Good, Rating.Again]
    assert reviews[0]["reviewed_at"] == T0  # timezone-aware UTC round trip
    assert store.load_states(restarted, pid)["gd-step"]["last_review"].startswith("2025-03-01T09:05")
    assert store.load_sessions(restarted, pid)[0]["finished_at"] is None


def test_two_profiles_write_concurrently_without_seeing_each_other(tmp_path):
    path = tmp_path / "c.db"
    setup = engine_at(path)
    ids = {name: store.create_profile(setup, name) for name in ("ada", "grace")}
    errors = []

    def worker(name):
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
        try:
            for i in range(25):
                answer(engine, ids[name], "gd-step" if i % 2 else "gd-limit", Rating.Good, T0 + timedelta(minutes=i))
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name, pid in ids.items():
        assert len(store.load_reviews(setup, pid)) == 25
        assert set(store.load_states(setup, pid)) == {"gd-step", "gd-limit"}
    ada_ids = {r["id"] for r in store.load_reviews(setup, ids["ada"])}
    assert ada_ids.isdisjoint(r["id"] for r in store.load_reviews(setup, ids["grace"]))


def test_export_import_round_trip_into_another_profile(db):
    ada = store.create_profile(db, "ada")
    sid = store.start_session(db, ada, "drill", 2, T0)
    answer(db, ada, "gd-step", Rating.Good, T0, sid)
    answer(db, ada, "momentum-effective-lr", Rating.Again, T0 + timedelta(seconds=30), sid)
    store.finish_session(db, sid, n_correct=1, score=140, now=T0 + timedelta(minutes=1))
    exported = store.export_profile(db, ada, "ada", now=T0)
    text = json.dumps(exported)

    grace = store.create_profile(db, "grace")
    answer(db, grace, "gd-limit", Rating.Easy, T0)  # replaced by the import
    store.import_profile(db, grace, store.validate_import(text, KNOWN))
    assert store.export_profile(db, grace, "ada", now=T0) == exported
    reviews = store.load_reviews(db, grace)
    assert all(r["session_id"] == store.load_sessions(db, grace)[0]["id"] for r in reviews)
    assert store.load_reviews(db, ada) != [] and len(store.load_reviews(db, ada)) == 2  # the source is untouched


def _valid_export(db):
    pid = store.create_profile(db, "source")
    sid = store.start_session(db, pid, "drill", 1, T0)
    answer(db, pid, "gd-step", Rating.Good, T0, sid)
    return store.export_profile(db, pid, "source", now=T0)


def _mutations():
    def set_in(path, value):
        def apply(doc):
            target = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            return json.dumps(doc)

        return apply

    return {
        "not json": (lambda doc: "{not json", "not valid JSON"),
        "not utf8": (lambda doc: b"\xff\xfe\x00garbage", "not UTF-8"),
        "foreign": (lambda doc: json.dumps({"cards": [], "app": "anki"}), "not a Descent progress export"),
        "a list": (lambda doc: "[1, 2, 3]", "not a Descent progress export"),
        "future version": (set_in(["version"], 7), "version 7"),
        "unknown card id": (set_in(["reviews", 0, "card_id"], "no-such-card"), "not in the current decks (no-such-card)"),
        "unknown state id": (set_in(["card_states", 0, "card_id"], "ghost"), "ghost"),
        "bad rating": (set_in(["reviews", 0, "rating"], 9), "rating"),
        "bool as int": (set_in(["reviews", 0, "points"], True), "points"),
        "bad date": (set_in(["reviews", 0, "reviewed_at"], "yesterday"), "reviewed_at"),
        "bad session ref": (set_in(["reviews", 0, "session"], 5), "session"),
        "bad topic": (set_in(["reviews", 0, "topic"], "astrology"), "topic"),
        "broken fsrs state": (set_in(["card_states", 0, "state", "state"], 42), "FSRS"),
        "reviews not a list": (set_in(["reviews"], {"a": 1}), "'reviews' must be a list"),
        "oversized": (lambda doc: json.dumps(doc) + " " * store.MAX_IMPORT_BYTES, "at most 5 MB"),
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_rejected_imports_leave_the_database_unchanged(db, case):
    exported = _valid_export(db)
    target = store.create_profile(db, "target")
    answer(db, target, "gd-limit", Rating.Good, T0)
    before = store.snapshot(db, target)
    mutate, message = _mutations()[case]
    with pytest.raises(ImportRejected) as err:
        store.validate_import(mutate(json.loads(json.dumps(exported))), KNOWN)
    assert message in str(err.value) and "Nothing was imported" in str(err.value)
    assert store.snapshot(db, target) == before


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                         max_leaves=12))
def test_arbitrary_json_is_rejected_cleanly_or_accepted_never_crashes(junk):
    doc = {"format": store.EXPORT_FORMAT, "version": store.EXPORT_VERSION, "profile": "x",
           "card_states": junk, "reviews": junk, "sessions": junk}
    try:
        store.validate_import(json.dumps(doc), KNOWN)
    except ImportRejected:
        pass


def test_import_is_atomic_when_the_write_fails(db, monkeypatch):
    exported = _valid_export(db)
    target = store.create_profile(db, "target")
    answer(db, target, "gd-limit", Rating.Good, T0)
    before = store.snapshot(db, target)
    payload = store.validate_import(json.dumps(exported), KNOWN)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_put_state", explode)  # fails after the deletes and inserts ran
    with pytest.raises(RuntimeError):
        store.import_profile(db, target, payload)
    assert store.snapshot(db, target) == before


def test_read_only_database_is_detected(tmp_path):
    path = tmp_path / "ro.db"
    engine_at(path).dispose()
    read_only = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    store.ensure_schema(read_only)  # reading the schema works
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        store.check_writable(read_only)
    store.check_writable(engine_at(path))
