"""Identities compare case-folded, NFKC-normalised and trimmed."""

from __future__ import annotations

import pytest

from airflow_ai_governance.policy.identity import (
    Actor,
    identity_problem,
    normalize_identity,
    same_identity,
    separation_problem,
    skeleton,
)


@pytest.mark.parametrize("variant", ["Lena", "LENA", " lena ", "\uff4c\uff45\uff4e\uff41", "\uff2cena\t"])
def test_variants_of_one_name_are_one_identity(variant: str) -> None:
    assert normalize_identity(variant) == "lena"
    assert same_identity(variant, "lena")


def test_different_people_and_nobody_differ() -> None:
    assert not same_identity("lena", "lina")
    assert not same_identity(None, "lena")
    assert not same_identity(None, None)


# ------------------------------------------------------------------ identities a policy may name
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("l\u0435na", "mixes scripts (CYRILLIC, LATIN)"),  # Cyrillic e
        ("\u0440\u0430ula", "mixes scripts"),  # Cyrillic p, a
        ("\u03bc\u03b1\u03c1\u03af\u03b1", "looks like the ASCII 'a'"),  # all-Greek, confusable
        ("\u0435ric", "mixes scripts"),
        ("\u2223ena", "looks like the ASCII 'l'"),  # DIVIDES, a Common-script look-alike of l
        ("\u0131an", "looks like the ASCII 'i'"),  # dotless i
        ("le\u200bna", "invisible or control character (U+200B ZERO WIDTH SPACE)"),
        ("lena\u202e", "invisible or control character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("le na", "contains a space"),
        ("\uff4c\uff45\uff4e\uff41", "not written in its normal form: write 'lena'"),  # full-width
        ("", "is empty"),
    ],
)
def test_confusable_or_hidden_identities_are_refused(value: str, problem: str) -> None:
    found = identity_problem(value)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "value",
    [
        "lena",
        "Lena",
        "lena.berg@example.com",
        "42",
        "jos\u00e9",
        "\u674e\u5a1c",
        "\u3086\u304d",
        "\u5c71\u7530\u305f\u308d\u3046",
        "\uae40\ubbfc\uc900",
    ],
)
def test_ordinary_identities_are_accepted(value: str) -> None:
    assert identity_problem(value) is None


def test_skeleton_folds_look_alike_ascii() -> None:
    assert skeleton("Ian") == skeleton("lan") == skeleton("1an")
    assert skeleton("rnary") == skeleton("mary")
    assert skeleton("0scar") == skeleton("oscar")
    assert skeleton("eric") != skeleton("erik")


# ------------------------------------------------------------------------------- who decided
def test_actor_of_process_records_the_os_identity() -> None:
    import os
    import pwd

    actor = Actor.of_process("gina")
    assert actor.by == "gina"
    assert actor.os_user == pwd.getpwuid(os.getuid()).pw_name and actor.uid == os.getuid() and actor.host
    assert actor.os_identity == f"{actor.os_user}@{actor.host}"
    assert Actor.of_process().by == actor.os_user  # no name given: the OS user
    assert Actor.of_process(airflow_user="gina").by == "gina"  # a verified Airflow user beats the OS
    assert Actor.from_dict(actor.as_dict()) == actor


OWNERS = ["paula"]
AUTHOR = Actor("sam", "sam", 1001, "ops1", None)


@pytest.mark.parametrize(
    ("approver", "refused"),
    [
        (Actor("Paula", "gina", 1002, "ops1"), "owner"),  # the owner, by another case
        (Actor("gina", "paula", 1002, "ops2"), "owner"),  # the owner's OS account
        (Actor("SAM ", "gina", 1002, "ops1"), "made the change"),  # the author under another case
        (Actor("gina", "sam", 1001, "ops1"), "made the change"),  # the author's OS account, another --by
        (Actor("gina", "ops", 0, "ops1"), None),
        (Actor("gina", "gina", 1002, "ops2"), None),
    ],
)
def test_separation_of_duties(approver: Actor, refused: str | None) -> None:
    problem = separation_problem(approver, AUTHOR, OWNERS)
    assert (problem is None) if refused is None else (problem is not None and refused in problem)


def test_one_shared_os_account_is_one_person_unless_airflow_tells_them_apart() -> None:
    author = Actor("sam", "airflow", 50000, "sched1", None)
    other = Actor("gina", "airflow", 50000, "sched1", None)
    problem = separation_problem(other, author, OWNERS)
    assert problem is not None and "same OS account (airflow@sched1)" in problem
    verified_author = Actor("sam", "airflow", 50000, "sched1", "sam")
    verified_other = Actor("gina", "airflow", 50000, "sched1", "gina")
    assert separation_problem(verified_other, verified_author, OWNERS) is None
    same_airflow_user = Actor("gina", "airflow", 50000, "sched1", "Sam")
    assert separation_problem(same_airflow_user, verified_author, OWNERS) is not None
