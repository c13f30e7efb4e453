"""Who may open which progress: profile names, passphrases, and profiles owned by a signed-in identity.

Three ways to reach a profile, chosen by the app (descent_ui.progress_store) from its settings:

- **signed in** (`[auth]` configured): one profile per identity, found by `owner`; no names, no picker.
- **shared** database without sign-in: a profile is opened by its name *and* its passphrase; names are never
  listed, and a wrong name or a wrong passphrase get the same answer.
- **local** single-user run: profiles are listed and open with one click, unless they have a passphrase.

Names are compared after NFKC normalisation and case folding (names.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import passphrase as pw
from . import srs
from .errors import ProfileAccessError, ProfileNameError
from .names import MAX_PROFILE_NAME, name_key, normalize_profile_name
from .store import naive_utc, now_utc, profiles, retrying, writing

MAX_DISPLAY_NAME = 80  # names shown for signed-in identities (from the identity provider)


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    has_passphrase: bool
    owner: str | None


def _owner_key(owner: str) -> str:
    # Owned profiles get a key no typed name can produce ('~' is not allowed in names).
    return "~" + hashlib.sha256(owner.encode("utf-8")).hexdigest()[:40]


# ----- creating and opening ------------------------------------------------------------------------------------
def create_profile(engine: Engine, name: str, passphrase: str | None = None, now: datetime | None = None) -> int:
    """Create a named profile; an existing name (after normalisation) is an error, never a merge."""
    cleaned = normalize_profile_name(name)
    hashed = pw.hash_passphrase(passphrase) if passphrase is not None else None

    def write() -> int:
        with writing(engine) as conn:
            result = conn.execute(sa.insert(profiles).values(
                name_key=cleaned.casefold(), name=cleaned, created_at=naive_utc(now or now_utc()), passphrase_hash=hashed))
            return int(result.inserted_primary_key[0])

    try:
        return retrying(write)
    except sa.exc.IntegrityError:
        raise ProfileNameError(f"The name {cleaned!r} is taken; choose another.") from None


def open_profile(engine: Engine, name: str, passphrase: str, throttle: pw.AttemptThrottle | None = None) -> Profile:
    """The profile with this name if `passphrase` is its passphrase; ProfileAccessError otherwise.

    A profile without a passphrase cannot be opened this way (on a shared database it must first be given one in
    a local run), and an unknown name fails exactly like a wrong passphrase.
    """
    try:
        key = normalize_profile_name(name).casefold()
    except ProfileNameError:
        raise ProfileAccessError("No profile matches that name and passphrase.") from None
    if throttle is not None:
        wait = throttle.wait_for(key)
        if wait > 0:
            raise ProfileAccessError(f"Too many wrong attempts for this name; try again in {wait:.0f} s.")
    row = _row(engine, profiles.c.name_key == key)
    stored = row.passphrase_hash if row is not None else None
    # Hash even when the name is unknown, so the time taken does not reveal whether it exists.
    ok = pw.verify_passphrase(passphrase, stored or _dummy_hash()) and stored is not None
    if not ok:
        if throttle is not None:
            throttle.failed(key)
        raise ProfileAccessError("No profile matches that name and passphrase.")
    if throttle is not None:
        throttle.succeeded(key)
    return _profile(row)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return pw.hash_passphrase("not a passphrase anyone chose")


def profile_for_owner(engine: Engine, owner: str, display_name: str, now: datetime | None = None) -> Profile:
    """The profile belonging to a signed-in identity, created on its first visit."""
    if not owner:
        raise ProfileAccessError("The sign-in did not say who you are.")
    shown = " ".join(unicodedata.normalize("NFKC", display_name or "").split())[:MAX_DISPLAY_NAME] or "you"
    row = _row(engine, profiles.c.owner == owner)
    if row is not None:
        return _profile(row)

    def write() -> None:
        with writing(engine) as conn:
            conn.execute(sa.insert(profiles).values(name_key=_owner_key(owner), name=shown, owner=owner,
                                                    created_at=naive_utc(now or now_utc())))

    try:
        retrying(write)
    except sa.exc.IntegrityError:
        # Either the same person signed in from two tabs at once and the other tab created the profile, or the
        # error was something else, in which case there is still no row and it is raised.
        row = _row(engine, profiles.c.owner == owner)
        if row is None:
            raise
        return _profile(row)
    row = _row(engine, profiles.c.owner == owner)
    assert row is not None
    return _profile(row)


def local_profile(engine: Engine, name: str) -> Profile | None:
    """A local run's one-click open: the named profile if it has no passphrase."""
    try:
        key = normalize_profile_name(name).casefold()
    except ProfileNameError:
        return None
    row = _row(engine, profiles.c.name_key == key)
    if row is None or row.passphrase_hash or row.owner:
        return None
    return _profile(row)


