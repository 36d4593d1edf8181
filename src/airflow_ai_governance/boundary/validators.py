"""Validators that confirm scanner candidates (stdlib only, no regex backtracking on user input).

Each function takes the candidate as found in the text and answers whether it is a real
instance of its format. They are public so that tests and other layers can reuse them.
"""

from __future__ import annotations

__all__ = [
    "IBAN_LENGTHS",
    "PHONE_COUNTRY_CODES",
    "card_brand",
    "iban_checksum_ok",
    "is_valid_card",
    "is_valid_iban",
    "is_valid_ipv4",
    "is_valid_ipv6",
    "is_valid_jwt",
    "is_valid_nanp",
    "is_valid_ssn",
    "luhn_ok",
    "nsn_length_ok",
    "phone_country_code",
    "ssn_shape_ok",
]

# --------------------------------------------------------------------------------------------- cards


_DOUBLE = str.maketrans("0123456789", "0246813579")  # d -> digit sum of 2d


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) checksum of a string of ASCII digits."""
    if not digits.isdigit() or not digits.isascii():
        return False
    mixed = digits[-1::-2] + digits[-2::-2].translate(_DOUBLE)
    return (sum(mixed.encode("ascii")) - 48 * len(mixed)) % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card scheme whose IIN range and length fit ``digits``, else ``None``."""
    n = len(digits)
    if n < 12 or n > 19 or not digits[:6].isdigit():
        return None
    p4 = int(digits[:4])
    p2, p3 = p4 // 100, p4 // 10
    if p2 // 10 == 4:
        return "visa" if n in (13, 16, 19) else None
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return "mastercard" if n == 16 else None
    if p2 in (34, 37):
        return "amex" if n == 15 else None
    if p4 == 6011 or p2 == 65 or 644 <= p3 <= 649 or 622126 <= int(digits[:6]) <= 622925:
        return "discover" if 16 <= n <= 19 else None
    if 3500 <= p4 <= 3599:  # JCB (3528-3589 assigned; generators and test ranges use all of 35xx)
        return "jcb" if 16 <= n <= 19 else None
    if p4 in (2131, 1800):  # JCB's older 15-digit numbers
        return "jcb" if n == 15 else None
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        return "diners" if 14 <= n <= 19 else None
    if p2 == 62:
        return "unionpay" if 16 <= n <= 19 else None
    if p2 in (50, 56, 57, 58, 63, 67, 69):
        return "maestro" if 12 <= n <= 19 else None
    if 2200 <= p4 <= 2204:
        return "mir" if 16 <= n <= 19 else None
    return None


def is_valid_card(digits: str) -> bool:
    """A payment card number: a known IIN range with its length, and a valid Luhn checksum."""
    if card_brand(digits) is None or not luhn_ok(digits):
        return False
    return digits.count(digits[-1]) != len(digits)  # not all the same digit


# ---------------------------------------------------------------------------------------------- IBAN

#: IBAN length per country (SWIFT IBAN registry, plus a few widely used partial adopters).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


_IBAN_LETTERS = {ord(ch): str(ord(ch) - 55) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}  # A -> 10 ... Z -> 35


