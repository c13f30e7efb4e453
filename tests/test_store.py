"""Progress store on real databases (a SQLite file and a PostgreSQL schema, every test on both): schema, migration
from schema 1, per-review commits, versioned card states under two tabs, undo, suspend and reset, transient errors,
concurrency, and export/import round trips written in bounded transactions."""

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fsrs import Rating

from descent_core.quiz import profiles, srs, store, transfer
from descent_core.quiz.store import ReviewRow

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
KNOWN = {"gd-step", "gd-limit", "momentum-effective-lr"}
SCHED = srs.make_scheduler(fuzz=False)


def engine_for(url, **kwargs):
    engine = sa.create_engine(url, **kwargs)
    store.ensure_schema(engine)
    return engine


@pytest.fixture
def db(store_url):
    engine = engine_for(store_url)
    yield engine
    engine.dispose()


def answer(engine, profile_id, card_id, rating, when, session_id=None, points=100, seen=None):
    """Answer one card the way the quiz does: schedule from whatever state the database holds right now."""
    def schedule(stored):
        if seen is not None:
            seen.append(stored)
        return srs.review(SCHED, card_id, stored, rating, when, 4.0)

    row = ReviewRow(card_id, card_id.split("-")[0], when, int(rating), rating != Rating.Again, False, 4000, points)
    return store.record_review(engine, profile_id, row, schedule, session_id)


# ----- schema and migration --------------------------------------------------------------------------------------
def test_schema_is_created_once_and_versioned(db):
    assert store.ensure_schema(db) == store.SCHEMA_VERSION == 2  # a second call is a no-op
    with db.connect() as conn:
        assert conn.execute(sa.text("select count(*), max(version) from schema_version")).one() == (1, 2)
        tables = set(sa.inspect(conn).get_table_names())
    assert {"schema_version", "profiles", "reviews", "card_states", "quiz_sessions", "import_batches"} <= tables


def test_a_newer_schema_is_refused(db):
    with db.begin() as conn:
        conn.execute(sa.text("update schema_version set version = 99"))
    with pytest.raises(store.SchemaError, match="schema 99"):
        store.ensure_schema(db)


SCHEMA_1 = """
CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE profiles (id SERIAL PRIMARY KEY, name_key VARCHAR(80) NOT NULL UNIQUE, name VARCHAR(80) NOT NULL,
                       created_at TIMESTAMP NOT NULL);
CREATE TABLE quiz_sessions (id SERIAL PRIMARY KEY, profile_id INTEGER NOT NULL REFERENCES profiles (id),
                            mode VARCHAR(16) NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
                            n_cards INTEGER NOT NULL, n_correct INTEGER NOT NULL, score INTEGER NOT NULL);
CREATE INDEX ix_quiz_sessions_profile_id ON quiz_sessions (profile_id);
CREATE TABLE reviews (id SERIAL PRIMARY KEY, profile_id INTEGER NOT NULL REFERENCES profiles (id),
                      session_id INTEGER REFERENCES quiz_sessions (id), card_id VARCHAR(100) NOT NULL,
                      topic VARCHAR(40) NOT NULL, reviewed_at TIMESTAMP NOT NULL, rating INTEGER NOT NULL,
                      correct BOOLEAN NOT NULL, timed_out BOOLEAN NOT NULL, elapsed_ms INTEGER NOT NULL,
                      points INTEGER NOT NULL);
CREATE INDEX ix_reviews_profile_time ON reviews (profile_id, reviewed_at);
CREATE TABLE card_states (profile_id INTEGER NOT NULL REFERENCES profiles (id), card_id VARCHAR(100) NOT NULL,
                          state TEXT NOT NULL, due TIMESTAMP NOT NULL, PRIMARY KEY (profile_id, card_id));
"""


