"""Import files are untrusted: every field is bounded before anything is written, hostile files get a message that
names the problem (never a traceback), a rejected file changes nothing, and anything accepted can be answered.

The attack cases from issue 13 are here by name: a non-integer step, NaN and negative stability, 100,000 nested
brackets, a 5,000-digit number, a year-1 date with a +01:00 offset, and a UTF-8 byte-order mark (which is accepted).
"""

import collections
import copy
import functools
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fsrs import Rating
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descent_core.quiz import profiles, srs, store, transfer
from descent_core.quiz.store import ReviewRow
from descent_core.quiz.transfer import ImportRejected

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=30)
KNOWN = {"gd-step", "gd-limit", "momentum-effective-lr", "adam-two-moments"}
SCHED = srs.make_scheduler(fuzz=False)


def answer(engine, pid, card_id, rating, when, session_id=None):
    row = ReviewRow(card_id, card_id.split("-")[0], when, int(rating), rating != Rating.Again, False, 4000, 100)
    return store.record_review(engine, pid, row, lambda s: srs.review(SCHED, card_id, s, rating, when, 4.0), session_id)


@functools.lru_cache(maxsize=1)
def _export_text() -> str:
    """A real export with a card in every FSRS state, a suspended card and a reset card."""
    engine = sa.create_engine("sqlite://")
    store.ensure_schema(engine)
    pid = profiles.create_profile(engine, "source")
    sid = store.start_session(engine, pid, "drill", 4, T0)
    answer(engine, pid, "gd-step", Rating.Again, T0, sid)  # learning
    for k, rating in enumerate([Rating.Good, Rating.Good, Rating.Good]):
        answer(engine, pid, "gd-limit", rating, T0 + timedelta(days=3 * k), sid)  # review
    for k, rating in enumerate([Rating.Easy, Rating.Again]):
        answer(engine, pid, "momentum-effective-lr", rating, T0 + timedelta(days=5 * k), sid)  # relearning
    store.set_suspended(engine, pid, "adam-two-moments", True)
    store.finish_session(engine, sid, 3, 400, T0 + timedelta(days=10))
    return json.dumps(transfer.export_profile(engine, pid, "source", now=T0 + timedelta(days=11)))


def export_doc() -> dict:
    return json.loads(_export_text())


def state_of(doc, card_id):
    return next(row["state"] for row in doc["card_states"] if row["card_id"] == card_id)


def set_state(card_id, field, value):
    def apply(doc):
        state_of(doc, card_id)[field] = value
        return json.dumps(doc)

    return apply


