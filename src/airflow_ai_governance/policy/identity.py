"""People's identities as the gates compare them, and who ran a command.

A policy names people by their Airflow user id: what the auth manager's ``user.get_id()`` returns
(with the SimpleAuthManager, the user name in ``[core] simple_auth_manager_users``; with the FAB
auth manager, the numeric id of the user row, as text). Airflow assigns HITL requests by that exact
string; every comparison the gates make between identities (owner vs responder, distinct reviewers
of a quorum, who may answer, who may approve a policy change) goes through
:func:`normalize_identity`, so ``Lena``, ``lena`` and ``lena `` are one person and the full-width
form of ``lena`` is ``lena`` too.

A policy file may only name identities that cannot be mistaken for someone else
(:func:`identity_problem`): written in normal form, no invisible or control characters, one script,
and no character that looks like an ASCII letter or digit without being one (Cyrillic ``\u0435``,
Greek ``\u03bf``, ``\u2223``). Two different people of one policy must not look alike either
(:func:`skeleton`: ``Ian``/``lan``, ``rn``/``m``).
"""

from __future__ import annotations

import getpass
import os
import socket
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

#: Scripts that legitimately appear together in one name (Japanese, Korean).
_SCRIPT_FAMILIES = (frozenset({"HAN", "HIRAGANA", "KATAKANA"}), frozenset({"HAN", "HANGUL"}))
#: ASCII characters that look alike, mapped to one representative (then case-folded).
_ASCII_LOOKALIKES = str.maketrans({"1": "l", "I": "l", "|": "l", "0": "o", "O": "o"})
_ASCII_SEQUENCES = (("rn", "m"), ("vv", "w"))


