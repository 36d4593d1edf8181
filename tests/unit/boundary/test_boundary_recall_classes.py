"""Recall by class (issue 10): each miss class as a property over random values and surroundings.

Each test draws *valid* values (Luhn, mod 97, SSA rules, ...) and writes them the way real text
does (in brackets, next to punctuation, with Unicode separators, after a context word) and checks
that the scanner reports them with the exact span of the original text.
"""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_ai_governance.boundary import EntityType, Scanner
from airflow_ai_governance.boundary.normalize import normalize
from airflow_ai_governance.boundary.validators import is_valid_card, is_valid_ssn, luhn_ok

E = EntityType
SCANNER = Scanner()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def found(text: str) -> set[tuple[str, str]]:
    return {(f.type.value, text[f.start : f.end]) for f in SCANNER.scan_text(text)}


# ------------------------------------------------------------------------------------ values


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError(body)  # pragma: no cover


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "6011"]))
    body = prefix + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=15 - len(prefix), max_size=15 - len(prefix)))
    )
    number = _luhn_complete(body)
    assume(is_valid_card(number))
    return number


@st.composite
def ssns(draw: st.DrawFn) -> str:
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    digits = f"{area:03d}{draw(st.integers(1, 99)):02d}{draw(st.integers(1, 9999)):04d}"
    assume(is_valid_ssn(digits))
    return digits


@st.composite
def ibans(draw: st.DrawFn) -> str:
    bban = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=18, max_size=18)))
    check = 98 - int(bban + "131400") % 97  # DE = 13 14, then "00"
    return f"DE{check:02d}{bban}"


ipv4s = st.tuples(st.integers(1, 223), st.integers(0, 255), st.integers(0, 255), st.integers(1, 254)).map(
    lambda t: ".".join(map(str, t))
)
emails = st.tuples(
    st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True),
    st.sampled_from(["example.com", "mail.example.org"]),
).map(lambda t: f"{t[0]}@{t[1]}")
words = st.sampled_from(["see", "will follow up", "ok", "noted", "Kunde", "la référence", "value"])


def group(number: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(number[i : i + size])
        i += size
    return sep.join(out)


# --------------------------------------------------------------- 1. brackets and punctuation

OPEN = ["(", "[", "{", "<", '"', "'", "\u201c", "\u00ab", "(", ""]
CLOSE = [")", "]", "}", ">", '"', "'", "\u201d", "\u00bb", ").", ").", ",", ";", ":", "!", "?", "."]


@st.composite
def entity_values(draw: st.DrawFn) -> tuple[EntityType, str]:
    kind = draw(st.sampled_from([E.CREDIT_CARD, E.US_SSN, E.IP_ADDRESS, E.EMAIL_ADDRESS, E.IBAN_CODE]))
    if kind is E.CREDIT_CARD:
        number = draw(cards())
        return kind, draw(
            st.sampled_from([number, group(number, (4, 4, 4, 4), " "), group(number, (4, 4, 4, 4), "-")])
        )
    if kind is E.US_SSN:
        return kind, group(draw(ssns()), (3, 2, 4), "-")
    if kind is E.IP_ADDRESS:
        return kind, draw(ipv4s)
    if kind is E.IBAN_CODE:
        iban = draw(ibans())
        return kind, draw(st.sampled_from([iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))]))
    return kind, draw(emails)


@SETTINGS
@given(
    entity_values(), words, st.sampled_from(OPEN), st.sampled_from(CLOSE), st.sampled_from([" ", ": ", "\n"])
)
def test_entities_inside_brackets_and_next_to_punctuation(
    entity: tuple[EntityType, str], word: str, left: str, right: str, gap: str
) -> None:
    kind, value = entity
    text = f"{word}{gap}{left}{value}{right} thanks"
    assert (kind.value, value) in found(text), text


# ------------------------------------------------------------------- 2. phones by their shape

CONTACT = ["call me at ", "Phone: ", "phone:\n", "You can reach me on ", "Tel. ", "mobile ", "text me at "]


@SETTINGS
@given(
    st.integers(200, 999),
    st.integers(200, 999),
    st.integers(0, 9999),
    st.sampled_from(["({a}) {b}-{c}", "+1 {a}-{b}-{c}", "1-{a}-{b}-{c}", "({a}){b}-{c}", "+1 ({a}) {b} {c}"]),
    st.sampled_from(["", "call ", "Customer wrote: "]),
)
def test_north_american_numbers_judged_by_shape(
    area: int, exchange: int, line: int, fmt: str, before: str
) -> None:
    """Written like a North American number: reported whether or not the area code is assigned."""
    value = fmt.format(a=area, b=exchange, c=f"{line:04d}")
    text = f"{before}{value} today"
    assert ("PHONE_NUMBER", value) in found(text), text