def set_in(path, value):
    def apply(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return json.dumps(doc)

    return apply


def replace_text(old, new):
    return lambda doc: json.dumps(doc).replace(old, new, 1)


MUTATIONS = {
    # the shape of the file
    "not json": (lambda doc: "{not json", "not valid JSON"),
    "not utf8": (lambda doc: b"\xff\xfe\x00garbage", "not UTF-8"),
    "foreign": (lambda doc: json.dumps({"cards": [], "app": "anki"}), "not a Descent progress export"),
    "a list": (lambda doc: "[1, 2, 3]", "not a Descent progress export"),
    "future version": (set_in(["version"], 7), "version 7"),
    "oversized": (lambda doc: json.dumps(doc) + " " * transfer.MAX_IMPORT_BYTES, "at most 5 MB"),
    "reviews not a list": (set_in(["reviews"], {"a": 1}), "'reviews' must be a list"),
    "too many rows": (set_in(["sessions"], [None] * (transfer.MAX_IMPORT_ROWS + 1)), "the limit is 100000"),
    # parser attacks, caught before parsing
    "100k nested brackets": (lambda doc: "[" * 100_000 + "]" * 100_000, "nested more than 6 levels"),
    "deep nesting inside a real file": (set_in(["reviews"], json.loads("[" * 8 + "]" * 8)), "nested more than 6 levels"),
    "5000-digit number": (replace_text('"points": 100', '"points": ' + "9" * 5000), "longer than 40 characters"),
    "NaN literal": (replace_text('"stability": ', '"stability": NaN, "x": '), "NaN is not a number"),
    "Infinity literal": (replace_text('"elapsed_ms": 4000', '"elapsed_ms": -Infinity'), "-Infinity is not a number"),
    # card states that would break fsrs on the next answer
    "non-integer step": (set_state("gd-step", "step", 1.5), "step must be a whole number"),
    "step as text": (set_state("gd-step", "step", "1"), "step must be a whole number"),
    "huge step": (set_state("gd-step", "step", 10**9), "step must be a whole number"),
    "NaN stability": (lambda doc: set_state("gd-limit", "stability", float("nan"))(doc), "NaN is not a number"),
    "negative stability": (set_state("gd-limit", "stability", -3.0), "stability must be empty or a finite number"),
    "overflowing stability": (set_state("gd-limit", "stability", 1e308 * 10), "Infinity is not a number"),
    "zero stability": (set_state("gd-limit", "stability", 0), "stability must be empty or a finite number"),
    "difficulty out of range": (set_state("gd-limit", "difficulty", 11), "difficulty must be"),
    "review state without stability": (set_state("gd-limit", "stability", None), "both be set or both be empty"),
    "learning without a step": (set_state("gd-step", "step", None), "step must be a whole number while"),
    "unknown fsrs state": (set_state("gd-step", "state", 42), "state must be a whole number from 1 to 3"),
    "extra state field": (set_state("gd-step", "hack", 1), "unknown field 'hack'"),
    "year 1 with an offset": (set_state("gd-step", "due", "0001-01-01T00:00:00+01:00"), "due must lie between 2000 and 2200"),
    "year 9999 with an offset": (set_state("gd-step", "due", "9999-12-31T23:59:59-01:00"), "due must lie between"),
    "due before last review": (set_state("gd-limit", "due", "2000-01-02T00:00:00+00:00"), "due must not be before"),
    "last review in the future": (lambda doc: set_state("gd-limit", "due", "2150-02-01T00:00:00+00:00")(
        json.loads(set_state("gd-limit", "last_review", "2150-01-01T00:00:00+00:00")(doc))), "after the export"),
    # reviews, sessions, settings
    "unknown card id": (set_in(["reviews", 0, "card_id"], "no-such-card"), "not in the current decks ('no-such-card')"),
    "unknown state id": (set_in(["card_states", 0, "card_id"], "ghost"), "'ghost'"),
    "enormous card id": (set_in(["reviews", 0, "card_id"], "x" * 10_000), "at most 100 characters"),
    "bad rating": (set_in(["reviews", 0, "rating"], 9), "rating"),
    "bool as int": (set_in(["reviews", 0, "points"], True), "points"),
    "float points": (set_in(["reviews", 0, "points"], 1.5), "points"),
    "bad date": (set_in(["reviews", 0, "reviewed_at"], "yesterday"), "reviewed_at must be an ISO date-time"),
    "bad session ref": (set_in(["reviews", 0, "session"], 5), "session"),
    "bad topic": (set_in(["reviews", 0, "topic"], "astrology"), "topic"),
    "unknown mode": (set_in(["sessions", 0, "mode"], "cram"), "mode"),
    "retention out of range": (set_in(["settings", "desired_retention"], 0.999), "desired retention must be between"),
    "parameters out of bounds": (set_in(["settings", "fsrs_parameters"], [1e9] * 21), "FSRS parameter 0"),
    "profile with a lone surrogate": (set_in(["profile"], "\ud800"), "'profile' must be"),
    "profile with markdown and html": (set_in(["profile"], "x" * 500), "'profile' must be"),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_each_hostile_file_is_rejected_with_a_message_naming_the_problem(case):
    mutate, message = MUTATIONS[case]
    with pytest.raises(ImportRejected) as err:
        transfer.validate_import(mutate(export_doc()), KNOWN, now=NOW)
    assert message in str(err.value), str(err.value)
    assert "Nothing was imported" in str(err.value)


def test_rejected_files_leave_the_database_exactly_as_it_was(store_url):
    engine = sa.create_engine(store_url)
    store.ensure_schema(engine)
    target = profiles.create_profile(engine, "target")
    answer(engine, target, "gd-limit", Rating.Good, T0)
    before = store.snapshot(engine, target), profiles.load_settings(engine, target)
    for case, (mutate, _) in MUTATIONS.items():
        with pytest.raises(ImportRejected):
            payload = transfer.validate_import(mutate(export_doc()), KNOWN, now=NOW)
            transfer.import_profile(engine, target, payload)  # never reached
        assert (store.snapshot(engine, target), profiles.load_settings(engine, target)) == before, case
    engine.dispose()


def test_a_byte_order_mark_and_an_older_export_version_are_accepted():
    with_bom = b"\xef\xbb\xbf" + _export_text().encode("utf-8")
    payload = transfer.validate_import(with_bom, KNOWN, now=NOW)
    assert {c.card_id for c in payload.card_states} == KNOWN and len(payload.reviews) == 6
    old = export_doc()
    old["version"] = 1
    del old["settings"]
    old["card_states"] = [{"card_id": r["card_id"], "state": r["state"]} for r in old["card_states"] if r["state"]]
    assert len(transfer.validate_import(json.dumps(old), KNOWN, now=NOW).card_states) == 3


def test_profile_names_from_a_file_are_only_ever_data():
    doc = export_doc()
    doc["profile"] = "**bold** [link](javascript:alert(1)) <img src=x onerror=alert(1)>"
    payload = transfer.validate_import(json.dumps(doc), KNOWN, now=NOW)
    assert payload.profile == doc["profile"]  # kept verbatim; the UI escapes it (tests/test_quiz_app.py)


# ----- the property: no file, however mangled, breaks an answer ---------------------------------------------------
JSON_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
               | st.sampled_from(["0001-01-01T00:00:00+01:00", "2025-03-01T09:00:00", "2025-02-30T00:00:00",
                                  "2199-12-31T23:59:59+14:00", "1999-12-31T23:59:59-12:00", "gd-step", "adam"]))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@st.composite
def mangled_exports(draw):
    doc = export_doc()
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "copy"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "copy" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(doc)


EDGE_TIMES = ["2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00+14:00", "2025-03-01T09:00:00", "2025-03-31T09:00:00-12:00",
              "2025-03-31T08:59:59.999999+00:00"]


@st.composite
def plausible_exports(draw):
    """Card states with every field inside its bounds, edges included: accepted, so they must also be answerable."""
    doc = export_doc()
    for row in doc["card_states"]:
        if row["state"] is None or not draw(st.booleans()):
            continue
        state = row["state"]
        state["state"] = draw(st.integers(1, 3))
        state["step"] = None if state["state"] == 2 else draw(st.integers(0, srs.MAX_STEP))
        state["stability"] = draw(st.sampled_from([srs.STABILITY_MIN, 0.5, 1.0, 365.0, srs.MAX_STABILITY_DAYS])
                                  | st.floats(srs.STABILITY_MIN, srs.MAX_STABILITY_DAYS))
        state["difficulty"] = draw(st.sampled_from([1.0, 5.5, 10.0]) | st.floats(1.0, 10.0))
        first, second = sorted(draw(st.lists(st.sampled_from(EDGE_TIMES), min_size=2, max_size=2)),
                               key=lambda t: srs.parse_time(t))
        state["last_review"], state["due"] = first, second
    return json.dumps(doc)


def answer_every_card(engine, pid, now):
    """What the quiz and progress pages do with imported progress: answer each card in each way, forecast, export."""
    for card_id, row in store.load_card_rows(engine, pid).items():
        for rating in Rating:
            srs.recall_now(SCHED, row.state, now) if row.state else None
            review = ReviewRow(card_id, "gd", now, int(rating), rating > 1, False, 1000, 0)
            recorded = store.record_review(engine, pid, review, lambda s: srs.review(SCHED, card_id, s, rating, now, 1.0))
            store.undo_review(engine, pid, recorded)
    states = store.load_states(engine, pid)
    srs.retention_estimate(SCHED, states.values(), now)
    srs.daily_review_load(srs.DEFAULT_PARAMETERS, 0.9, states.values(), now, days=7)
    srs.forecasts(srs.DEFAULT_PARAMETERS, store.past_reviews(engine, pid))
    srs.log_loss(srs.DEFAULT_PARAMETERS, store.past_reviews(engine, pid))
    transfer.export_profile(engine, pid, "again", now=now)


@st.composite
def damaged_texts(draw):
    """Byte-level damage to a real export: cut short, a byte-order mark, a bracket run, a digit run, a stray byte."""
    text = _export_text()
    where = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["truncate", "bom", "brackets", "digits", "byte", "year1"]))
    if kind == "truncate":
        return text[:where]
    if kind == "bom":
        return b"\xef\xbb\xbf" + (text if draw(st.booleans()) else text[:where]).encode("utf-8")
    if kind == "brackets":
        n = draw(st.integers(2, 50_000))
        return text[:where] + "[" * n + "]" * draw(st.integers(0, n)) + text[where:]
    if kind == "digits":
        return text[:where] + "1" * draw(st.integers(1, 6_000)) + text[where:]
    if kind == "year1":
        return text.replace("2025-", draw(st.sampled_from(["0001-", "9999-", "1999-"])), draw(st.integers(1, 3)))
    return (text[:where] + chr(draw(st.integers(0, 0x10FFFF)).__index__() % 0xD800) + text[where:]).encode("utf-8")


