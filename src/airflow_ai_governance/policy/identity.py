"""People's identities as the gates compare them.

A policy names people by their Airflow user name (the auth manager's user id; with the
SimpleAuthManager, the name in ``[core] simple_auth_manager_users``). Every comparison between
identities (owner vs responder, distinct reviewers of a quorum, who may answer) goes through
:func:`normalize_identity`, so ``Lena``, ``lena`` and ``lena `` are one person and the full-width
form of ``lena`` is ``lena`` too.
"""

from __future__ import annotations

import unicodedata


def normalize_identity(value: str) -> str:
    """The comparable form of a user id: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def same_identity(a: str | None, b: str | None) -> bool:
    """Whether two user ids name the same person (``None`` is nobody)."""
    return a is not None and b is not None and normalize_identity(a) == normalize_identity(b)