def test_a_schema_1_database_migrates_forward_without_losing_data(store_url):
    """A database exactly as the previous release made it, with data in it, upgrades in place."""
    old = sa.create_engine(store_url)
    ddl = SCHEMA_1 if old.dialect.name == "postgresql" else SCHEMA_1.replace("SERIAL PRIMARY KEY", "INTEGER PRIMARY KEY")
    good = srs.review(SCHED, "gd-step", None, Rating.Good, T0, 3.0)
    broken = dict(good, stability=float("nan"), step=1.5)  # what schema 1's import let in
    with old.begin() as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
        conn.execute(sa.text("INSERT INTO schema_version VALUES (1, 1)"))
        conn.execute(sa.text("INSERT INTO profiles (id, name_key, name, created_at) VALUES "
                             "(1, 'ada', 'Ada', :t), (2, 'ａｄａ', 'ＡＤＡ', :t), (3, 'grace', 'Grace', :t)"), {"t": T0})
        conn.execute(sa.text("INSERT INTO quiz_sessions (id, profile_id, mode, started_at, n_cards, n_correct, score) "
                             "VALUES (1, 1, 'drill', :t, 2, 1, 150)"), {"t": T0})
        conn.execute(sa.text("INSERT INTO reviews (profile_id, session_id, card_id, topic, reviewed_at, rating, correct, "
                             "timed_out, elapsed_ms, points) VALUES (1, 1, 'gd-step', 'gd', :t, 3, true, false, 3000, 150),"
                             " (1, 1, 'gd-limit', 'gd', :t, 1, false, false, 9000, 0)"), {"t": T0})
        conn.execute(sa.text("INSERT INTO card_states VALUES (1, 'gd-step', :s, :t), (1, 'gd-limit', :b, :t)"),
                     {"s": json.dumps(good), "b": json.dumps(broken), "t": T0})
        if old.dialect.name == "postgresql":  # the rows above chose their ids; schema 1's sequences must move on
            conn.execute(sa.text("SELECT setval('profiles_id_seq', 3), setval('quiz_sessions_id_seq', 1)"))
    old.dispose()

    engine = engine_for(store_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version from schema_version")).scalar() == 2
    assert [p.name for p in profiles.list_profiles(engine)] == ["Ada", "ADA 2", "Grace"]  # NFKC made 1 and 2 equal
    assert profiles.find_profile(engine, "ada 2") == 2
    assert [r["card_id"] for r in store.load_reviews(engine, 1)] == ["gd-step", "gd-limit"]
    assert store.load_sessions(engine, 1)[0]["score"] == 150
    assert store.load_states(engine, 1) == {"gd-step": good}  # the broken state is a new card again
    assert set(store.load_card_rows(engine, 1)) == {"gd-step", "gd-limit"}
    # The migrated database takes new answers, passphrases and owners like a new one.
    answer(engine, 1, "gd-limit", Rating.Good, T0 + timedelta(days=1))
    profiles.set_passphrase(engine, 3, "a long passphrase")
    assert profiles.open_profile(engine, "grace", "a long passphrase").id == 3
    assert profiles.profile_for_owner(engine, "https://issuer|42", "Ada L.").id == 4
    engine.dispose()


# ----- profiles: names, passphrases, owners ------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ("", "empty"), ("   ", "empty"), ("x" * 41, "too long"), ("<script>", "letters"),
    ("ß" * 30, "too long"),  # 30 characters, but 60 once case-folded
    ("Аda", "one alphabet"),  # a Cyrillic А in front of Latin letters
    ("a\u200bb", "letters"),  # a zero-width space
])
def test_bad_profile_names(db, bad, message):
    with pytest.raises(profiles.ProfileNameError, match=message):
        profiles.create_profile(db, bad)


@pytest.mark.parametrize("first, second", [
    ("Ada Lovelace", "  ada   LOVELACE "), ("Ada", "Ａｄａ"), ("Straße", "STRASSE"), ("ﬀ", "FF"),
])
def test_lookalike_names_are_one_profile(db, first, second):
    profiles.create_profile(db, first)
    with pytest.raises(profiles.ProfileNameError, match="taken"):
        profiles.create_profile(db, second)
    assert len(profiles.list_profiles(db)) == 1