EXAMPLES = 150
IMPORT_ERRORS = (ImportRejected, store.StoreError)


def check_one_file(engine, text, counts):
    """The property for one file: a clear rejection (nothing written), or an import whose every card then takes
    every answer. Any other exception fails the test."""
    try:
        payload = transfer.validate_import(text, KNOWN, now=NOW)
    except IMPORT_ERRORS as exc:
        message = str(exc)
        assert message and "Traceback" not in message and len(message) < 2_000
        counts["rejected"] += 1
        return
    pid = profiles.create_profile(engine, f"t{uuid.uuid4().hex[:12]}")
    transfer.import_profile(engine, pid, payload)
    answer_every_card(engine, pid, NOW)
    counts["accepted"] += 1


def test_no_mangled_export_breaks_the_import_or_any_later_answer(store_url):
    engine = sa.create_engine(store_url)
    store.ensure_schema(engine)
    counts = collections.Counter()
    began = time.perf_counter()

    @settings(max_examples=EXAMPLES, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=mangled_exports() | plausible_exports() | damaged_texts())
    def check(text):
        check_one_file(engine, text, counts)

    check()
    print(f"\n{engine.dialect.name}: {sum(counts.values())} hypothesis examples, {counts['accepted']} imported and "
          f"answered, {counts['rejected']} rejected with a message, in {time.perf_counter() - began:.1f} s")
    engine.dispose()
    assert counts["accepted"] >= 20 and counts["rejected"] >= 20  # both branches were really exercised