@SETTINGS
@given(
    st.lists(st.integers(2, 4), min_size=2, max_size=4).filter(lambda g: 7 <= sum(g) <= 12),
    st.sampled_from([" ", "-"]),
    st.sampled_from(CONTACT),
    st.data(),
)
def test_national_numbers_in_contact_context(
    sizes: list[int], sep: str, before: str, data: st.DataObject
) -> None:
    digits = "".join(
        data.draw(st.lists(st.sampled_from("0123456789"), min_size=sum(sizes), max_size=sum(sizes)))
    )
    digits = data.draw(st.sampled_from("23456789")) + digits[1:]
    assume(tuple(sizes) not in ((4, 2, 2), (2, 2, 4)))  # date-shaped: refused even in context
    value = group(digits, tuple(sizes), sep)
    text = f"{before}{value}\nthanks"
    assert ("PHONE_NUMBER", value) in found(text), text
    after = f"{value} {data.draw(st.sampled_from(['office', 'fax', 'mobile']))}"
    assert ("PHONE_NUMBER", value) in found(f"Jane Doe\n{after}"), after


@SETTINGS
@given(st.sampled_from(CONTACT), st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 28))
def test_contact_context_does_not_make_dates_or_versions_phones(before: str, y: int, m: int, d: int) -> None:
    for value in (f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}", f"{m}.{d}.{y % 100}.{d}", f"v{m}.{d}.{y}"):
        assert not [f for f in SCANNER.scan_text(f"{before}{value}") if f.type is E.PHONE_NUMBER], value


# ------------------------------------------------------------------ 3. Unicode and separators

SPACES = ["\u00a0", "\u202f", "\u2009", "\u2007", "\u3000", "\t"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
FULL_WIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}  # 0-9 -> full-width digits


@st.composite
def spelled(draw: st.DrawFn) -> tuple[EntityType, str, str]:
    """(type, context before, value written with Unicode separators or digits)."""
    kind = draw(st.sampled_from([E.CREDIT_CARD, E.US_SSN, E.IBAN_CODE, E.PHONE_NUMBER]))
    style = draw(st.sampled_from(["space", "dot", "invisible", "full-width", "lower"]))
    if kind is E.CREDIT_CARD:
        digits, sizes, before = draw(cards()), (4, 4, 4, 4), "card "
    elif kind is E.US_SSN:
        digits, sizes, before = draw(ssns()), (3, 2, 4), "SSN "
    elif kind is E.IBAN_CODE:
        digits, sizes, before = draw(ibans()), (4, 4, 4, 4, 4, 2), "IBAN "
    else:
        digits, sizes, before = "4155550132", (3, 3, 4), "phone "
    if style == "space":
        value = group(digits, sizes, draw(st.sampled_from(SPACES)))
    elif style == "dot":
        value = group(digits, sizes, ".") if kind is not E.IBAN_CODE else group(digits, sizes, " ")
    elif style == "invisible":
        value = group(digits, sizes, draw(st.sampled_from([" ", "-"])))
        i = draw(st.integers(1, len(value) - 1))
        value = value[:i] + draw(st.sampled_from(INVISIBLE)) + value[i:]
    elif style == "full-width":
        value = group(digits, sizes, draw(st.sampled_from([" ", "-", "\u00a0"]))).translate(FULL_WIDTH)
    else:
        value = group(digits, sizes, " ").lower()
    return kind, before, value


@SETTINGS
@given(spelled(), st.sampled_from(["", "\u200b", " "]))
def test_unicode_separators_and_digits_map_back_exactly(item: tuple[EntityType, str, str], pad: str) -> None:
    kind, before, value = item
    text = f"{before}{pad}{value}{pad} ok"
    assert (kind.value, value) in found(text), text


@SETTINGS
@given(
    st.text(
        alphabet=st.sampled_from([*"ab1 -.", *SPACES, *INVISIBLE, "\uff14", "\ufb01", "\u00e9", "\u2013"]),
        max_size=40,
    )
)
def test_offset_map_round_trips(text: str) -> None:
    norm, offsets = normalize(text)
    if offsets is None:  # no map: every character was rewritten one for one
        assert len(norm) == len(text)
        assert all(normalize(ch)[0] == norm[i] for i, ch in enumerate(text)), text
        return
    assert offsets.end(len(norm)) <= len(text)
    for i in range(len(norm) + 1):
        assert 0 <= offsets.start(i) <= len(text) and 0 <= offsets.end(i) <= len(text)
        if i < len(norm):
            assert offsets.start(i) < offsets.end(i + 1)


def test_a_removed_and_an_expanded_character_still_need_the_map() -> None:
    """A soft hyphen removed before a ligature expanded: same total length, shifted offsets in
    between (found by hypothesis in CI: the e-mail's span lost its last character)."""
    text = "0@0.A\u00adA:\ufb00"
    norm, offsets = normalize(text)
    assert norm == "0@0.AA:ff" and offsets is not None
    (found,) = Scanner().scan_text(text)
    assert (found.type, found.start, found.end) == (EntityType.EMAIL_ADDRESS, 0, 7)


# ---------------------------------------------------------------------------- 4. type confusion