def test_a_passphrase_opens_only_its_profile_and_errors_say_nothing(db):
    ada = profiles.create_profile(db, "ada", passphrase="correct horse battery")
    profiles.create_profile(db, "grace", passphrase="another passphrase")
    assert profiles.open_profile(db, "ADA", "correct horse battery").id == ada
    messages = set()
    for name, phrase in [("ada", "another passphrase"), ("nobody", "correct horse battery"), ("ada", ""),
                         ("<b>", "x" * 9), ("ada", "x" * 10_000)]:
        with pytest.raises(profiles.ProfileAccessError) as err:
            profiles.open_profile(db, name, phrase)
        messages.add(str(err.value))
    assert messages == {"No profile matches that name and passphrase."}
    with db.connect() as conn:
        stored = conn.execute(sa.text("select passphrase_hash from profiles where id = :i"), {"i": ada}).scalar()
    assert stored.startswith("scrypt$") and "horse" not in stored
    assert not profiles.check_passphrase(db, ada, "wrong guess!") and profiles.check_passphrase(db, ada, "correct horse battery")


def test_a_profile_without_passphrase_cannot_be_opened_by_name_on_a_shared_store(db):
    profiles.create_profile(db, "legacy")
    with pytest.raises(profiles.ProfileAccessError):
        profiles.open_profile(db, "legacy", "anything at all")
    assert profiles.local_profile(db, "legacy") is not None
    profiles.create_profile(db, "locked", passphrase="a passphrase here")
    assert profiles.local_profile(db, "locked") is None  # a local run's one-click open respects a passphrase


def test_guessing_is_throttled_whether_or_not_the_name_exists(db):
    clock = [0.0]
    throttle = profiles.pw.AttemptThrottle(free_failures=3, wait_s=30, clock=lambda: clock[0])
    profiles.create_profile(db, "ada", passphrase="correct horse battery")
    for name in ("ada", "ghost"):
        for _ in range(3):
            with pytest.raises(profiles.ProfileAccessError, match="No profile"):
                profiles.open_profile(db, name, "wrong guess 1", throttle)
        with pytest.raises(profiles.ProfileAccessError, match="try again in 30 s"):
            profiles.open_profile(db, name, "correct horse battery", throttle)
    clock[0] += 31
    assert profiles.open_profile(db, "ada", "correct horse battery", throttle).name == "ada"


def test_signed_in_identities_own_one_profile_each_and_are_never_listed(db):
    first = profiles.profile_for_owner(db, "https://accounts.example|123", "Ada <b>L</b>")
    again = profiles.profile_for_owner(db, "https://accounts.example|123", "Renamed")
    other = profiles.profile_for_owner(db, "https://accounts.example|456", "Grace")
    assert first.id == again.id != other.id and first.owner == "https://accounts.example|123"
    assert profiles.list_profiles(db) == []
    profiles.create_profile(db, "ada")  # a typed name can never take an identity's key
    assert len(profiles.list_profiles(db)) == 1


# ----- answers ---------------------------------------------------------------------------------------------------
def test_each_review_is_committed_and_survives_a_restart(store_url):
    engine = engine_for(store_url)
    pid = profiles.create_profile(engine, "ada")
    sid = store.start_session(engine, pid, "drill", 2, T0)
    answer(engine, pid, "gd-step", Rating.Good, T0, sid)
    other = sa.create_engine(store_url)  # a second, independent engine sees it at once: committed, not buffered
    assert len(store.load_reviews(other, pid)) == 1
    other.dispose()
    answer(engine, pid, "gd-step", Rating.Again, T0 + timedelta(minutes=5), sid)
    engine.dispose()  # "kill the server": nothing more is written, no session is finished
    restarted = engine_for(store_url)
    reviews = store.load_reviews(restarted, pid)
    assert [r["rating"] for r in reviews] == [Rating.Good, Rating.Again]
    assert reviews[0]["reviewed_at"] == T0  # timezone-aware UTC round trip
    assert store.load_states(restarted, pid)["gd-step"]["last_review"].startswith("2025-03-01T09:05")
    assert store.load_sessions(restarted, pid)[0]["finished_at"] is None
    restarted.dispose()