def test_the_unmangled_export_and_its_bom_twin_pass_the_same_property(store_url):
    engine = sa.create_engine(store_url)
    store.ensure_schema(engine)
    counts = collections.Counter()
    check_one_file(engine, _export_text(), counts)
    check_one_file(engine, b"\xef\xbb\xbf" + _export_text().encode("utf-8"), counts)
    assert counts == {"accepted": 2}
    engine.dispose()


def test_bounds_are_checked_before_the_parser_runs(monkeypatch):
    """Size, nesting and digit counts are refused on the raw text: the JSON parser never sees such a file."""
    def no_parse(*args, **kwargs):
        raise AssertionError("json.loads was reached")

    monkeypatch.setattr(transfer.json, "loads", no_parse)
    for text, message in [("[" * 100_000 + "]" * 100_000, "nested"), ('{"a": ' + "9" * 5_000 + "}", "longer than"),
                          (" " * (transfer.MAX_IMPORT_BYTES + 1), "at most 5 MB"), (b"\xff\xfe", "not UTF-8")]:
        with pytest.raises(ImportRejected, match=message):
            transfer.validate_import(text, KNOWN, now=NOW)


def test_import_errors_are_store_errors_the_page_can_show():
    assert issubclass(ImportRejected, store.StoreError) and issubclass(ImportRejected, ValueError)


def test_a_message_never_quotes_a_huge_piece_of_the_file():
    """Found by the property above: a field name of thousands of characters came back whole in the message."""
    doc = export_doc()
    state_of(doc, "gd-limit")["1" * 5000 + "difficulty"] = 2.0
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.validate_import(json.dumps(doc), KNOWN, now=NOW)
    assert "unknown field" in str(caught.value) and len(str(caught.value)) < 400
