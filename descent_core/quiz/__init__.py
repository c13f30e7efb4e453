"""Interview practice: decks, generated cards, scoring, FSRS scheduling, the progress store, sessions.

`load_deck()` is the one entry point the UI needs for cards: the hand-written YAML decks plus the generated
numeric and name-the-optimizer cards, checked together so ids stay unique. `topics_with_cards()` tells a guide
page whether the quiz has anything to practise for its section.

API for the UI
--------------
Every store function takes a SQLAlchemy Engine (the page passes ``st.connection("sql").engine``) and raises only
``errors.StoreError`` subclasses the page can show as they are (``TransientStoreError``: not saved yet, try again;
``UndoRefused``; ``ProfileNameError``; ``ProfileAccessError``; ``transfer.ImportRejected``). Call
``store.ensure_schema(engine)`` once per engine (it migrates older databases forward).

Cards and topics
    ``load_deck()``, ``topics_with_cards()``, ``topic_from_query(st.query_params.get("topic"))`` (the topic to
    preselect, or None), ``topic_title``/``topic_short_title``/``topic_url``; ``session.question_for(card, rng)``.
Profiles, by access mode (the page decides the mode from its secrets; the engine enforces each mode's rule)
    signed in: ``profiles.profile_for_owner(engine, st.user.sub-or-email, display_name)`` (no picker, no names);
    shared, no sign-in: ``profiles.create_profile(engine, name, passphrase)``, ``profiles.open_profile(engine, name,
    passphrase, throttle)`` (one message for every failure; names are never listed);
    local single user: ``profiles.list_profiles(engine)``, ``profiles.local_profile(engine, name)`` (one click,
    unless the profile has a passphrase); ``profiles.set_passphrase``, ``profiles.check_passphrase`` (before export
    or import on a shared store).
Settings and scheduling
    ``profiles.load_settings`` -> Settings(desired_retention, parameters, fit_report); ``profiles.save_retention``
    (0.70-0.97); ``profiles.scheduler_for(settings)`` -> the fsrs Scheduler to answer with;
    ``srs.daily_review_load(parameters, retention, states, now)`` (the load a retention target implies);
    ``profiles.fit_profile(engine, pid)`` -> FitOutcome(reviews_ready, needed, report, kept): fits once
    ``srs.MIN_REVIEWS_TO_FIT`` reviews are ready, keeps the weights only if their log-loss is lower, and stores
    ``fit_report`` = {loss_before, loss_after, reviews_used, kept}; defaults until then.
Answering (commit before rendering feedback)
    ``store.start_session``; ``store.record_review(engine, pid, ReviewRow(...), schedule, session_id)`` where
    ``schedule(stored_state) -> srs.review(scheduler, card_id, stored_state, outcome.rating, now, elapsed_s)`` is
    computed from the state stored *now* (two tabs never overwrite each other; concurrent writers queue), returning
    ``Recorded``; ``store.undo_review(engine, pid, recorded)`` (UndoRefused if the card was reviewed since);
    ``store.finish_session``. In the session: ``answer_choice``/``answer_numeric``/``answer_formula`` (machine
    checked: speed bonus and speed-based rating), ``reveal`` then ``grade_self(1..4)`` for explain cards (the
    learner's FSRS grade, no speed bonus, nothing for an instant reveal), ``undo``, ``pause``/``resume``.
Resuming after a reload
    ``resume.new_token()`` (kept in the tab's URL), ``resume.session_snapshot(session, now, settings)``,
    ``resume.save_snapshot(engine, pid, session_id, token, data)``, ``resume.load_snapshot(engine, token, pid)``,
    ``resume.restore_session(data, now)``.
Progress page and card browser
    ``store.load_card_rows``, ``store.load_states``, ``store.load_reviews``, ``store.load_sessions``;
    ``store.reviews_per_day(engine, pid, utc_offset)`` (heatmap); ``srs.retention_over_time(parameters,
    store.past_reviews(engine, pid))`` (actual vs predicted recall per week); ``srs.recall_now``,
    ``srs.retention_estimate``; ``browser.browse_cards(cards, rows, reviews, now, scheduler, search, topics, kinds,
    states)``; ``store.card_history(engine, pid, card_id)``; ``store.set_suspended``, ``store.reset_card``.
Export and import
    ``transfer.export_profile``; ``transfer.validate_import(raw_bytes, known_card_ids)`` (ImportRejected names the
    problem; nothing written) then ``transfer.import_profile`` (bounded transactions; the old progress stays if it
    fails).
"""

from __future__ import annotations

import functools
import pathlib

from .deck import DECK_DIR, Card, Deck, DeckError, load_deck_files, topic_short_title, topic_title, topic_url
from .question import Question


def load_deck(deck_dir: pathlib.Path = DECK_DIR, include_generated: bool = True) -> Deck:
    cards = load_deck_files(deck_dir)
    if include_generated:
        from .generators import generated_cards  # the engine's races load only when generated cards are wanted

        cards = cards + generated_cards()
    return Deck(tuple(cards))


@functools.lru_cache(maxsize=1)
def _default_deck_topics() -> frozenset[str]:
    return frozenset(card.topic for card in load_deck().cards)


def topics_with_cards() -> frozenset[str]:
    """Section ids the quiz has at least one card for (hand-written or generated); computed once per process.

    A guide page shows its "Practise … in the quiz" link only when its section id is in here, so no link promises
    practice that does not exist.
    """
    return _default_deck_topics()


def topic_from_query(value: object) -> str | None:
    """The topic a `?topic=` query names, when the quiz has cards for it; None for anything else (never raises).

    The quiz page preselects this topic, so a "Practise X in the quiz" link opens the quiz on X.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    topic = value.strip().lower()
    return topic if topic in topics_with_cards() else None


__all__ = ["Card", "Deck", "DeckError", "Question", "load_deck", "load_deck_files", "topic_short_title",
           "topic_title", "topic_url", "topic_from_query", "topics_with_cards"]