def normalize_identity(value: str) -> str:
    """The comparable form of a user id: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def same_identity(a: str | None, b: str | None) -> bool:
    """Whether two user ids name the same person (``None`` is nobody)."""
    return a is not None and b is not None and normalize_identity(a) == normalize_identity(b)


def identity_problem(value: str) -> str | None:
    """Why ``value`` cannot name a person in a policy (``None``: it can).

    Refused: empty ids, ids not written in normal form (NFKC, trimmed: write ``lena``, not the
    full-width ``\uff4c\uff45\uff4e\uff41`` or ``" lena"``), invisible, control or space characters, mixed scripts,
    and characters that look like an ASCII letter or digit without being one.
    """
    normal = unicodedata.normalize("NFKC", value).strip()
    if not normal:
        return "is empty"
    if normal != value and not any(unicodedata.category(c)[0] == "C" for c in normal):
        return f"is not written in its normal form: write {normal!r}"
    for char in value:
        category = unicodedata.category(char)
        if category[0] in ("C", "Z"):
            what = "a space" if category == "Zs" else "an invisible or control character"
            return f"contains {what} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})"
    if value.isascii():
        return None
    return _script_problem(value)


def _script_problem(value: str) -> str | None:
    # Unicode script and confusable data (Unicode's confusables.txt), loaded only for non-ASCII ids.
    from confusable_homoglyphs import categories, confusables

    scripts = categories.unique_aliases(value) - {"COMMON", "INHERITED"}
    if len(scripts) > 1 and not any(scripts <= family for family in _SCRIPT_FAMILIES):
        return f"mixes scripts ({', '.join(sorted(scripts))}); a user id is written in one script"
    for char in value:
        if char.isascii():
            continue
        lookalikes = [h["c"] for h in confusables.confusables_data.get(char, ())]
        ascii_twin = next((c for c in lookalikes if len(c) == 1 and c.isascii() and c.isalnum()), None)
        if ascii_twin is not None:
            return (
                f"contains {char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}), which looks like "
                f"the ASCII {ascii_twin!r}; write the user id exactly as the auth manager has it"
            )
    return None


def skeleton(value: str) -> str:
    """What an identity looks like: look-alike ASCII characters folded together (``Ian`` ~ ``lan``)."""
    folded = unicodedata.normalize("NFKC", value).strip().translate(_ASCII_LOOKALIKES).casefold()
    for sequence, single in _ASCII_SEQUENCES:
        folded = folded.replace(sequence, single)
    return folded


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a decision: the name given (``--by``) and the identities that ran the command.

    ``os_user``/``uid``/``host`` are taken from the process; ``airflow_user`` is set only when
    an Airflow identity was verified (e.g. the CLI checked an API token with the API server).
    """

    by: str
    os_user: str | None = None
    uid: int | None = None
    host: str | None = None
    airflow_user: str | None = None

    @classmethod
    def of_process(cls, by: str | None = None, *, airflow_user: str | None = None) -> Actor:
        """The actor running this process; ``by`` defaults to the Airflow user, else the OS user."""
        os_user = _os_user()
        name = (by or "").strip() or airflow_user or os_user or "unknown"
        uid = os.getuid() if hasattr(os, "getuid") else None
        return cls(name, os_user, uid, socket.gethostname() or None, airflow_user)

    @classmethod
    def coerce(cls, actor: Actor | str) -> Actor:
        """An :class:`Actor`; a bare name (kept as given, even blank) gets this process's identities."""
        if isinstance(actor, Actor):
            return actor
        return replace(cls.of_process(), by=actor.strip())

    @property
    def os_identity(self) -> str | None:
        """``user@host`` of the OS account that ran the command."""
        return f"{self.os_user}@{self.host}" if self.os_user and self.host else self.os_user

    def names(self) -> list[str]:
        """Every identity this actor is known by (the given name, the Airflow and OS users)."""
        return [n for n in (self.by, self.airflow_user, self.os_user) if n]

    def as_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "os_user": self.os_user,
            "uid": self.uid,
            "host": self.host,
            "airflow_user": self.airflow_user,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, by: str = "unknown") -> Actor:
        data = data or {}
        return cls(
            str(data.get("by") or by),
            data.get("os_user"),
            data.get("uid"),
            data.get("host"),
            data.get("airflow_user"),
        )

    def describe(self) -> str:
        """``gina (OS paula@host1, Airflow gina)``: the name and what it was checked against."""
        extra = [f"OS {self.os_identity}"] if self.os_identity else []
        if self.airflow_user:
            extra.append(f"Airflow {self.airflow_user}")
        return f"{self.by} ({', '.join(extra)})" if extra else self.by


def _os_user() -> str | None:
    """The account of the process's real uid (not $USER/$LOGNAME, which anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no pwd module (Windows) or no passwd entry for the uid
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def separation_problem(approver: Actor, author: Actor, owners: list[str]) -> str | None:
    """Why ``approver`` may not approve what ``author`` did for a use case owned by ``owners``.

    The approver must be someone else than the owner(s) and the author, by every identity known:
    the given names, the verified Airflow users, and the OS account (``user@host``) that ran the
    commands. One OS account is one person unless both decisions carry verified Airflow identities
    that differ (a shared service account: each person proves who they are with an Airflow token).
    """
    for name in approver.names():
        owner = next((o for o in owners if same_identity(name, o)), None)
        if owner is not None:
            return f"{name!r} is the owner {owner!r} of the use case; the owner cannot approve a change"
    author_names = [author.by, author.airflow_user, author.os_user]
    for mine, theirs in [(m, t) for m in (approver.by, approver.airflow_user) for t in author_names] + [
        (approver.os_user, t) for t in (author.by, author.airflow_user)
    ]:
        if same_identity(mine, theirs):
            return f"{mine!r} made the change; a second person must approve it"
    if approver.os_identity and same_identity(approver.os_identity, author.os_identity):
        both_verified = approver.airflow_user and author.airflow_user
        if not both_verified or same_identity(approver.airflow_user, author.airflow_user):
            return (
                f"the change was made from the same OS account ({author.os_identity}); a second person "
                "must approve it from their own account, or both must prove their Airflow identity "
                "(AIGOV_AIRFLOW_TOKEN, see docs/cli.md)"
            )
    return None
