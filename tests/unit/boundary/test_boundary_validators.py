"""Validators that confirm scanner candidates."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_ai_governance.boundary import validators as v


def _luhn_reference(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
        ("", False),
        ("41111111111111a1", False),
        ("\uff14\uff11\uff11\uff11", False),  # full-width digits are not ASCII digits
    ],
)
def test_luhn(number: str, ok: bool) -> None:
    assert v.luhn_ok(number) is ok


def test_luhn_matches_reference_implementation() -> None:
    import random

    rng = random.Random(7)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
        assert v.luhn_ok(digits) is _luhn_reference(digits), digits


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),  # 2-series
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("30569309025904", "diners"),
        ("6200000000000005", "unionpay"),
        ("1234567812345670", None),  # no scheme starts with 1
        ("411111111111111", None),  # Visa with 15 digits
        ("37828224631000", None),  # Amex with 14 digits
    ],
)
def test_card_brand(number: str, brand: str | None) -> None:
    assert v.card_brand(number) == brand


def test_is_valid_card_needs_brand_and_luhn() -> None:
    assert v.is_valid_card("4111111111111111")
    assert not v.is_valid_card("4111111111111112")  # Luhn
    assert not v.is_valid_card("1234567812345670")  # Luhn-valid, no scheme
    assert not v.is_valid_card("0000000000000000")


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "BE68539007547034",
        "NO9386011117947",
        "CH9300762011623852957",
        "IT60X0542811101000000123456",
        "ES9121000418450200051332",
        "MT84MALT011000012345MTLCAST001S",
        "BR1800360305000010009795493C1",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert v.is_valid_iban(iban)


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("DE88370400440532013000", "wrong check digits"),
        ("DE8937040044053201300", "one character short for DE"),
        ("DE893704004405320130000", "one character long for DE"),
        ("XX89370400440532013000", "unknown country"),
        ("de89370400440532013000", "lower case"),
        ("DE89 3704 0044 0532 0130 00", "print form is not the electronic form"),
        ("DE00370400440532013000", "check digits 00 are never issued"),
    ],
)
def test_invalid_ibans(iban: str, why: str) -> None:
    assert not v.is_valid_iban(iban), why


def test_iban_lengths_are_plausible() -> None:
    assert v.IBAN_LENGTHS["DE"] == 22
    assert v.IBAN_LENGTHS["NO"] == 15
    assert v.IBAN_LENGTHS["RU"] == 33
    assert all(15 <= n <= 34 for n in v.IBAN_LENGTHS.values())


@pytest.mark.parametrize(
    ("ssn", "ok"),
    [
        ("234567890", True),
        ("001010001", True),
        ("000123456", False),  # area 000
        ("666123456", False),  # area 666
        ("900123456", False),  # area 9xx (ITINs)
        ("987654321", False),
        ("234007890", False),  # group 00
        ("234560000", False),  # serial 0000
        ("078051120", False),  # Woolworth wallet card
        ("123456789", False),  # placeholder
        ("23456789", False),
        ("23456789a", False),
    ],
)
def test_ssn_rules(ssn: str, ok: bool) -> None:
    assert v.is_valid_ssn(ssn) is ok


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("192.168.1.10", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("256.1.1.1", False),
        ("999.1.1.1", False),
        ("1.2.3", False),
        ("1.2.3.4.5", False),
        ("01.2.3.4", False),  # leading zero
        ("1..3.4", False),
        ("\u0661.\u0662.\u0663.\u0664", False),  # Arabic-Indic digits
    ],
)
def test_ipv4(address: str, ok: bool) -> None:
    assert v.is_valid_ipv4(address) is ok


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("2001:db8::1", True),
        ("fe80::1ff:fe23:4567:890a", True),
        ("::1", True),
        ("::ffff:192.0.2.1", True),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", True),
        ("fe80::1%eth0", True),
        ("dead::beef", False),  # no digit: a word, not an address
        ("00:1A:2B:3C:4D:5E", False),  # MAC address
        ("14:22:05", False),  # time
        ("2001:db8:::1", False),
        ("12345::1", False),
        ("1:2:3:4:5:6:7:8:9", False),
    ],
)
def test_ipv6(address: str, ok: bool) -> None:
    assert v.is_valid_ipv6(address) is ok


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4155550132", True),
        ("2125551234", True),
        ("1155550132", False),  # NPA starts with 1
        ("0155550132", False),  # NPA starts with 0
        ("4915550132", False),  # NPA middle digit 9 is reserved
        ("9115550132", False),  # N11 NPA
        ("4151550132", False),  # exchange starts with 1
        ("4159110132", False),  # N11 exchange
        ("415555013", False),
    ],
)
def test_nanp(digits: str, ok: bool) -> None:
    assert v.is_valid_nanp(digits) is ok


@pytest.mark.parametrize(
    ("digits", "cc"),
    [("14155550132", "1"), ("442079460958", "44"), ("3531234567", "353"), ("80012345", "800"), ("999", None)],
)
def test_phone_country_code(digits: str, cc: str | None) -> None:
    assert v.phone_country_code(digits) == cc


@pytest.mark.parametrize(
    ("cc", "nsn", "ok"),
    [
        ("44", "2079460958", True),
        ("44", "207946095", True),  # 9-digit UK numbers exist
        ("44", "20794609581", False),  # too long for the UK
        ("33", "612345678", True),
        ("33", "0612345678", False),  # no trunk 0 after the country code
        ("39", "0212345678", True),  # ... except in Italy
        ("1", "4155550132", True),
        ("1", "1155550132", False),  # NANP rules apply to +1
        ("672", "123456", True),  # default bounds for other codes
        ("672", "12345", False),
    ],
)
def test_nsn_lengths(cc: str, nsn: str, ok: bool) -> None:
    assert v.nsn_length_ok(cc, nsn) is ok


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_jwt() -> None:
    token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': 'x'})}.c2lnbmF0dXJlLWJ5dGVz"
    assert v.is_valid_jwt(token)
    assert not v.is_valid_jwt(f"{_b64({'typ': 'JWT'})}.{_b64({'sub': 'x'})}.c2ln")  # no alg
    assert not v.is_valid_jwt(f"{_b64({'alg': 'none'})}.{_b64({'sub': 'x'})}.")  # no signature
    assert not v.is_valid_jwt("eyJhbGciOi.eyJzdWIi.bm90LWpzb24")  # not JSON
    assert not v.is_valid_jwt("a.b")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789abcdefABCDEF:.%g", max_size=45),
        st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
        st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded),
    )
)
def test_ipv6_agrees_with_the_standard_library(candidate: str) -> None:
    address = candidate.split("%", 1)[0]
    try:
        ipaddress.IPv6Address(address)
        expected = any(ch.isdigit() for ch in address)
    except ValueError:
        expected = False
    assert v.is_valid_ipv6(candidate) is expected