def test_two_tabs_never_overwrite_each_other(store_url):
    """Tab B's copy of the card is stale; its answer is still scheduled from what tab A stored."""
    tab_a, tab_b = engine_for(store_url), engine_for(store_url)
    pid = profiles.create_profile(tab_a, "ada")
    answer(tab_a, pid, "gd-step", Rating.Good, T0)
    stale = store.load_states(tab_b, pid)["gd-step"]  # what tab B has in memory
    answer(tab_a, pid, "gd-step", Rating.Good, T0 + timedelta(days=2))  # tab A reviews again
    seen = []
    recorded = answer(tab_b, pid, "gd-step", Rating.Again, T0 + timedelta(days=3), seen=seen)
    assert seen[0] != stale and seen[0]["last_review"].startswith("2025-03-03")  # B saw A's second review
    assert recorded.version == 3 and len(store.load_reviews(tab_a, pid)) == 3
    expected = srs.review(SCHED, "gd-step", seen[0], Rating.Again, T0 + timedelta(days=3), 4.0)
    assert store.load_states(tab_a, pid)["gd-step"] == expected
    tab_a.dispose()
    tab_b.dispose()


def test_a_second_writer_queues_behind_the_first_and_builds_on_its_review(store_url):
    """Another tab answers the same card while our answer is being computed: it waits for our commit (SQLite's write
    lock and this process's write queue; PostgreSQL's row lock), neither fails, and its review is scheduled from ours."""
    mine, theirs = engine_for(store_url), engine_for(store_url)
    pid = profiles.create_profile(mine, "ada")
    first = answer(mine, pid, "gd-step", Rating.Good, T0)
    inside, their_seen, errors = threading.Event(), [], []

    def other_tab():
        inside.wait(10)
        try:
            answer(theirs, pid, "gd-step", Rating.Easy, T0 + timedelta(days=2), seen=their_seen)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=other_tab)
    thread.start()
    calls, seen_meanwhile = [], []

    def schedule(stored):
        calls.append(stored)
        inside.set()
        time.sleep(0.6)  # the other tab's answer arrives now and has to wait
        seen_meanwhile.append(list(their_seen))
        return srs.review(SCHED, "gd-step", stored, Rating.Hard, T0 + timedelta(days=1), 4.0)

    row = ReviewRow("gd-step", "gd", T0 + timedelta(days=1), 2, True, False, 4000, 50)
    recorded = store.record_review(mine, pid, row, schedule)
    thread.join(30)
    assert errors == [] and not thread.is_alive()
    assert calls == [first.after] and seen_meanwhile == [[]]  # ours ran once, and the other tab did not slip in
    assert their_seen == [recorded.after]  # the queued writer read what we committed
    assert recorded.version == 2 and store.load_card_rows(mine, pid)["gd-step"].version == 3
    assert [r["rating"] for r in store.load_reviews(mine, pid)] == [3, 2, 4]
    assert store.load_states(mine, pid)["gd-step"] == srs.review(SCHED, "gd-step", recorded.after, Rating.Easy,
                                                                 T0 + timedelta(days=2), 4.0)
    mine.dispose()
    theirs.dispose()


def test_without_the_locks_a_stale_write_is_still_refused_and_redone(store_url, monkeypatch):
    """The locks switched off, another tab commits between our read and our write. PostgreSQL: the version check
    finds no row at the version we read; SQLite (in WAL mode, where a reader does not block a writer): SQLite refuses
    to write from a stale snapshot. Either way the answer is redone from the newer state, and nothing is lost."""
    if store_url.startswith("sqlite"):
        with sa.create_engine(store_url).connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    mine, theirs = engine_for(store_url), engine_for(store_url)
    pid = profiles.create_profile(mine, "ada")
    answer(mine, pid, "gd-step", Rating.Good, T0)
    monkeypatch.setattr(store, "LOCKING", False)
    calls = []

    def schedule(stored):
        calls.append(stored)
        if len(calls) == 1:  # the other tab answers while we are computing
            answer(theirs, pid, "gd-step", Rating.Easy, T0 + timedelta(days=1))
        return srs.review(SCHED, "gd-step", stored, Rating.Hard, T0 + timedelta(days=2), 4.0)

    row = ReviewRow("gd-step", "gd", T0 + timedelta(days=2), 2, True, False, 4000, 50)
    recorded = store.record_review(mine, pid, row, schedule)
    assert len(calls) == 2 and calls[1]["last_review"].startswith("2025-03-02")
    assert recorded.version == 3 and [r["rating"] for r in store.load_reviews(mine, pid)] == [3, 4, 2]
    mine.dispose()
    theirs.dispose()


