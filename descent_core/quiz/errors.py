"""The progress store's errors, in a module of their own so that every part of the store can raise them without
importing another part (store, names, profiles and transfer all sit above this one)."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base for problems the UI reports as-is."""


class SchemaError(StoreError):
    pass


class TransientStoreError(StoreError):
    """The database was busy or unreachable for a moment; nothing was written, and trying again later is safe."""


class UndoRefused(StoreError):
    """The review cannot be taken back: the card was reviewed again since (in another tab, say)."""


class ProfileNameError(StoreError):
    """A profile name that breaks the rules, or one that is taken; the message says which."""


class ProfileAccessError(StoreError):
    """No profile with that name and passphrase (the message never says which of the two was wrong)."""
