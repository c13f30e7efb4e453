"""Passphrases for profiles on a shared database: a slow salted hash from the standard library, and a throttle.

Only the scrypt hash is stored (``scrypt$n$r$p$salt$hash``, base64 parts), so the database never holds anything a
visitor could type back in. Verification compares in constant time. The throttle slows down guessing: after a few
failures on one profile name, further attempts on that name wait, whether or not the name exists (so the wait says
nothing about which names are taken).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass, field

# scrypt's cost: 2**14 x 8 x 1 uses 16 MiB and about 50 ms per check on the build machine, slow enough to make a
# stolen database expensive to attack and fast enough for a person opening a profile.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 256


class PassphraseError(ValueError):
    """A passphrase that does not meet the rules; the message says which."""


def check_rules(passphrase: str) -> str:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_LENGTH:
        raise PassphraseError(f"Choose a passphrase of at least {MIN_LENGTH} characters.")
    if len(passphrase) > MAX_LENGTH:
        raise PassphraseError(f"A passphrase may have at most {MAX_LENGTH} characters.")
    if not passphrase.strip():
        raise PassphraseError("A passphrase cannot be only spaces.")
    return passphrase


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=64 * 2**20)


def hash_passphrase(passphrase: str) -> str:
    check_rules(passphrase)
    salt = os.urandom(SALT_BYTES)
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    parts = ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)]
    return "$".join(parts)


def verify_passphrase(passphrase: str, stored: str | None) -> bool:
    """True only when `stored` is a hash this module wrote and `passphrase` produces it."""
    if not stored or not isinstance(passphrase, str) or len(passphrase) > MAX_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key, validate=True)
        derived = _derive(passphrase, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError):  # a damaged hash opens nothing
        return False
    return hmac.compare_digest(derived, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class AttemptThrottle:
    """Per-key failure counts: after `free_failures` failures within `window_s`, each attempt waits `wait_s`."""

    free_failures: int = 5
    window_s: float = 600.0
    wait_s: float = 30.0
    clock: object = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, key: str) -> float:
        """Seconds before `key` may be tried again (0 when it may be tried now)."""
        now = self.clock()  # type: ignore[operator]
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
            self._failures[key] = recent
            if len(recent) < self.free_failures:
                return 0.0
            return max(0.0, recent[-1] + self.wait_s - now)

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(self.clock())  # type: ignore[operator]
            if len(self._failures) > 10_000:  # a flood of names must not grow memory without bound
                oldest = sorted(self._failures, key=lambda k: self._failures[k][-1] if self._failures[k] else 0)
                for k in oldest[:5_000]:
                    self._failures.pop(k, None)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