def test_a_write_started_inside_another_on_one_thread_fails_clearly_instead_of_hanging(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'nested.db'}")
    pid = profiles.create_profile(engine, "ada")

    def schedule(stored):
        answer(engine, pid, "gd-limit", Rating.Good, T0)
        return srs.review(SCHED, "gd-step", stored, Rating.Good, T0, 4.0)

    row = ReviewRow("gd-step", "gd", T0, 3, True, False, 4000, 50)
    with pytest.raises(store.StoreError, match="inside another"):
        store.record_review(engine, pid, row, schedule)
    assert store.load_reviews(engine, pid) == []
    engine.dispose()


def test_undo_restores_the_card_unless_it_was_reviewed_again(db):
    pid = profiles.create_profile(db, "ada")
    first = answer(db, pid, "gd-step", Rating.Good, T0)
    mistake = answer(db, pid, "gd-step", Rating.Again, T0 + timedelta(days=2))
    store.undo_review(db, pid, mistake)
    assert store.load_states(db, pid)["gd-step"] == first.after
    assert [r["rating"] for r in store.load_reviews(db, pid)] == [Rating.Good]
    later = answer(db, pid, "gd-step", Rating.Hard, T0 + timedelta(days=3))
    answer(db, pid, "gd-step", Rating.Good, T0 + timedelta(days=4))  # another tab, after `later`
    with pytest.raises(store.UndoRefused):
        store.undo_review(db, pid, later)
    new_card = answer(db, pid, "gd-limit", Rating.Again, T0)
    store.undo_review(db, pid, new_card)
    assert "gd-limit" not in store.load_states(db, pid)


def test_suspend_and_reset(db):
    pid = profiles.create_profile(db, "ada")
    answer(db, pid, "gd-step", Rating.Good, T0)
    answer(db, pid, "gd-step", Rating.Good, T0 + timedelta(days=2))
    store.set_suspended(db, pid, "gd-limit", True)  # a card never reviewed can be suspended too
    store.set_suspended(db, pid, "gd-step", True)
    assert store.suspended_cards(db, pid) == {"gd-limit", "gd-step"}
    assert "gd-step" in store.load_states(db, pid)  # suspending keeps the schedule
    store.set_suspended(db, pid, "gd-step", False)
    store.reset_card(db, pid, "gd-step", T0 + timedelta(days=3))
    assert "gd-step" not in store.load_states(db, pid) and len(store.load_reviews(db, pid)) == 2
    assert store.past_reviews(db, pid) == []  # history before a reset does not teach FSRS
    answer(db, pid, "gd-step", Rating.Good, T0 + timedelta(days=4))
    assert [r.rating for r in store.past_reviews(db, pid)] == [3]


def test_settings_are_validated_and_damaged_ones_fall_back(db):
    pid = profiles.create_profile(db, "ada")
    assert profiles.load_settings(db, pid) == profiles.Settings()
    profiles.save_retention(db, pid, 0.85)
    with pytest.raises(ValueError):
        profiles.save_retention(db, pid, 0.99)
    with pytest.raises(ValueError):
        profiles.save_parameters(db, pid, [float("nan")] * 21)
    weights = list(srs.DEFAULT_PARAMETERS)
    weights[0] = 0.5
    profiles.save_parameters(db, pid, weights, {"loss_before": 0.4, "loss_after": 0.3})
    settings = profiles.load_settings(db, pid)
    assert settings.desired_retention == 0.85 and settings.parameters[0] == 0.5 and settings.fit_report["loss_after"] == 0.3
    with db.begin() as conn:
        conn.execute(sa.text("update profiles set fsrs_parameters = '[1, 2]', desired_retention = 5 where id = :i"), {"i": pid})
    assert profiles.load_settings(db, pid) == profiles.Settings(fit_report={"loss_before": 0.4, "loss_after": 0.3})


