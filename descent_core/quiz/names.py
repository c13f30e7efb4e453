"""Profile names: Unicode NFKC normalisation and case folding before any uniqueness or length check.

Look-alike spellings (full-width letters, ligatures, "ß" against "ss", runs of spaces) fold to one key, so they
cannot make two profiles that look the same, and the length limit applies to the folded key, so folding cannot make
a name outgrow its column. A name must also keep to one script, so a Cyrillic "а" cannot pass for a Latin "a".
Both the store's migration (re-keying names written by older versions) and profiles.py use this module.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import ProfileNameError

MAX_PROFILE_NAME = 40
# Columns are wider than the name limit: a name is limited after NFKC and case folding, and both can lengthen text.
NAME_COLUMN = 160
PROFILE_NAME_PATTERN = re.compile(r"^[\w .'-]+$")


def normalize_profile_name(name: str) -> str:
    """The name as it will be stored and shown: NFKC, single spaces; ProfileNameError with a reason otherwise."""
    cleaned = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if not cleaned:
        raise ProfileNameError("Profile name cannot be empty.")
    key = cleaned.casefold()
    if len(cleaned) > MAX_PROFILE_NAME or len(key) > MAX_PROFILE_NAME:
        raise ProfileNameError(f"Profile name is too long ({max(len(cleaned), len(key))} characters once normalised; "
                               f"the limit is {MAX_PROFILE_NAME}).")
    if not PROFILE_NAME_PATTERN.match(cleaned) or not PROFILE_NAME_PATTERN.match(key):
        raise ProfileNameError("Use letters, digits, spaces and . ' - _ in profile names.")
    scripts = {_script(ch) for ch in cleaned if ch.isalpha()}
    if len(scripts) > 1:
        raise ProfileNameError("Use letters from one alphabet in a profile name (it mixes "
                               + " and ".join(sorted(s.title() for s in scripts)) + ").")
    return cleaned


def name_key(name: str) -> str:
    """The uniqueness key of a name: NFKC, single spaces, case folded (no rule checks; see normalize_profile_name)."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def _script(ch: str) -> str:
    # Unicode names start with the script for letters: "LATIN SMALL LETTER A", "CYRILLIC SMALL LETTER A".
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]