@SETTINGS
@given(
    st.sampled_from(["SSN: ", "SSN ", "social security number ", "Soc. Sec. No. "]),
    st.integers(1, 999),
    st.integers(1, 99),
    st.integers(1, 9999),
    st.sampled_from(["-", " "]),
)
def test_context_words_decide_between_ssn_and_phone(
    before: str, area: int, grp: int, serial: int, sep: str
) -> None:
    value = f"{area:03d}{sep}{grp:02d}{sep}{serial:04d}"
    types = {f.type for f in SCANNER.scan_text(f"{before}{value}")}
    assert types == {E.US_SSN}, (before, value, types)


@SETTINGS
@given(
    st.from_regex(r"[0-9]{11,18}", fullmatch=True),
    st.sampled_from(["card ", "credit card ", "cc ", "my card # "]),
)
def test_card_context_takes_luhn_valid_numbers_outside_known_ranges(body: str, before: str) -> None:
    number = _luhn_complete(body)
    assume(len(set(number)) > 1)
    assert ("CREDIT_CARD", number) in found(f"{before}{number} please"), number


# ------------------------------------------------------------------------------------ 5. secrets

b64_lines = st.lists(st.from_regex(r"[A-Za-z0-9+/]{64}", fullmatch=True), min_size=1, max_size=5)


@SETTINGS
@given(
    b64_lines,
    st.sampled_from(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]),
    st.sampled_from(["", "\n", "\nthanks, Bob"]),
)
def test_private_key_without_end_line(lines: list[str], label: str, tail: str) -> None:
    key = f"-----BEGIN {label}-----\n" + "\n".join(lines)
    assert ("SECRET", key) in found(f"here it is:\n{key}{tail}")


@SETTINGS
@given(
    st.from_regex(r"T[A-Z0-9]{8,10}", fullmatch=True),
    st.from_regex(r"B[A-Z0-9]{8,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{24}", fullmatch=True),
    st.sampled_from(["", "<", "(", "url="]),
)
def test_slack_webhook_urls(team: str, bot: str, secret: str, left: str) -> None:
    url = f"https://hooks.slack.com/services/{team}/{bot}/{secret}"
    assert ("SECRET", url) in found(f"webhook: {left}{url}> done")


@SETTINGS
@given(
    st.sampled_from(
        ["token", "TOKEN", "auth_token", "refresh_token", "api_key", "X_API_KEY", "client_secret"]
    ),
    st.sampled_from(["=", ": ", '="', " = '"]),
    st.from_regex(r"[a-z]{4,10}[0-9]{2,6}[A-Z]{2,6}", fullmatch=True),
)
def test_token_assignments(key: str, sep: str, value: str) -> None:
    close = '"' if sep.endswith('"') else "'" if sep.endswith("'") else ""
    text = f"{key}{sep}{value}{close}&next=1"
    assert ("SECRET", value) in found(text), text


def test_placeholder_and_numeric_tokens_are_not_secrets() -> None:
    for text in (
        "token=<YOUR_TOKEN>",
        "max_token: 4096",
        "token: ${TOKEN}",
        "token=changeme",
        "tokens: 1500",
    ):
        assert not [f for f in SCANNER.scan_text(text) if f.type is E.SECRET], text


# ---------------------------------------------------------------------------------- 6. base64


@SETTINGS
@given(
    entity_values(),
    st.sampled_from(["payload: {b}", "data:text/plain;base64,{u}", "attachment_b64: {u}", '"body": "{b}"']),
)
def test_base64_encoded_pii_is_reported_over_the_encoded_token(
    entity: tuple[EntityType, str], fmt: str
) -> None:
    """Decided: padded base64, or base64 after a ``base64,`` / ``b64:`` marker, is decoded and
    scanned; the finding covers the whole encoded token, with the type found inside."""
    kind, value = entity
    encoded = base64.b64encode(f"ref {value} now".encode()).decode()
    assume(fmt.startswith("data") or fmt.startswith("attach") or encoded.endswith("="))
    token = encoded if "{b}" in fmt else encoded.rstrip("=")
    text = fmt.replace("{b}", token).replace("{u}", token)
    assert (kind.value, token) in found(text), text


def test_unmarked_unpadded_base64_is_not_decoded() -> None:
    """Decided: without padding or a marker, base64 is not looked into (documented limit)."""
    encoded = base64.b64encode(b"mail jane.doe@example.com").decode()  # 25 bytes -> one '='
    assert found(f"x {encoded} y") == {("EMAIL_ADDRESS", encoded)}
    unpadded = base64.b64encode(b"mail jane@example.com").decode()  # 21 bytes: no padding
    assert not unpadded.endswith("=")
    assert found(f"x {unpadded} y") == set()


def test_twelve_digit_numbers_need_a_card_word() -> None:
    """Maestro's 12-digit numbers are as common as serial numbers: found only after a card word
    (a Luhn-valid serial in the own corpus, seed 4242, was reported as a card)."""
    assert luhn_ok("699220139819")
    assert found("serial 6992 2013 9819.") == set()
    assert ("CREDIT_CARD", "6992 2013 9819") in found("Maestro card 6992 2013 9819.")