def test_fitting_waits_for_enough_reviews_then_keeps_only_better_weights(db, monkeypatch):
    pid = profiles.create_profile(db, "ada")
    for day in range(4):
        answer(db, pid, "gd-step", Rating.Good, T0 + timedelta(days=2 * day))
    too_few = profiles.fit_profile(db, pid)
    assert not too_few.fitted and too_few.reviews_ready == 3 and too_few.needed == srs.MIN_REVIEWS_TO_FIT
    assert profiles.load_settings(db, pid).parameters is None  # the defaults until then
    better = list(srs.DEFAULT_PARAMETERS)
    better[0] = 0.5
    seen = []

    def fake_fit(reviews, current):  # the real optimizer is tested in test_quiz_srs.py; here only the wiring
        seen.append((len(reviews), current))
        return srs.FitReport(tuple(better), 0.50, 0.40 if len(seen) == 1 else 0.60, len(reviews))

    monkeypatch.setattr(srs, "MIN_REVIEWS_TO_FIT", 3)
    monkeypatch.setattr(srs, "fit_parameters", fake_fit)
    kept = profiles.fit_profile(db, pid)
    assert kept.kept and profiles.load_settings(db, pid).parameters == tuple(better)
    assert profiles.load_settings(db, pid).fit_report == {"loss_before": 0.5, "loss_after": 0.4, "reviews_used": 4,
                                                          "kept": True}
    assert profiles.scheduler_for(profiles.load_settings(db, pid)).parameters[0] == 0.5
    better[0] = 0.9
    worse = profiles.fit_profile(db, pid)  # a fit that predicts worse is reported and not used
    assert seen[1] == (4, tuple(v if i else 0.5 for i, v in enumerate(srs.DEFAULT_PARAMETERS)))
    assert not worse.kept and profiles.load_settings(db, pid).parameters[0] == 0.5
    assert profiles.load_settings(db, pid).fit_report["kept"] is False
    with db.begin() as conn:
        conn.execute(sa.text("update profiles set fit_report = '{not json' where id = :i"), {"i": pid})
    assert profiles.load_settings(db, pid).fit_report is None


def test_card_browser_history_and_heatmap_queries(db):
    from descent_core.quiz import browser
    from descent_core.quiz.deck import Card

    pid = profiles.create_profile(db, "ada")
    answer(db, pid, "gd-step", Rating.Good, T0)
    answer(db, pid, "gd-step", Rating.Again, T0 + timedelta(days=1, hours=20))  # 2025-03-03 05:00 UTC
    answer(db, pid, "gd-limit", Rating.Easy, T0 + timedelta(hours=1))
    store.set_suspended(db, pid, "momentum-effective-lr", True)
    assert [r["rating"] for r in store.card_history(db, pid, "gd-step")] == [3, 1]
    assert store.reviews_per_day(db, pid) == {T0.date(): 2, (T0 + timedelta(days=2)).date(): 1}
    # Seen from UTC-08:00 the 05:00 review falls on the evening before.
    assert store.reviews_per_day(db, pid, timedelta(hours=-8)) == {T0.date(): 2, (T0 + timedelta(days=1)).date(): 1}
    cards = [Card(id=cid, kind=kind, topic=topic, difficulty=1, prompt=prompt, answer="a")
             for cid, kind, topic, prompt in [("gd-step", "explain", "gd", "Why step against the gradient?"),
                                              ("gd-limit", "choice", "gd", "Largest stable rate"),
                                              ("momentum-effective-lr", "numeric", "momentum", "Effective rate"),
                                              ("adam-new", "explain", "adam", "Never seen")]]
    rows, reviews = store.load_card_rows(db, pid), store.load_reviews(db, pid)
    now = T0 + timedelta(days=3)

    def ids(**filters):
        return [c.card.id for c in browser.browse_cards(cards, rows, reviews, now, SCHED, **filters)]

    assert ids() == ["gd-step", "gd-limit", "momentum-effective-lr", "adam-new"]
    assert ids(search="GRADIENT why") == ["gd-step"] and ids(search="rate", topics=["gd"]) == ["gd-limit"]
    assert ids(kinds=["explain"]) == ["gd-step", "adam-new"]
    assert ids(states=["suspended"]) == ["momentum-effective-lr"] and ids(states=["new"]) == ["adam-new"]
    info = {c.card.id: c for c in browser.browse_cards(cards, rows, reviews, now, SCHED)}
    assert info["gd-step"].state in ("learning", "relearning") and info["gd-step"].lapses == 1 and info["gd-step"].reviews == 2
    assert info["gd-limit"].state == "review" and 0 < info["gd-limit"].recall_now < 1
    assert info["adam-new"].due is None and info["adam-new"].recall_now is None


