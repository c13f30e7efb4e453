"""The progress store as the app sees it: one connection, one profile, one saving status, for quiz and Progress.

- **Connection**: ``st.connection("sql")`` with the URL from ``DESCENT_DB_URL`` (tests, scripts), else
  ``[connections.sql]`` in secrets, else the SQLite file ``data/descent.db``. The schema is created or migrated
  once per browser session.
- **Access** (``access_mode``): ``auth`` when ``[auth]`` is in secrets (progress belongs to the signed-in identity;
  no picker; ``?profile=`` is ignored), ``shared`` when ``[descent] shared = true`` is in secrets or the database is
  not SQLite (profiles open with name and passphrase; names are never listed), else ``local`` (a single-user run:
  profiles are listed and open with one click, unless they have a passphrase). ``[descent] shared = false`` says
  so explicitly: a single user's own PostgreSQL is then ``local`` too.
- **Saving**: every write goes through `save`. A transient error (a lock, a dropped connection) keeps the engine,
  keeps what could not be written and writes it before the next write; the banner says "not saved" only while
  something is unsaved. A kept write can be taken back before it lands (`cancel`: undoing an answer that is still
  waiting), and one written later hands its result to `on_written`, so the screen and the store never disagree.
  A lasting error (read-only, unreachable) switches this browser session to memory.

Session-state keys are namespaced ``store.*`` and read only here; other modules call the functions below.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import streamlit as st
from sqlalchemy.engine import Engine

from descent_core.quiz import passphrase as pw
from descent_core.quiz import profiles, srs, store
from descent_core.quiz.errors import ProfileAccessError, ProfileNameError, StoreError, TransientStoreError
from descent_core.quiz.names import MAX_PROFILE_NAME, normalize_profile_name

ENV_DB_URL = "DESCENT_DB_URL"
DEFAULT_DB_URL = "sqlite:///data/descent.db"
NEW_PROFILE = "+ New profile…"
ACCESS_MESSAGE = "No profile matches that name and passphrase."


@st.cache_resource
def _throttle() -> pw.AttemptThrottle:
    """Failed passphrase attempts per name, shared by every visitor of this server (that is its point)."""
    return pw.AttemptThrottle()


# ----- settings ----------------------------------------------------------------------------------------------------
def _secrets() -> Any:
    try:
        return st.secrets if st.secrets.load_if_toml_exists() else {}
    except Exception:  # an unreadable secrets file means "no secrets", never a crash
        return {}


def _url_override() -> str | None:
    return os.environ.get(ENV_DB_URL) or None


def access_mode() -> str:
    """'auth', 'shared' or 'local' (see the module docstring; README "Progress storage")."""
    secrets = _secrets()
    if "auth" in secrets:
        return "auth"
    descent = secrets.get("descent", {}) if hasattr(secrets, "get") else {}
    if "shared" in descent:  # said in so many words: it wins over the guess from the URL below
        return "shared" if bool(descent["shared"]) else "local"
    url = _url_override() or (secrets.get("connections", {}).get("sql", {}).get("url") if "connections" in secrets else None)
    if url and not str(url).startswith("sqlite"):
        return "shared"
    return "local"


def signed_in_identity() -> tuple[str, str] | None:
    """(owner id, display name) of the signed-in user, or None (tests replace this)."""
    try:
        if not st.user.get("is_logged_in", False):
            return None
        owner = st.user.get("sub") or st.user.get("email")
        return (str(owner), str(st.user.get("name") or st.user.get("email") or "you")) if owner else None
    except Exception:
        return None


# ----- the connection and the saving status -------------------------------------------------------------------------
@dataclass
class _Pending:
    """A write that waits for the database: `tag` lets its owner cancel it, `on_written` gets its result."""

    write: Callable[[Engine], Any]
    tag: object | None = None
    on_written: Callable[[Any], None] | None = None


@dataclass
class _Status:
    engine: Engine | None
    problem: str | None = None  # why something is not saved right now (None: everything is saved)
    lasting: bool = False  # the database cannot be used this session
    pending: list[_Pending] = field(default_factory=list)  # writes that wait for the database, oldest first


def _connection() -> Any:
    url = _url_override()
    if url:
        return st.connection("sql", type="sql", url=url)
    secrets = _secrets()
    if "connections" in secrets and secrets["connections"].get("sql"):
        return st.connection("sql", type="sql")
    pathlib.Path("data").mkdir(exist_ok=True)
    return st.connection("sql", type="sql", url=DEFAULT_DB_URL)


def _status() -> _Status:
    if "store.status" not in st.session_state:
        try:
            engine = _connection().engine
            store.ensure_schema(engine)
            store.check_writable(engine)
            st.session_state["store.status"] = _Status(engine)
        except Exception as exc:  # unreachable, read-only, missing driver, bad URL, newer schema...
            st.session_state["store.status"] = _Status(None, describe(exc), lasting=True)
    return st.session_state["store.status"]


def engine() -> Engine | None:
    """The engine, or None when this session runs from memory."""
    return _status().engine


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def save(write: Callable[[Engine], Any], keep: bool = False, tag: object | None = None,
         on_written: Callable[[Any], None] | None = None) -> Any:
    """Run one write; on failure keep the quiz going and say so. Returns the write's result, or None.

    `keep=True` (answers): a write that fails for a transient reason is kept and written, in order, before the
    next write succeeds, so nothing answered is lost while the database is busy. `tag` names a kept write for
    `cancel`; `on_written(result)` runs when a kept write finally lands.
    """
    status = _status()
    if status.engine is None:
        return None
    try:
        while status.pending:
            first = status.pending[0]
            written = first.write(status.engine)
            status.pending.pop(0)
            if first.on_written is not None:
                first.on_written(written)
        result = write(status.engine)
    except TransientStoreError as exc:
        if keep:
            status.pending.append(_Pending(write, tag, on_written))
        status.problem = describe(exc)
        return None
    except StoreError as exc:  # a refusal the store explains (the profile is gone, say): said, not raised
        status.problem = describe(exc)
        return None
    except Exception as exc:
        if keep:
            status.pending.append(_Pending(write, tag, on_written))
        status.problem = describe(exc)
        if not _is_transient(exc):
            status.engine, status.lasting = None, True
        return None
    status.problem = None
    return result


def cancel(tag: object) -> bool:
    """Drop the kept write named `tag` before it lands. True when it was still waiting (so it never will be written)."""
    status = _status()
    kept = [p for p in status.pending if p.tag is not None and p.tag == tag]
    status.pending = [p for p in status.pending if not (p.tag is not None and p.tag == tag)]
    if not status.pending and kept and not status.lasting:
        status.problem = None  # nothing is waiting any more: everything kept is saved or taken back
    return bool(kept)


def waiting(tag: object) -> bool:
    """Whether the kept write named `tag` still waits for the database."""
    return any(p.tag is not None and p.tag == tag for p in _status().pending)


def _is_transient(exc: BaseException) -> bool:
    return store.is_transient(exc)


def read(query: Callable[[Engine], Any], default: Any = None) -> Any:
    """A read; on failure the default (and the banner says why)."""
    status = _status()
    if status.engine is None:
        return default
    try:
        return query(status.engine)
    except Exception as exc:
        status.problem = describe(exc)
        return default


def saving_problem() -> str | None:
    return _status().problem


def banner() -> None:
    """A warning while progress is not saved; nothing once every answer is written."""
    status = _status()
    if status.problem is None:
        return
    if status.lasting:
        st.warning(f"**Progress is not saved.** The progress database is unavailable ({status.problem}). "
                   "The quiz still works for this session.", icon=":material/warning:")
    else:
        waiting = f" {len(status.pending)} answer(s) wait and will be saved with your next answer." if status.pending else ""
        st.warning(f"**Progress is not saved yet.** The database was busy ({status.problem}).{waiting}",
                   icon=":material/sync_problem:")


# ----- the open profile ---------------------------------------------------------------------------------------------
def profile() -> profiles.Profile | None:
    return st.session_state.get("store.profile")


def _open(found: profiles.Profile | None) -> None:
    if found is not profile():
        st.session_state["store.profile"] = found
        st.session_state.pop("store.settings", None)
        st.session_state["store.opened"] = st.session_state.get("store.opened", 0) + 1


def opened_count() -> int:
    """Goes up each time another profile is opened (the quiz drops what it kept in memory for the old one)."""
    return int(st.session_state.get("store.opened", 0))


def settings() -> profiles.Settings:
    if "store.settings" not in st.session_state:
        current = profile()
        found = read(lambda e: profiles.load_settings(e, current.id)) if current else None
        st.session_state["store.settings"] = found or profiles.Settings()
    return st.session_state["store.settings"]


def reload_settings() -> None:
    st.session_state.pop("store.settings", None)


def scheduler(fuzz: bool = True):
    """The fsrs Scheduler of the open profile (its fitted weights or the defaults, its retention target)."""
    return profiles.scheduler_for(settings(), fuzz=fuzz)


def save_retention(value: float) -> None:
    current = profile()
    if current is not None:
        save(lambda e: profiles.save_retention(e, current.id, value))
    chosen = settings()
    st.session_state["store.settings"] = profiles.Settings(srs.check_retention(value), chosen.parameters, chosen.fit_report)


def save_parameters(parameters, report) -> None:
    current = profile()
    if current is not None:
        save(lambda e: profiles.save_parameters(e, current.id, parameters, report))
    st.session_state.pop("store.settings", None)


def check_passphrase(passphrase: str) -> bool:
    """Exports and imports ask again: True when the open profile has no passphrase or this is it."""
    current = profile()
    if current is None:
        return False
    if not current.has_passphrase:
        return True
    return bool(read(lambda e: profiles.check_passphrase(e, current.id, passphrase), False))


def adopt(profile_id: int) -> bool:
    """Local runs: open a passphrase-less profile a resumed session belongs to. False anywhere else."""
    if access_mode() != "local":
        return False
    rows = read(lambda e: profiles.list_profiles(e), []) or []
    found = next((p for p in rows if p.id == profile_id and not p.has_passphrase), None)
    if found is not None:
        _open(found)
    return found is not None


# ----- the profile panel --------------------------------------------------------------------------------------------
def profile_panel(where: str, locked: bool = False) -> profiles.Profile | None:
    """Show who the progress belongs to and let the visitor open or create a profile as the access mode allows.

    `where` keeps widget keys apart per page; `locked` (a session is running) shows the profile without switching.
    """
    status = _status()
    mode = access_mode()
    if status.engine is None:
        return profile()
    if mode == "auth":
        return _signed_in_panel()
    current = profile()
    if locked or (current is not None and mode == "shared"):
        label = f"Profile: **{_plain(current.name)}**" if current else "Playing without a profile: progress is not saved."
        if current is not None and not locked and st.button("Close profile", key=f"store.close.{where}"):
            _open(None)
            st.rerun()
        st.caption(label)
        return profile()
    if mode == "shared":
        _shared_forms(where)
    else:
        _local_picker(where)
    return profile()


def _signed_in_panel() -> profiles.Profile | None:
    identity = signed_in_identity()
    if identity is None:
        _open(None)
        st.info("Sign in to keep your progress; it belongs to your account and nobody else's.")
        st.button("Sign in", key="store.login", on_click=st.login, type="primary")
        return None
    owner, shown = identity
    current = profile()
    if current is None or current.owner != owner:
        _open(read(lambda e: profiles.profile_for_owner(e, owner, shown)))
    current = profile()
    if current is not None:
        st.caption(f"Progress of **{_plain(current.name)}** (signed in).")
    return current


def _local_picker(where: str) -> None:
    listed = read(lambda e: profiles.list_profiles(e), []) or []
    names = [p.name for p in listed]
    key = f"store.pick.{where}"
    current = profile()
    creating = st.session_state.get("store.creating", False) or current is None
    wanted = NEW_PROFILE if creating else current.name
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    st.selectbox("Profile", names + [NEW_PROFILE], key=key, on_change=_on_pick, args=(key, listed),
                 help="Progress belongs to a profile. This is a local, single-user run: profiles without a "
                      "passphrase open with one click.")
    chosen = next((p for p in listed if p.name == st.session_state.get(key)), None)
    if chosen is not None and chosen.has_passphrase and (current is None or current.id != chosen.id):
        _passphrase_open_form(where, chosen.name)
    elif creating:
        _create_form(where, passphrase_required=False)


def _on_pick(key: str, listed: list[profiles.Profile]) -> None:
    choice = st.session_state[key]
    st.session_state["store.creating"] = choice == NEW_PROFILE
    found = next((p for p in listed if p.name == choice), None)
    if found is not None and not found.has_passphrase:
        _open(found)
        st.session_state["store.creating"] = False


def _shared_forms(where: str) -> None:
    st.caption("Profiles on this shared database open with their name and passphrase; names are never listed.")
    left, right = st.columns(2)
    with left:
        _passphrase_open_form(where, None)
    with right:
        _create_form(where, passphrase_required=True)


def _passphrase_open_form(where: str, name: str | None) -> None:
    with st.form(f"store.open_form.{where}"):
        st.markdown("**Open a profile**")
        typed = name or st.text_input("Profile name", key=f"store.open_name.{where}", max_chars=MAX_PROFILE_NAME)
        secret = st.text_input("Passphrase", type="password", key=f"store.open_pass.{where}")
        if st.form_submit_button("Open", key=f"store.open.{where}"):
            try:
                found = read(lambda e: _open_checked(e, typed, secret))
            except ProfileAccessError as exc:
                st.error(str(exc))
                return
            if found is None:
                st.error(ACCESS_MESSAGE)
                return
            _open(found)
            st.rerun()


def _open_checked(engine_: Engine, name: str, secret: str) -> profiles.Profile:
    return profiles.open_profile(engine_, name or "", secret or "", throttle=_throttle())


def _create_form(where: str, passphrase_required: bool) -> None:
    with st.form(f"store.create_form.{where}"):
        st.markdown("**New profile**")
        name = st.text_input("New profile name", key=f"store.new_name.{where}", max_chars=MAX_PROFILE_NAME)
        hint = "required on this shared database" if passphrase_required else "optional"
        secret = st.text_input(f"Passphrase ({hint}, {pw.MIN_LENGTH}+ characters)", type="password",
                               key=f"store.new_pass.{where}")
        if st.form_submit_button("Create profile", key=f"store.create.{where}"):
            if passphrase_required and not secret:
                st.error(f"Choose a passphrase of at least {pw.MIN_LENGTH} characters: on a shared database it is "
                         "what keeps your progress yours.")
                return
            try:
                status = _status()
                assert status.engine is not None
                new_id = profiles.create_profile(status.engine, name, secret or None)
            except (ProfileNameError, pw.PassphraseError) as exc:
                st.error(str(exc))
                return
            except Exception as exc:
                _status().problem = describe(exc)
                return
            _open(profiles.Profile(new_id, normalize_profile_name(name), bool(secret), None))
            st.session_state["store.creating"] = False
            st.rerun()


def _plain(text: str) -> str:
    return escape_markdown(text)


def escape_markdown(text: str) -> str:
    """Text from a file or a visitor, shown as itself by st.markdown (no links, emphasis, math or HTML)."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()<>#+-.!|$~:&":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