def is_valid_iban(iban: str) -> bool:
    """An IBAN in electronic form (no spaces): known country, its length, ISO 7064 mod 97-10 == 1."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    if not iban.isascii() or not iban.isalnum() or iban != iban.upper():
        return False
    return iban_checksum_ok(iban)


def iban_checksum_ok(iban: str) -> bool:
    """ISO 7064 mod 97-10 of an upper-case alphanumeric IBAN (check digits 02-98)."""
    if iban[2:4] in ("00", "01", "99"):
        return False
    return int((iban[4:] + iban[:4]).translate(_IBAN_LETTERS)) % 97 == 1


# ----------------------------------------------------------------------------------------------- SSN

_PLACEHOLDER_SSNS = frozenset({"078051120", "219099999", "123456789", "987654320"})


def is_valid_ssn(digits: str) -> bool:
    """A US SSN (9 digits) that the SSA can issue.

    Area 000, 666 and 900-999 are never issued, group 00 and serial 0000 neither; the well-known
    advertising/sample numbers (078-05-1120, 219-09-9999, 123-45-6789) are rejected as well.
    """
    if len(digits) != 9 or not digits.isdigit() or not digits.isascii():
        return False
    area = digits[:3]
    if area in ("000", "666") or area[0] == "9":
        return False
    if digits[3:5] == "00" or digits[5:] == "0000":
        return False
    return digits not in _PLACEHOLDER_SSNS


def ssn_shape_ok(digits: str) -> bool:
    """Nine ASCII digits with no all-zero group: enough when the text itself says "SSN"."""
    if len(digits) != 9 or not digits.isdigit() or not digits.isascii():
        return False
    return digits[:3] != "000" and digits[3:5] != "00" and digits[5:] != "0000"


# ----------------------------------------------------------------------------------------------- IPs


def is_valid_ipv4(candidate: str) -> bool:
    """Dotted-quad IPv4: four decimal octets 0-255 without leading zeros."""
    parts = candidate.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part or len(part) > 3 or not part.isdigit() or not part.isascii():
            return False
        if len(part) > 1 and part[0] == "0":
            return False
        if int(part) > 255:
            return False
    return True


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NO_DIGITS = str.maketrans("", "", "0123456789")


def _hex_groups(part: str) -> int:
    """Number of 16-bit groups in ``part`` (an embedded IPv4 tail counts 2); -1 if malformed."""
    if not part:
        return 0
    count = 0
    groups = part.split(":")
    for i, group in enumerate(groups):
        if "." in group:
            if i != len(groups) - 1 or not is_valid_ipv4(group):
                return -1
            count += 2
        elif 1 <= len(group) <= 4 and _HEX_DIGITS.issuperset(group):
            count += 1
        else:
            return -1
    return count


def is_valid_ipv6(candidate: str) -> bool:
    """A textual IPv6 address (RFC 4291: full, ``::``-compressed or with an embedded IPv4 tail,
    optional zone id).

    Requires at least one decimal digit, which keeps words such as ``dead::beef`` or ``cafe::``
    from being taken for addresses.
    """
    address = candidate.split("%", 1)[0]
    if address.translate(_NO_DIGITS) == address or address.count(":") < 2:
        return False
    head, compressed, tail = address.partition("::")
    if compressed:
        if "::" in tail:
            return False
        left, right = _hex_groups(head), _hex_groups(tail)
        return left >= 0 and right >= 0 and left + right <= 7 and "." not in head
    return _hex_groups(address) == 8


# -------------------------------------------------------------------------------------------- phones

#: ITU-T E.164 country calling codes (assigned, geographic and most non-geographic).
PHONE_COUNTRY_CODES: frozenset[str] = frozenset(
    """
    1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63
    64 65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227
    228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251
    252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351
    352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386
    387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598
    599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 800 808
    850 852 853 855 856 870 878 880 881 882 883 886 888 960 961 962 963 964 965 966 967 968 970 971
    972 973 974 975 976 977 979 992 993 994 995 996 998
    """.split()
)

#: National significant number lengths (min, max) for the calling codes we know well; others use
#: the E.164 bounds (at least 6 digits, at most 15 digits with the country code).
PHONE_NSN_LENGTHS: dict[str, tuple[int, int]] = {
    "1": (10, 10), "7": (10, 10), "20": (8, 10), "27": (9, 9), "30": (10, 10), "31": (9, 9),
    "32": (8, 9), "33": (9, 9), "34": (9, 9), "36": (8, 9), "39": (6, 11), "40": (9, 9),
    "41": (9, 9), "43": (4, 13), "44": (9, 10), "45": (8, 8), "46": (7, 10), "47": (8, 8),
    "48": (9, 9), "49": (6, 13), "52": (10, 10), "54": (10, 11), "55": (10, 11), "61": (9, 9),
    "64": (8, 10), "65": (8, 8), "81": (9, 10), "82": (8, 10), "86": (10, 11), "90": (10, 10),
    "91": (10, 10), "351": (9, 9), "352": (6, 11), "353": (7, 9), "358": (5, 12), "420": (9, 9),
    "972": (8, 9),
}  # fmt: skip


def phone_country_code(digits: str) -> str | None:
    """The E.164 country calling code that ``digits`` (after ``+``/``00``) starts with."""
    for size in (1, 2, 3):
        if digits[:size] in PHONE_COUNTRY_CODES:
            return digits[:size]
    return None


def nsn_length_ok(country_code: str, nsn: str) -> bool:
    """Whether a national significant number has a plausible length for its country code."""
    low, high = PHONE_NSN_LENGTHS.get(country_code, (6, 15 - len(country_code)))
    if not low <= len(nsn) <= high or len(country_code) + len(nsn) > 15:
        return False
    if country_code == "1":
        # "+1" and ten digits is written as a phone number: judged by shape, not by whether the
        # area code or exchange is assigned (only the impossible leading 0/1 are refused)
        return nsn[0] not in "01" and nsn[3] not in "01"
    # Only Italy keeps the leading 0 of landline numbers after the country code.
    return not (nsn[0] == "0" and country_code != "39")


def is_valid_nanp(digits: str) -> bool:
    """A 10-digit North American number: NPA [2-9][0-8]X and not N11, exchange [2-9]XX and not N11."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    npa, nxx = digits[:3], digits[3:6]
    if npa[0] in "01" or npa[1] == "9" or npa[1:] == "11":
        return False
    if nxx[0] in "01" or nxx[1:] == "11":
        return False
    return digits[6:] != "0000" or nxx != "000"


# ----------------------------------------------------------------------------------------------- JWT


def _b64url_json(segment: str) -> object:
    import base64
    import json

    padded = segment + "=" * (-len(segment) % 4)
    raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    return json.loads(raw)


def is_valid_jwt(token: str) -> bool:
    """Three base64url segments whose header decodes to a JSON object with an ``alg`` member."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[2]:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except ValueError:  # binascii.Error, JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)