def list_profiles(engine: Engine) -> list[Profile]:
    """Named profiles, for a local run's picker (owned profiles are never listed)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(profiles).where(profiles.c.owner.is_(None)).order_by(profiles.c.name_key)).all()
    return [_profile(r) for r in rows]


def check_passphrase(engine: Engine, profile_id: int, passphrase: str) -> bool:
    """Re-check an open profile's passphrase (exports and imports ask again). True when it has none."""
    row = _row(engine, profiles.c.id == profile_id)
    if row is None:
        return False
    return not row.passphrase_hash or pw.verify_passphrase(passphrase, row.passphrase_hash)


def set_passphrase(engine: Engine, profile_id: int, passphrase: str) -> None:
    hashed = pw.hash_passphrase(passphrase)

    def write() -> None:
        with writing(engine) as conn:
            conn.execute(sa.update(profiles).where(profiles.c.id == profile_id).values(passphrase_hash=hashed))

    retrying(write)


def find_profile(engine: Engine, name: str) -> int | None:
    """The id of a named profile (tests and scripts; the app never opens a profile by name alone on a shared store)."""
    row = _row(engine, profiles.c.name_key == normalize_profile_name(name).casefold())
    return int(row.id) if row is not None else None


def _row(engine: Engine, where: sa.ColumnElement[bool]) -> sa.Row | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(profiles).where(where)).first()


def _profile(row: sa.Row) -> Profile:
    return Profile(int(row.id), row.name, bool(row.passphrase_hash), row.owner)


# ----- profile settings ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    desired_retention: float = srs.DESIRED_RETENTION
    parameters: tuple[float, ...] | None = None  # None: fsrs's defaults
    fit_report: dict[str, Any] | None = None


def load_settings(engine: Engine, profile_id: int) -> Settings:
    with engine.connect() as conn:
        row = conn.execute(sa.select(profiles.c.desired_retention, profiles.c.fsrs_parameters, profiles.c.fit_report)
                           .where(profiles.c.id == profile_id)).first()
    if row is None:
        return Settings()
    retention = srs.DESIRED_RETENTION
    if row.desired_retention is not None:
        try:
            retention = srs.check_retention(row.desired_retention)
        except ValueError:
            pass
    parameters = None
    if row.fsrs_parameters:
        try:
            parameters = srs.check_parameters(json.loads(row.fsrs_parameters))
        except ValueError:
            parameters = None  # damaged weights: the defaults schedule safely
    try:
        report = json.loads(row.fit_report) if row.fit_report else None
    except ValueError:
        report = None  # a damaged report is only lost text; the weights above were checked on their own
    return Settings(retention, parameters, report if isinstance(report, dict) else None)


def scheduler_for(settings: Settings, fuzz: bool = True) -> Any:
    """The fsrs.Scheduler a profile's answers are scheduled with: its fitted weights (or the defaults), its target."""
    return srs.make_scheduler(settings.parameters, settings.desired_retention, fuzz=fuzz)


@dataclass(frozen=True)
class FitOutcome:
    """What `fit_profile` did: `kept` says whether the fitted weights are now in use."""

    reviews_ready: int
    needed: int
    report: srs.FitReport | None = None
    kept: bool = False

    @property
    def fitted(self) -> bool:
        return self.report is not None


def fit_profile(engine: Engine, profile_id: int) -> FitOutcome:
    """Fit FSRS weights to this profile's own reviews once there are enough (srs.MIN_REVIEWS_TO_FIT), else keep
    the defaults. The fitted weights are kept only when their log-loss on the same reviews is lower than that of the
    weights in use; the report (loss before and after, reviews used) is stored either way for the Progress page."""
    from .store import past_reviews

    reviews = past_reviews(engine, profile_id)
    ready = srs.fit_ready_count(reviews)
    if ready < srs.MIN_REVIEWS_TO_FIT:
        return FitOutcome(ready, srs.MIN_REVIEWS_TO_FIT)
    current = load_settings(engine, profile_id)
    report = srs.fit_parameters(reviews, current.parameters)
    summary = {"loss_before": report.loss_before, "loss_after": report.loss_after, "reviews_used": report.reviews_used,
               "kept": report.improved}
    save_parameters(engine, profile_id, report.parameters if report.improved else current.parameters, summary)
    return FitOutcome(ready, srs.MIN_REVIEWS_TO_FIT, report, report.improved)


def save_retention(engine: Engine, profile_id: int, retention: float) -> None:
    value = srs.check_retention(retention)
    _update_profile(engine, profile_id, desired_retention=value)


def save_parameters(engine: Engine, profile_id: int, parameters: Iterable[float] | None,
                    report: Mapping[str, Any] | None = None) -> None:
    """Store fitted weights (checked against fsrs's bounds) with their report; None goes back to the defaults."""
    checked = srs.check_parameters(list(parameters)) if parameters is not None else None
    _update_profile(engine, profile_id, fsrs_parameters=json.dumps(list(checked)) if checked else None,
                    fit_report=json.dumps(dict(report)) if report else None)


def _update_profile(engine: Engine, profile_id: int, **values: Any) -> None:
    def write() -> None:
        with writing(engine) as conn:
            conn.execute(sa.update(profiles).where(profiles.c.id == profile_id).values(**values))

    retrying(write)
