"""The built-in scanner on text: what it finds, where, and what it leaves alone."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from airflow_ai_governance.boundary import EntityType, Finding, Scanner, scan_text

E = EntityType


def spans(text: str, types: list[EntityType] | None = None) -> list[tuple[str, str]]:
    return [(f.type.value, text[f.start : f.end]) for f in Scanner(types).scan_text(text)]


def _jwt() -> str:
    def b64(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'sub': '1234567890', 'name': 'Jo'})}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


POSITIVES: list[tuple[EntityType, str, str]] = [
    # (type, text, expected matched value)
    (E.EMAIL_ADDRESS, "write to jane.doe@example.com today", "jane.doe@example.com"),
    (E.EMAIL_ADDRESS, "<first.last+news@mail.example.co.uk>", "first.last+news@mail.example.co.uk"),
    (E.EMAIL_ADDRESS, "Contact: JOHN_SMITH@EXAMPLE.ORG.", "JOHN_SMITH@EXAMPLE.ORG"),
    (E.EMAIL_ADDRESS, "mail josé@bücher.example", "josé@bücher.example"),
    (E.PHONE_NUMBER, "call (415) 555-0132 now", "(415) 555-0132"),
    (E.PHONE_NUMBER, "call 415-555-0132.", "415-555-0132"),
    (E.PHONE_NUMBER, "call 415.555.0132", "415.555.0132"),
    (E.PHONE_NUMBER, "call +1 415 555 0132", "+1 415 555 0132"),
    (E.PHONE_NUMBER, "call 1-415-555-0132 x204", "1-415-555-0132 x204"),
    (E.PHONE_NUMBER, "phone: 4155550132", "4155550132"),
    (E.PHONE_NUMBER, "London +44 20 7946 0958", "+44 20 7946 0958"),
    (E.PHONE_NUMBER, "London +44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
    (E.PHONE_NUMBER, "Manchester (0161) 496 0123", "(0161) 496 0123"),
    (E.PHONE_NUMBER, "Berlin 030 12345678", "030 12345678"),
    (E.PHONE_NUMBER, "München 089/1234567", "089/1234567"),
    (E.PHONE_NUMBER, "mobil 0151 23456789", "0151 23456789"),
    (E.PHONE_NUMBER, "Paris 01 23 45 67 89", "01 23 45 67 89"),
    (E.PHONE_NUMBER, "Paris 01.23.45.67.89", "01.23.45.67.89"),
    (E.PHONE_NUMBER, "portable +33 6 12 34 56 78", "+33 6 12 34 56 78"),
    (E.PHONE_NUMBER, "São Paulo (11) 91234-5678", "(11) 91234-5678"),
    (E.PHONE_NUMBER, "Mumbai +91 98765 43210", "+91 98765 43210"),
    (E.PHONE_NUMBER, "Wien 0043 1 234567", "0043 1 234567"),
    (E.PHONE_NUMBER, "bel me (06-12345678)", "06-12345678"),
    (E.CREDIT_CARD, "card 4111 1111 1111 1111 expires", "4111 1111 1111 1111"),
    (E.CREDIT_CARD, "card 4111-1111-1111-1111", "4111-1111-1111-1111"),
    (E.CREDIT_CARD, "card 4111111111111111.", "4111111111111111"),
    (E.CREDIT_CARD, "amex 3782 822463 10005", "3782 822463 10005"),
    (E.CREDIT_CARD, "diners 3056 930902 5904", "3056 930902 5904"),
    (E.CREDIT_CARD, "mastercard 2223 0031 2200 3222", "2223 0031 2200 3222"),
    (E.IBAN_CODE, "IBAN DE89 3704 0044 0532 0130 00.", "DE89 3704 0044 0532 0130 00"),
    (E.IBAN_CODE, "IBAN DE89370400440532013000", "DE89370400440532013000"),
    (E.IBAN_CODE, "to GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"),
    (E.IBAN_CODE, "BE68 5390 0754 7034 2024 invoice", "BE68 5390 0754 7034"),
    (E.US_SSN, "SSN 234-56-7890", "234-56-7890"),
    (E.US_SSN, "ssn 234 56 7890", "234 56 7890"),
    (E.US_SSN, "SSN: 234567890", "234567890"),
    (E.IP_ADDRESS, "from 192.168.1.10.", "192.168.1.10"),
    (E.IP_ADDRESS, "src=10.0.0.1:8080", "10.0.0.1"),
    (E.IP_ADDRESS, "net 10.1.0.0/16", "10.1.0.0/16"),
    (E.IP_ADDRESS, "host 2001:db8::1 up", "2001:db8::1"),
    (E.IP_ADDRESS, "[fe80::1ff:fe23:4567:890a]:443", "fe80::1ff:fe23:4567:890a"),
    (E.IP_ADDRESS, "mapped ::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    (E.SECRET, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    (
        E.SECRET,
        "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (E.SECRET, "key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    (
        E.SECRET,
        "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    ),
    (E.SECRET, "maps AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    (E.SECRET, "glpat-AbCdEfGhIjKlMnOpQrSt", "glpat-AbCdEfGhIjKlMnOpQrSt"),
    (
        E.SECRET,
        "npm token npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (E.SECRET, "postgresql://app:S3cr3tPw@db.example.com:5432/orders", "S3cr3tPw"),
    (E.SECRET, "Server=db;User Id=app;Password=Xy7#kq2!Lm;", "Xy7#kq2!Lm"),
    (E.SECRET, '{"password": "hunter2Hunter"}', "hunter2Hunter"),
    (E.SECRET, "DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor"),  # '&' ends a value (query strings)
    (
        E.SECRET,
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
]


@pytest.mark.parametrize(
    ("etype", "text", "value"), POSITIVES, ids=[f"{t.value}:{v[:18]}" for t, _x, v in POSITIVES]
)
def test_positive(etype: EntityType, text: str, value: str) -> None:
    found = spans(text)
    assert (etype.value, value) in found, found


def test_jwt_and_private_key_blocks() -> None:
    token = _jwt()
    text = f"Authorization: Bearer {token}\n"
    assert spans(text) == [("SECRET", token)]
    body = "\n".join(["MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw"] * 4)
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    assert spans(f"key:\n{block}\nthanks") == [("SECRET", block)]
    # a BEGIN without its END (truncated, pasted in part), or with another label, is still a key:
    # the header and the base64 body that follows it
    head = f"-----BEGIN RSA PRIVATE KEY-----\n{body}"
    assert spans(f"{head}\n") == [("SECRET", head)]
    assert spans(f"{head}\n-----END EC PRIVATE KEY-----") == [("SECRET", head)]


NEGATIVES = [
    "Order 100234987 shipped on 2024-03-15",  # 9-digit order number, no SSN keyword
    "order #4829301756 is ready",  # 10 digits, no phone keyword
    "Invoice INV-2024-000123 is overdue",
    "upgraded to v2.14.3 and then 1.2.3.4.5",  # versions
    "release 10.0.19045.2965; version 1.2.3.4",  # versions, incl. an address-like one
    "ip-like 999.1.1.1 and 256.300.1.1",
    "at 2024-03-15T14:22:05Z, logged 2024-03-15 14:22:05, 15.03.2024 14:22, 03/15/2024",
    "epoch 1710512525 and 1710512525123",
    "commit 9f2c1a7e3b4d5c6e7f8091a2b3c4d5e6f7081920 sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "request id 123e4567-e89b-12d3-a456-426614174000",
    "reference 4111 1111 1111 1112",  # Luhn-invalid
    "reference 1234 5678 9012 3456",  # Luhn-invalid, no scheme
    "account ref DE88 3704 0044 0532 0130 00",  # wrong IBAN checksum
    "id 000-12-3456, 666-12-3456, 912-34-5678, 234-00-5678, 234-56-0000",  # SSNs never issued
    "total $1,234.56 or EUR 12.345,67 or 1 234 567 €",
    "ZIP 94105-1234",
    "ISBN 978-3-16-148410-0",
    "MAC 00:1A:2B:3C:4D:5E at 14:22:05",
    "see logo@2x.png, ping @alice, root@localhost",
    "DATABASE_URL=postgresql://app:${DB_PASSWORD}@db:5432/app",
    "password: ******** and password=changeme and password: required",
    "api_key=<YOUR_API_KEY>",
    "room 1204, floor 12, 3 x 250 ml",
    "tracking 1Z999AA10123456784",
    "coordinates 48.8566, 2.3522",
    "case 2024-000123 and sort code 12-34-56, account 31926819",
    "std::vector<int> and dead::beef and a::b",
    "the task-manager-service and sk-learn",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_not_flagged(text: str) -> None:
    assert spans(text) == []


def test_offsets_and_order() -> None:
    text = "a@example.com b@example.com 4111 1111 1111 1111"
    found = Scanner().scan_text(text)
    assert [f.start for f in found] == sorted(f.start for f in found)
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
        assert 0.0 < f.confidence <= 1.0
        assert f.path is None


def test_subset_scan_equals_filtered_full_scan() -> None:
    text = (
        "postgresql://app:S3cr3tPw@db.example.com/x mail a@example.com, IBAN DE89 3704 0044 0532 0130 00, "
        "call +44 20 7946 0958, SSN 234-56-7890, card 4111 1111 1111 1111, ip 10.0.0.1"
    )
    full = Scanner().scan_text(text)
    for etype in EntityType:
        assert Scanner([etype]).scan_text(text) == [f for f in full if f.type is etype]
    assert Scanner(["email_address", "SECRET"]).types == {E.EMAIL_ADDRESS, E.SECRET}


def test_overlap_priority() -> None:
    # the password is a SECRET, the e-mail-like "S3cr3tPw@db.example.com" around it is not reported
    assert spans("postgresql://app:S3cr3tPw@db.example.com/x") == [("SECRET", "S3cr3tPw")]
    # the IBAN's digit groups are not a phone number
    assert spans("IBAN NL91 ABNA 0417 1643 00") == [("IBAN_CODE", "NL91 ABNA 0417 1643 00")]


def test_module_level_scan_text_and_unknown_types() -> None:
    assert [f.type for f in scan_text("x a@example.com", types=["EMAIL_ADDRESS"])] == [E.EMAIL_ADDRESS]
    assert scan_text("x a@example.com", types=["PHONE_NUMBER"]) == []
    assert scan_text("") == []
    with pytest.raises(ValueError, match="unknown entity type 'EMAIL'"):
        Scanner(["EMAIL"])


def test_finding_is_frozen_and_serialisable() -> None:
    finding = Finding(E.EMAIL_ADDRESS, 1, 5, 0.9, "a.b")
    with pytest.raises(AttributeError):
        finding.start = 3  # type: ignore[misc]
    assert finding.as_dict() == {
        "type": "EMAIL_ADDRESS",
        "start": 1,
        "end": 5,
        "confidence": 0.9,
        "path": "a.b",
    }
    assert not hasattr(finding, "__dict__")  # slots


def test_matched_values_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    Scanner().scan_text(f"token {secret} mail a@example.com")
    assert secret not in caplog.text
    assert "a@example.com" not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # found by hypothesis: a rejected candidate must not hide an entity that starts inside it
        ("000000000)4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("port 8080 10.0.0.1", [("IP_ADDRESS", "10.0.0.1")]),
        ("Qty 2 4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        (
            "+44 20 7946 0958, 020 7946 0958",
            [("PHONE_NUMBER", "+44 20 7946 0958"), ("PHONE_NUMBER", "020 7946 0958")],
        ),
    ],
)
def test_entities_inside_rejected_candidates(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected
    for etype in {t for t, _v in expected}:
        assert spans(text, [EntityType(etype)]) == [(t, v) for t, v in expected if t == etype]
