"""The people a policy names: normalised before any comparison, never confusable (issue 8, item 6).

Before the fix ``Lena`` and ``lena`` were two reviewers of a tier-3 quorum, the owner ``paula``
could be listed as reviewer ``Paula``, and a Cyrillic look-alike of a reviewer was accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy import build_checklist, parse_policy


def _claims(examples_dir: Path) -> str:
    return (examples_dir / "product_claims.yaml").read_text()


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "claims.yaml")
    return dict(caught.value.problems)


REVIEWERS = "  - {id: rachel, name: Rachel Reviewer, email: rachel@example.com}\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  - {id: Lena}\n", "'Lena' is listed twice (same identity as reviewers[0])"),
        ("  - {id: ' lena'}\n", "is not written in its normal form: write 'lena'"),
        ("  - {id: Paula}\n", "the owner 'paula' cannot also be a reviewer (no self-approval; 'Paula' is"),
        ("  - {id: PAULA}\n", "the owner 'paula' cannot also be a reviewer"),
        ("  - {id: \uff50\uff41\uff55\uff4c\uff41}\n", "not written in its normal form: write 'paula'"),
    ],
)
def test_a_second_spelling_of_a_person_is_refused(examples_dir: Path, extra: str, message: str) -> None:
    text = _claims(examples_dir).replace(REVIEWERS, REVIEWERS + extra)
    problems = _problems(text)
    line = _line(text, extra.strip())
    ((where, problem),) = problems.items()
    assert where.startswith(f"claims.yaml:{line}: reviewers[3]")
    assert message in problem


def test_confusable_reviewer_is_refused_with_field_and_line(examples_dir: Path) -> None:
    fake = "\u0435ric"  # Cyrillic e
    text = _claims(examples_dir).replace("{id: eric,", f"{{id: {fake},")
    ((where, problem),) = _problems(text).items()
    assert where == f"claims.yaml:{_line(text, fake)}: reviewers[1].id"
    assert "mixes scripts (CYRILLIC, LATIN)" in problem


def test_look_alike_people_are_refused(examples_dir: Path) -> None:
    text = _claims(examples_dir).replace(REVIEWERS, REVIEWERS + "  - {id: 1ena}\n")
    ((where, problem),) = _problems(text).items()
    assert where == f"claims.yaml:{_line(text, '1ena')}: reviewers[3]"
    assert problem.startswith("'1ena' looks like 'lena' (reviewers[0])")


def test_owner_and_escalation_contacts_are_checked_too(examples_dir: Path) -> None:
    text = _claims(examples_dir).replace("owner: {id: paula,", "owner: {id: \u0440aula,")
    assert "owner.id" in next(iter(_problems(text))).split(": ", 1)[1]
    contact = "    - {id: gina, name: Gina General Counsel, channel: email, address: gina@example.com}\n"
    text = _claims(examples_dir).replace(
        contact, contact + "    - {id: Gina, channel: email, address: g@example.com}\n"
    )
    ((where, problem),) = _problems(text).items()
    assert where.endswith("escalation.contacts[2]") and "listed twice" in problem
    justification = _claims(examples_dir).replace("{id: lena, channel", "{id: l\u0435na, channel")
    assert any("escalation.contacts[0].id" in w for w in _problems(justification))


def test_a_reviewer_may_also_be_an_escalation_contact(examples_dir: Path) -> None:
    policy = parse_policy(_claims(examples_dir), "claims.yaml")  # lena is both, as shipped
    assert "lena" in policy.reviewer_ids()


def test_owner_reviewing_their_own_public_justification_is_caught_in_any_case(examples_dir: Path) -> None:
    text = (
        _claims(examples_dir)
        .replace(
            "  data_sensitivity: internal\n",
            "  data_sensitivity: confidential\n  public_justification:\n"
            "    text: Hosted model needed for copy quality; data is pre-approved.\n"
            "    reviewed_by: Paula\n    reviewed_on: 2026-11-01\n",
        )
        .replace("allowed_data_classes: [public, internal]", "allowed_data_classes: [public, confidential]")
    )
    checklist = build_checklist(parse_policy(text, "claims.yaml"), "approved")
    (failed,) = [i for i in checklist.items if i.key == "infrastructure"]
    assert not failed.passed and "other than the owner" in failed.detail