# ----- transient errors ------------------------------------------------------------------------------------------
def locked_error():
    return sa.exc.OperationalError("insert", {}, Exception("database is locked"))


def test_transient_errors_are_retried_and_others_are_not():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise locked_error()
        return "written"

    assert store.retrying(flaky, sleep=sleeps.append) == "written" and len(sleeps) == 2
    with pytest.raises(store.TransientStoreError, match="locked"):
        store.retrying(lambda: (_ for _ in ()).throw(locked_error()), sleep=lambda s: None)
    readonly = sa.exc.OperationalError("insert", {}, Exception("attempt to write a readonly database"))
    with pytest.raises(sa.exc.OperationalError):
        store.retrying(lambda: (_ for _ in ()).throw(readonly), sleep=pytest.fail)


def test_a_lock_held_for_a_moment_by_another_writer_is_waited_out(tmp_path):
    path = tmp_path / "busy.db"
    engine = engine_for(f"sqlite:///{path}")
    pid = profiles.create_profile(engine, "ada")
    blocker = sa.create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    conn = blocker.connect()
    conn.exec_driver_sql("BEGIN EXCLUSIVE")  # another user's write holds the whole file
    release = threading.Timer(0.8, lambda: conn.exec_driver_sql("COMMIT"))
    release.start()
    began = time.perf_counter()
    answer(engine, pid, "gd-step", Rating.Good, T0)
    waited = time.perf_counter() - began
    release.join()
    conn.close()
    blocker.dispose()
    assert 0.7 < waited < 4 and len(store.load_reviews(engine, pid)) == 1
    engine.dispose()


# ----- many writers at once --------------------------------------------------------------------------------------
WRITERS = 20
ANSWERS_EACH = 10


def test_twenty_writers_answering_at_once_lose_nothing(store_url):
    """20 threads, each with its own connection pool: half answer one shared card of one shared profile (the worst
    case for lost updates), half answer cards of their own profiles."""
    setup = engine_for(store_url)
    shared = profiles.create_profile(setup, "classroom")
    own = [profiles.create_profile(setup, f"student {i}") for i in range(WRITERS // 2)]
    errors, start = [], threading.Barrier(WRITERS)
    sqlite = setup.dialect.name == "sqlite"

    def writer(i):
        engine = sa.create_engine(store_url, **({"connect_args": {"timeout": 30}} if sqlite else {}))
        store.prepare_engine(engine)
        try:
            start.wait()
            for k in range(ANSWERS_EACH):
                when = T0 + timedelta(minutes=k, seconds=i)
                if i % 2:
                    answer(engine, shared, "gd-step", Rating.Good, when)
                else:
                    answer(engine, own[i // 2], "gd-limit" if k % 2 else "gd-step", Rating.Good, when)
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    assert errors == []
    total = WRITERS * ANSWERS_EACH
    shared_reviews = store.load_reviews(setup, shared)
    assert len(shared_reviews) == total // 2
    assert store.load_card_rows(setup, shared)["gd-step"].version == total // 2  # every update built on the last
    assert all(len(store.load_reviews(setup, pid)) == ANSWERS_EACH for pid in own)
    print(f"\n{setup.dialect.name}: {WRITERS} writers x {ANSWERS_EACH} answers = {total} answers in {seconds:.2f} s "
          f"({total / seconds:.0f} answers/s), 0 lost")
    setup.dispose()


# ----- export and import -----------------------------------------------------------------------------------------
def test_export_import_round_trip_into_another_profile(db):
    ada = profiles.create_profile(db, "ada")
    sid = store.start_session(db, ada, "drill", 2, T0)
    answer(db, ada, "gd-step", Rating.Good, T0, sid)
    answer(db, ada, "momentum-effective-lr", Rating.Again, T0 + timedelta(seconds=30), sid)
    store.set_suspended(db, ada, "gd-limit", True)
    profiles.save_retention(db, ada, 0.8)
    store.finish_session(db, sid, n_correct=1, score=140, now=T0 + timedelta(minutes=1))
    exported = transfer.export_profile(db, ada, "ada", now=T0)
    text = json.dumps(exported)

    grace = profiles.create_profile(db, "grace")
    answer(db, grace, "gd-limit", Rating.Easy, T0)  # replaced by the import
    transfer.import_profile(db, grace, transfer.validate_import(text, KNOWN, now=T0), chunk_rows=1)
    assert transfer.export_profile(db, grace, "ada", now=T0) == exported
    reviews = store.load_reviews(db, grace)
    assert all(r["session_id"] == store.load_sessions(db, grace)[0]["id"] for r in reviews)
    assert len(store.load_reviews(db, ada)) == 2  # the source is untouched
    answer(db, grace, "gd-step", Rating.Good, T0 + timedelta(days=2))  # the imported state takes new answers
    with db.connect() as conn:  # the replaced generation is gone, not just hidden
        assert conn.execute(sa.text("select count(*) from reviews where profile_id = :p"), {"p": grace}).scalar() == 3


def test_an_import_failing_half_way_leaves_the_old_progress(db, monkeypatch):
    source = profiles.create_profile(db, "source")
    for k in range(7):
        answer(db, source, "gd-step", Rating.Good, T0 + timedelta(days=k))
    payload = transfer.validate_import(json.dumps(transfer.export_profile(db, source, "s", now=T0)), KNOWN,
                                       now=T0 + timedelta(days=9))
    target = profiles.create_profile(db, "target")
    answer(db, target, "gd-limit", Rating.Good, T0)
    before = store.snapshot(db, target)
    real_switch = transfer._switch

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(transfer, "_switch", explode)  # every chunk was written; the switch fails
    with pytest.raises(RuntimeError):
        transfer.import_profile(db, target, payload, chunk_rows=2)
    assert store.snapshot(db, target) == before
    with db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from reviews where profile_id = :p"), {"p": target}).scalar() == 1
    monkeypatch.setattr(transfer, "_switch", real_switch)
    transfer.import_profile(db, target, payload, chunk_rows=2)
    assert len(store.load_reviews(db, target)) == 7


def test_a_large_import_never_holds_the_write_lock_for_long(tmp_path):
    """The attack that turned saving off: a 30,000-review import while someone else answers. Each import chunk is a
    short transaction, so the other writer gets in between chunks."""
    url = f"sqlite:///{tmp_path / 'big.db'}"
    engine = engine_for(url)
    importer, other = profiles.create_profile(engine, "importer"), profiles.create_profile(engine, "other")
    rows = [(ReviewRow("gd-step", "gd", T0 + timedelta(minutes=i), 3, True, False, 1000, 10), None) for i in range(30_000)]
    payload = transfer.ImportPayload("importer", [], rows, [])
    commits = []
    sa.event.listen(engine, "commit", lambda conn: commits.append(time.perf_counter()))
    worker = threading.Thread(target=transfer.import_profile, args=(engine, importer, payload))
    waits = []
    writer = engine_for(url)
    worker.start()
    began = time.perf_counter()
    k = 0
    while worker.is_alive():
        t = time.perf_counter()
        answer(writer, other, "gd-step", Rating.Good, T0 + timedelta(days=k))
        waits.append(time.perf_counter() - t)
        k += 1
    worker.join()
    took = time.perf_counter() - began
    print(f"\nimport of 30,000 reviews: {took:.2f} s in {len(commits)} transactions; "
          f"{len(waits)} answers by another user meanwhile, slowest {max(waits) * 1000:.0f} ms")
    assert len(commits) >= 30_000 // transfer.IMPORT_CHUNK_ROWS
    # Ratios, not seconds (the machines are shared): the other user answered again and again while the import ran,
    # and no answer waited for more than a small part of it (one transaction holding the lock would make the only
    # answer wait for all of it).
    assert len(waits) >= 3 and max(waits) < 0.25 * took
    assert len(store.load_reviews(engine, importer)) == 30_000 and len(store.load_reviews(engine, other)) == k
    engine.dispose()
    writer.dispose()


def test_read_only_database_is_detected(tmp_path):
    path = tmp_path / "ro.db"
    engine_for(f"sqlite:///{path}").dispose()
    read_only = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    store.ensure_schema(read_only)  # reading the schema works
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        store.check_writable(read_only)
    store.check_writable(engine_for(f"sqlite:///{path}"))
