"""Detection passes of the built-in scanner (private; see :mod:`.scanner` for the public API).

Speed comes from how CPython's regex engine searches: a pattern that starts with a *single literal*
is located with a fast scan of the string, a pattern that starts with a character class is tried at
every position where that class matches. So:

* each secret, e-mail and IPv6 pass starts with a literal (``_``, ``-``, ``A``, ``eyJ``, ``@``,
  ``:``...) and checks "not inside a longer token" with a fixed-width look-behind *after* it;
* all digit-based types (IBAN, IPv4, payment card, SSN, phone) share **one** pass whose first
  element is ``[+(0-9]``, followed by one alternative per type, so the text is walked once;
* quantifiers are bounded or possessive and no quantified group contains an unbounded quantifier,
  so every pass runs in linear time, whatever the input;
* candidates are then confirmed in Python by the validators (Luhn, mod 97, SSA rules, ranges, E.164
  and NANP structure, JWT header).

A pass appends hits ``(start, end, rank, confidence)``; overlaps are resolved by the scanner.
"""

from __future__ import annotations

import re

from airflow_ai_governance.boundary import validators as v
from airflow_ai_governance.boundary._rank import CELL_SEP, RANK, Hit
from airflow_ai_governance.boundary.normalize import normalize
from airflow_ai_governance.boundary.types import EntityType

_R_SECRET = RANK[EntityType.SECRET]
_R_IBAN = RANK[EntityType.IBAN_CODE]
_R_CARD = RANK[EntityType.CREDIT_CARD]
_R_EMAIL = RANK[EntityType.EMAIL_ADDRESS]
_R_SSN = RANK[EntityType.US_SSN]
_R_IP = RANK[EntityType.IP_ADDRESS]
_R_PHONE = RANK[EntityType.PHONE_NUMBER]

DIGIT_RE = re.compile(r"[0-9]")


def _window_before(text: str, start: int, size: int, *, clause: bool = False) -> str:
    """Lower-cased context before ``start``: at most ``size`` chars, never crossing a cell separator
    (nor, with ``clause``, the end of the previous sentence or line)."""
    window = text[max(0, start - size) : start]
    cut = window.rfind(CELL_SEP)
    if clause:
        cut = max(cut, window.rfind("\n"), window.rfind(". "), window.rfind(";"))
    if cut >= 0:
        window = window[cut + 1 :]
    return window.lower()


# =========================================================================================== e-mail

_EMAIL_AT_RE = re.compile(r"@([^\W_][\w\-]*+(?:\.[\w\-]++)++)")
_LOCAL_REV_RE = re.compile(r"[\w.%+\-]{1,65}")  # the local part, matched on the reversed text
# File extensions that are not top-level domains: "icon@2x.png" is an asset name, not an address.
_NOT_TLDS = frozenset(
    "png jpg jpeg gif svg webp bmp ico tif tiff heic css scss js mjs cjs ts tsx jsx json yml yaml "
    "toml ini cfg conf lock txt log csv tsv xml html htm pdf docx xlsx pptx exe dll bin iso tar gz "
    "tgz bz2 xz rar cpp hpp java class jar php pyc whl egg ipynb sql db bak tmp swp md5 sha256".split()
)


def _domain_ok(domain: str) -> bool:
    if len(domain) > 253 or "_" in domain:
        return False
    labels = domain.split(".")
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
    tld = labels[-1]
    if tld.startswith("xn--"):
        return len(tld) > 4 and tld.isascii() and tld[4:].replace("-", "").isalnum()
    return len(tld) >= 2 and tld.isalpha() and tld.lower() not in _NOT_TLDS


def email_pass(text: str, out: list[Hit]) -> None:
    if "@" not in text:
        return
    for m in _EMAIL_AT_RE.finditer(text):
        at = m.start()
        local = _LOCAL_REV_RE.match(text[max(0, at - 65) : at][::-1])
        if local is None or local.end() > 64:
            continue
        start = at - local.end()
        if text.endswith("://", 0, start):
            continue  # the user part of a URL (https://key@host), not an address
        if text[start] == "." or text[at - 1] == "." or ".." in text[start:at]:
            continue
        if _domain_ok(m.group(1)):
            out.append((start, m.end(), _R_EMAIL, 0.95))


# ============================================================================================= IPv6

_IPV6_HINT_RE = re.compile(r":(?::|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:)")  # "::" or three colons
_IPV6_RE = re.compile(
    r"(?<![\w:.%])"  # not inside a word, a longer address or a zone id
    r"[0-9A-Fa-f:]{2,45}+"
    r"(?:\.[0-9]{1,3}){0,3}+"  # embedded IPv4 tail (::ffff:192.0.2.1)
    r"(?:/[0-9]{1,3}+)?"  # prefix length
)
_HEX_COLON_TAIL_RE = re.compile(r"[0-9A-Fa-f:]{1,40}\Z")  # how far an address extends to the left


def ipv6_pass(text: str, out: list[Hit]) -> None:
    if ":" not in text:
        return
    pos = 0
    search = _IPV6_HINT_RE.search
    while (hint := search(text, pos)) is not None:
        pos = hint.end()
        start = hint.start()
        back = _HEX_COLON_TAIL_RE.search(text, max(0, start - 40), start)
        if back is not None:
            start = back.start()
        m = _IPV6_RE.match(text, start)
        if m is None:
            continue
        pos = max(pos, m.end())
        address, _, prefix = m.group().partition("/")
        if not v.is_valid_ipv6(address):
            continue
        end = m.end()
        if prefix and int(prefix) > 128:
            end = start + len(address)
        if end < len(text) and (text[end].isalnum() or text[end] in "_:"):
            continue
        out.append((start, end, _R_IP, 0.9))


# ========================================================================================== numeric

# A character right before a number that makes it the tail of a longer token.
_B = r"[A-Za-z0-9_.,+\-/#$€£¥%*=&@]"
# The same for phone numbers ('.' allowed: "Tel.030 ...", but not a digit followed by '.' or ',').
_PB = r"[A-Za-z0-9_+\-/#$€£¥%*=&@]"

_NUMERIC_RE = re.compile(
    r"[+(0-9]"  # the one character class the engine scans for
    r"(?<![0-9][+(0-9])"  # inside a run of digits nothing can start: one cheap check prunes it
    r"(?:"
    # IBAN: this is the first check digit, after a two-letter country code that starts a token
    r"(?<=[A-Za-z]{2}[0-9])(?<![A-Za-z0-9_][A-Za-z]{2}[0-9])(?P<iban>[0-9](?:[ \-]?[A-Za-z0-9]){11,34}+)"
    # every other type: not right after a letter or '_'
    r"|(?<![A-Za-z_][+(0-9])(?:"
    # IPv4: dotted quad, not part of a longer dotted number
    r"(?<=[0-9])(?<!\.[0-9])"
    r"(?P<ip>[0-9]{0,2}+\.[0-9]{1,3}+\.[0-9]{1,3}+\.[0-9]{1,3}+(?:/[0-9][0-9]?)?)(?![A-Za-z0-9_]|\.[0-9])"
    # payment card and SSN: not the tail of an amount, a path, a reference, ...
    r"|(?<=[0-9])(?<![.,+\-/#$€£¥%*=&@][0-9])(?:"
    # payment card: 4-4-4-4(-3) with one consistent separator, or 4-6-4 / 4-6-5 (Diners, Amex)
    r"(?P<card>(?>[0-9]{3}(?:(?P<s>[ \-.]?)[0-9]{4}(?P=s)[0-9]{4}(?:(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{1,3})?)?"
    r"|(?P<t>[ \-]?)[0-9]{6}(?P=t)[0-9]{4,5})))(?![A-Za-z0-9_]|[.,\-/][0-9])"
    # US SSN: 3-2-4 with one consistent separator, or 9 bare digits (confirmed by context)
    r"|(?P<ssn>[0-9]{2}(?:(?P<u>[ \-.])[0-9]{2}(?P=u)[0-9]{4}|[0-9]{6}))(?![A-Za-z0-9_]|[.,\-/:][0-9])"
    r")"
    # phone candidate: a run of digits and separators with at least 7 digits, parsed in Python
    r"|(?<![+\-/#$€£¥%*=&@][+(0-9])(?<![0-9][.,][+(0-9])"
    r"(?![0-9]{3}-[0-9]{2}-[0-9]{2}(?![0-9]|[\-./][0-9])|[0-9]?[./][0-9]{1,2}[./][0-9]{2,4}(?![0-9]|[\-./][0-9]))"
    r"(?=(?:[ \-.()/\u00a0]{0,3}[0-9]){6})"
    r"(?P<phone>[0-9 \-.()/\u00a0]{5,26}+)"
    r"))",
    re.ASCII,
)
_PHONE_RE = re.compile(  # the phone alternative alone, for candidates another type rejected
    r"[+(0-9](?<!" + _PB + r"[+(0-9])(?<![0-9][.,][+(0-9])"
    r"(?=(?:[ \-.()/\u00a0]{0,3}[0-9]){6})[0-9 \-.()/\u00a0]{5,26}+",
    re.ASCII,
)
_NON_DIGITS = str.maketrans("", "", " -.()/\u00a0")


def _iban_end(text: str, start: int, stop: int) -> int | None:
    """End offset of a valid IBAN starting at ``start`` (looking at most up to ``stop``).

    Accepts the electronic form (no separators) and the print form (groups of four separated by
    one space or one hyphen, consistently); the country's IBAN length decides where it ends.
    """
    head = text[start:stop]
    if not head[:2].isupper():
        if not head[:2].islower() or head.upper() != head.swapcase():
            return None  # lower case is accepted when the whole IBAN is lower case, not mixed
        head = head.upper()
    expected = v.IBAN_LENGTHS.get(head[:2])
    if expected is None:
        return None
    sep = head[4:5]
    if sep in (" ", "-"):
        head = head.split("-" if sep == " " else " ", 1)[0]  # one separator throughout
        total = 0
        end = start
        for part in head.split(sep):
            if len(part) > 4 or not part:
                return None
            total += len(part)
            end += len(part)
            if total >= expected:
                break
            if len(part) != 4:
                return None
            end += 1
        if total != expected:
            return None
        electronic = head[: end - start].replace(sep, "")
    else:
        end = start + expected
        electronic = head[:expected]
        if len(electronic) != expected or " " in electronic or "-" in electronic:
            return None
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return None  # the IBAN would end inside a longer token
    # the pattern guarantees the shape (two letters, two digits, upper-case alphanumerics)
    return end if v.iban_checksum_ok(electronic) else None


_SSN_CONTEXT = ("ssn", "social security", "soc  sec", "soc sec", "ss#", "ss #", "ss no", "taxpayer")
_VERSION_WORDS = frozenset(
    {"version", "release", "build", "firmware", "ver", "rev", "v", "versión", "versione"}
)
_LAST_WORD_RE = re.compile(r"(\w+)[^\w\x00]{0,4}\Z")  # the word right before (same cell)


def _ipv4_end(text: str, start: int, candidate: str) -> int | None:
    address, _, prefix = candidate.partition("/")
    for octet in address.split("."):  # the pattern guarantees four groups of 1-3 ASCII digits
        if (octet[0] == "0" and len(octet) > 1) or int(octet) > 255:
            return None
    word = _LAST_WORD_RE.search(text, max(0, start - 16), start)
    if word is not None and word.group(1).lower().rpartition("_")[2] in _VERSION_WORDS:
        return None  # "version 1.2.3.4" is a version, not an address
    if prefix and int(prefix) > 32:
        return start + len(address)
    return start + len(candidate)


def numeric_pass(text: str, out: list[Hit], active: frozenset[EntityType]) -> None:
    want_iban = EntityType.IBAN_CODE in active
    want_ip = EntityType.IP_ADDRESS in active
    want_card = EntityType.CREDIT_CARD in active
    want_ssn = EntityType.US_SSN in active
    want_phone = EntityType.PHONE_NUMBER in active
    search = _NUMERIC_RE.search
    pos = 0
    phone_end = 0  # end of the last phone number found: a phone starting inside it cannot win
    while (m := search(text, pos)) is not None:
        start = m.start()
        pos = m.end()
        kind = m.lastgroup
        if kind == "phone":
            if want_phone and start >= phone_end:
                phone_end = _phone_at(text, start, m.group(), out) or phone_end
            # Whether or not it was a phone number, something of higher priority (a card, an IP)
            # may start inside the run: scan on after its opening bracket ("(515-50-8646)"
            # is an SSN in brackets), else after its first digit group.
            pos = start + 1 if text[start] == "(" else _FIRST_GROUP_RE.match(text, start).end()  # type: ignore[union-attr]
            continue
        if kind == "iban":
            if want_iban:
                end = _iban_end(text, start - 2, pos)
                if end is not None:
                    out.append((start - 2, end, _R_IBAN, 1.0))
            continue  # an IBAN-shaped token is one token, valid or not
        if kind == "ip":
            if want_ip:
                end = _ipv4_end(text, start, m.group())
                if end is not None:
                    out.append((start, end, _R_IP, 0.9))
                    continue
        elif kind == "card":
            if want_card:
                digits = m.group().translate(_NON_DIGITS)
                if v.is_valid_card(digits) and len(digits) > 12:
                    out.append((start, pos, _R_CARD, 0.99))
                    continue
                # 12 digits (Maestro's shortest) are as common as serial numbers: only with a card word
                if v.luhn_ok(digits) and len(set(digits)) > 1 and _has_context(text, start, _CARD_WORDS):
                    # a Luhn-valid number the text calls a card, outside the IIN table
                    out.append((start, pos, _R_CARD, 0.8))
                    continue
        elif kind == "ssn" and want_ssn:
            hit = _ssn_hit(text, start, m.group(), m.group("u") is None)
            if hit is not None:
                out.append(hit)
                continue
        # The candidate did not validate: it may still start a phone number. Where the scan goes
        # on does not depend on the requested types, so a subset scan equals the filtered full scan.
        if want_phone and start >= phone_end:
            pm = _PHONE_RE.match(text, start)
            if pm is not None:
                phone_end = _phone_at(text, start, pm.group(), out) or phone_end


_FIRST_GROUP_RE = re.compile(r"[+(]*[0-9]*")


_ABBREVIATION_RE = re.compile(r"(?<![^\W\d_])(soc|sec|no|nr|num|tel)\. ")


def _ssn_context(text: str, start: int) -> bool:
    """An SSN keyword before ``start`` in the same clause ("Soc. Sec. No." is one phrase)."""
    window = _window_before(text, start, 40)
    if ". " in window:
        window = _ABBREVIATION_RE.sub(r"\1  ", window)
    cut = max(window.rfind("\n"), window.rfind(". "), window.rfind(";"))
    if cut >= 0:
        window = window[cut + 1 :]
    return any(word in window for word in _SSN_CONTEXT)


def _ssn_hit(text: str, start: int, candidate: str, bare: bool) -> Hit | None:
    end = start + len(candidate)
    if bare:  # 9 bare digits: only with an SSN keyword right before, in the same clause
        if not _ssn_context(text, start):
            return None
        digits, confidence = candidate, 0.7
    else:
        digits, confidence = candidate.translate(_NON_DIGITS), 0.85
        if candidate[3] == " " and text[end : end + 1] == " " and text[end + 1 : end + 2].isdigit():
            return None  # "200 01 0001 00": the first groups of a longer spaced number
    if v.is_valid_ssn(digits):
        if not bare and not _ssn_context(text, start) and _has_contact_context(text, start, end):
            return None  # "call me at 200 01 0001": the words around it say phone number
        return (start, end, _R_SSN, confidence)
    if v.ssn_shape_ok(digits) and (bare or _ssn_context(text, start)):
        # The text says it is an SSN: a sample number (078-05-1120) or an ITIN-like 9xx area is
        # still reported as one, never as the phone number it could also be read as.
        return (start, end, _R_SSN, 0.75)
    return None


_WORD_RE = re.compile(r"[^\W\d_]+")
_CARD_WORDS = frozenset(
    "card cards cc credit debit visa mastercard amex maestro jcb diners discover pan karte "
    "kreditkarte carte tarjeta carta kaart cartão".split()
)


def _has_context(text: str, start: int, words: frozenset[str], size: int = 40) -> bool:
    """Whether one of ``words`` occurs as a word before ``start``, in the same clause and cell."""
    window = _window_before(text, start, size, clause=True)
    return not words.isdisjoint(_WORD_RE.findall(window))


# ------------------------------------------------------------------------------------------- phone

_PHONE_TRIM = " -./(\u00a0"
_PHONE_EXT_RE = re.compile(r" ?(?:x|ext\.?|extension) ?[0-9]{1,5}(?![0-9A-Za-z_])", re.IGNORECASE)
_PHONE_CONTEXT = (
    "phone", "tel", "mobile", "mobil", "cell", "fax", "call", "sms", "whatsapp", "contact", "dial",
    "handy", "portable", "telefon", "téléphone", "teléfono", "telefono", "móvil", "ring me",
    "reach me", "text me",
)  # fmt: skip


def _phone_at(text: str, start: int, candidate: str, out: list[Hit]) -> int:
    """Validate the phone candidate found at ``start``; append a hit and return its end (else 0)."""
    candidate = candidate.rstrip(_PHONE_TRIM)
    if candidate.endswith(")") and candidate.count("(") < candidate.count(")"):
        candidate = candidate[:-1].rstrip(_PHONE_TRIM)
    result = _phone_match(text, start, candidate)
    if result is None and candidate.startswith("("):
        result = _phone_match(text, start + 1, candidate[1:])
        if result is not None:
            start += 1  # "(651-329-0456)": the parentheses wrap the whole number
    if result is None or result[0] < len(candidate):
        # In contact context ("call me at", "Phone:", "... fax") a number is judged by its shape.
        shaped = _contact_shape(text, start, candidate)
        if shaped is not None and (result is None or shaped[0] > result[0]):
            result = shaped
    if result is None:
        return 0
    size = len(text)
    end = start + result[0]
    if end < size:
        nxt = text[end]
        if nxt.isalnum() or nxt == "_":
            ext = _PHONE_EXT_RE.match(text, end)
            if ext is None:
                return 0  # runs on into a word: "415-555-0132abc"
            end = ext.end()
        elif nxt in "-./," and end + 1 < size and text[end + 1].isdigit():
            return 0  # glued to another number: "415-555-0132-99"
        else:
            ext = _PHONE_EXT_RE.match(text, end)
            if ext is not None:
                end = ext.end()
    out.append((start, end, _R_PHONE, result[1]))
    return end


_GROUP_RE = re.compile(r"[0-9]+")


def _phone_groups(candidate: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Digit groups as (start, end) offsets, and the separator text before each group."""
    groups = [m.span() for m in _GROUP_RE.finditer(candidate)]
    seps: list[str] = []
    prev = 0
    for a, b in groups:
        seps.append(candidate[prev:a])
        prev = b
    return groups, seps


def _sep_kind(sep: str) -> str | None:
    """Normalised separator between two groups: '', '-', '.', '/', '(' or ')'; None if not allowed."""
    if len(sep) > 3:
        return None
    core = sep.replace(" ", "").replace("\u00a0", "")
    if core == ".":
        return "." if sep == "." else None  # ". " ends a sentence
    if core in ("", "-", "/"):
        return core
    if core in ("(", "-("):
        return "("
    if core in (")", ")-", ")/"):
        return ")"
    return None


def _all_seps(chars: str, size: int) -> list[str]:
    out = [""]
    for _ in range(size):
        out = [prefix + ch for prefix in out for ch in chars]
    return out


_SEP_KIND: dict[str, str | None] = {
    sep: _sep_kind(sep) for size in (1, 2, 3) for sep in _all_seps(" -./()\u00a0", size)
}


def _prefix_flags(lead: str, seps: list[str]) -> list[bool]:
    """``flags[k]``: the first ``k + 1`` groups use allowed, consistent separators and balanced
    parentheses ("01.02.2024 10" mixes '.' and ' ': a date and a time, not a phone number)."""
    depth = 1 if "(" in lead else 0
    flags = [depth == 0]
    kinds: set[str] = set()
    broken = False
    for sep in seps[1:]:
        if not broken:
            kind = _SEP_KIND.get(sep)
            if kind is None:
                broken = True
            elif kind == "(":
                depth += 1
            elif kind == ")":
                depth -= 1
            elif kind:
                kinds.add(kind)
            if depth < 0 or depth > 1 or (len(kinds) > 1 and ("." in kinds or "/" in kinds)):
                broken = True
        flags.append(not broken and depth == 0)
    return flags


def _looks_like_date(digits: list[str]) -> bool:
    if len(digits) < 3:
        return False
    a, b, c = digits[0], digits[1], digits[2]
    sizes = (len(a), len(b), len(c))
    if sizes == (2, 2, 4):
        return 1 <= int(a) <= 31 and 1 <= int(b) <= 31 and 1900 <= int(c) <= 2099
    if sizes == (4, 2, 2):
        return 1900 <= int(a) <= 2099 and 1 <= int(b) <= 12 and 1 <= int(c) <= 31
    return False


# North American numbers in their usual national forms: (415) 555-0132, 415-555-0132, 415.555.0132,
# 415 555 0132, 1-415-555-0132, 1 (415) 555-0132. Separators between NXX and XXXX are ' ', '-' or '.'.
_NANP_RE = re.compile(
    r"(?:1[ \-.]?)?\((?P<a>[2-9][0-9]{2})\)[ ]?(?P<b>[2-9][0-9]{2})[ \-.]?(?P<c>[0-9]{4})"
    r"|(?:1(?P<s0>[ \-.]))?(?P<d>[2-9][0-9]{2})(?P<s1>[ \-.])(?P<e>[2-9][0-9]{2})(?P=s1)(?P<f>[0-9]{4})",
    re.ASCII,
)
_BRAZIL_RE = re.compile(r"\([1-9]{2}\) ?[0-9]{4,5}-[0-9]{4}", re.ASCII)
_BARE_RE = re.compile(r"1?[2-9][0-9]{9}", re.ASCII)


def _phone_match(text: str, start: int, candidate: str) -> tuple[int, float] | None:
    """(length, confidence) of the longest valid phone number at the start of ``candidate``."""
    first = candidate[0]
    if first == "+" or candidate.startswith(("00", "(00", "(+")):
        groups, seps = _phone_groups(candidate)
        if not groups:
            return None
        return _international(groups[:8], seps, [candidate[a:b] for a, b in groups[:8]])
    if first == "0" or candidate.startswith("(0"):
        groups, seps = _phone_groups(candidate)
        digits = [candidate[a:b] for a, b in groups[:8]]
        if _looks_like_date(digits):
            return None
        return _trunk_national(text, start, groups[:8], seps, digits)
    # Starts with 1-9 or "(1-9": only NANP, Brazilian or bare 10-digit (with a phone keyword) forms.
    m = _NANP_RE.match(candidate)
    if m is not None:
        if m.group("a") or m.group("s0"):
            # "(793) 754-1882", "1-594-727-3957": written as a phone number, whatever the area code
            return m.end(), 0.85
        if v.is_valid_nanp("".join(m.group("d", "e", "f"))):  # type: ignore[arg-type]
            return m.end(), 0.85
    m = _BRAZIL_RE.match(candidate)
    if m is not None:
        return m.end(), 0.75
    m = _BARE_RE.fullmatch(candidate)
    if m is not None:
        bare = candidate[-10:]
        if v.is_valid_nanp(bare) and _has_phone_context(text, start):
            return m.end(), 0.7
    return None


def _international(
    groups: list[tuple[int, int]], seps: list[str], digits: list[str]
) -> tuple[int, float] | None:
    lead = seps[0]
    if lead not in ("+", "+(", "", "("):
        return None
    first = 0
    head = digits[0] if lead.startswith("+") else digits[0][2:]
    if not head:  # "00 44 20 ..."
        if len(digits) < 2 or _SEP_KIND.get(seps[1], "?") not in ("", "-", "."):
            return None
        first, head = 1, digits[1]
    cc = v.phone_country_code(head)
    if cc is None:
        return None
    nsn = head[len(cc) :]
    if nsn and len(nsn) < 2 and len(digits) > first + 1:
        return None  # "+4 420 ..." is not how a country code is written
    nxt = first + 1
    if nxt < len(digits) and digits[nxt] == "0" and "(" in seps[nxt]:
        nxt += 1  # "+44 (0)20 ...": the bracketed national trunk prefix
    flags = _prefix_flags(lead, seps)
    best: int | None = None
    if nsn and flags[first] and v.nsn_length_ok(cc, nsn):
        best = groups[first][1]
    for k in range(nxt, len(digits)):
        nsn += digits[k]
        if len(cc) + len(nsn) > 15:
            break
        if flags[k] and v.nsn_length_ok(cc, nsn):
            best = groups[k][1]
    return None if best is None else (best, 0.9)


def _trunk_national(
    text: str, start: int, groups: list[tuple[int, int]], seps: list[str], digits: list[str]
) -> tuple[int, float] | None:
    """National numbers with a trunk 0 (GB, DE, FR, NL, IT, IN, SE, ...): 0 + area + subscriber."""
    n = len(digits)
    lead = seps[0]
    if lead not in ("", "(") or len(digits[0]) < 2 or digits[0][1] == "0":
        return None
    if n == 1:
        if 10 <= len(digits[0]) <= 11 and lead == "" and _has_phone_context(text, start):
            return groups[0][1], 0.7
        return None
    if len(digits[0]) > 5:
        return None
    flags = _prefix_flags(lead, seps)
    best: int | None = None
    total = len(digits[0])
    for k in range(1, n):
        if len(digits[k]) < 2:
            break
        total += len(digits[k])
        if total > 12:
            break
        if total >= 9 and flags[k]:
            best = groups[k][1]
    return None if best is None else (best, 0.75)


def _has_phone_context(text: str, start: int) -> bool:
    window = _window_before(text, start, 24, clause=True)
    return any(word in window for word in _PHONE_CONTEXT)


# Words that make the text around a number read like contact details.
_CONTACT_WORDS = (*_PHONE_CONTEXT, "reach", "messag", "answer", "hotline", "landline", "helpline",
                  "switchboard", "tél")  # fmt: skip


def _trie_pattern(words: tuple[str, ...]) -> str:
    """One regex alternative per first character, recursively: CPython's engine then rejects a
    position with one set test instead of trying every word (5-10x faster on short windows)."""
    heads: dict[str, list[str]] = {}
    for word in words:
        if word:
            heads.setdefault(word[0], []).append(word[1:])
    alternatives = []
    for head, tails in sorted(heads.items()):
        rest = _trie_pattern(tuple(tails))
        optional = "" in tails
        if rest:
            alternatives.append(re.escape(head) + (f"(?:{rest})?" if optional else f"(?:{rest})"))
        else:
            alternatives.append(re.escape(head))
    return "|".join(alternatives)


_CONTACT_WORD_RE = re.compile(f"(?:{_trie_pattern(_CONTACT_WORDS)})")  # on lower-cased text
_CONTACT_AFTER_RE = re.compile(
    r"[ \-,(/:]{0,3}(?:office|fax|mobile|cell|home|work|phone|tel|desk|direct|landline|mobil|handy)\b",
    re.IGNORECASE,
)


def _has_contact_context(text: str, start: int, end: int) -> bool:
    """A contact word before the number (same clause; a label line such as "Phone:" right above
    counts) or a line label right after it ("-Office", " fax", " (mobile)")."""
    if _CONTACT_AFTER_RE.match(text, end, min(len(text), end + 16)):
        return True
    return _contact_before(text, start)


def _contact_before(text: str, start: int) -> bool:
    lo = base = max(0, start - 40)
    window = text[lo:start].lower()
    if _CONTACT_WORD_RE.search(window) is None:
        return False  # the common case
    lo = max(lo, text.rfind(CELL_SEP, lo, start) + 1)
    line = text.rfind("\n", lo, start)
    if line >= 0 and not text[line + 1 : start].strip():
        start = line  # the number starts its line: look at the line above ("Phone:\n...")
        line = text.rfind("\n", lo, start)
    lo = max(lo, line + 1, text.rfind(";", lo, start) + 1, text.rfind("? ", lo, start) + 1)
    stop = text.rfind(". ", lo, start)
    if stop >= 0:
        if text[max(lo, stop - 3) : stop].lower() in ("tel", "tél"):  # "Tel. 030 ..."
            return True
        lo = stop + 1
    for m in _CONTACT_WORD_RE.finditer(window, lo - base, start - base):
        i = m.start()
        if i == 0 or not window[i - 1].isalnum():  # at the start of a word: not "Petrocelli"
            return True
    return False


_DATE_START_RE = re.compile(  # 2024-03-15, 15.03.2024, 3/15/24 (a quick reject before the context)
    r"(?:(?:19|20)[0-9]{2}[\-./](?:0?[1-9]|1[0-2])[\-./](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])[\-./](?:0?[1-9]|[12][0-9]|3[01])[\-./](?:19|20)?[0-9]{2})"
    r"(?![0-9]|[\-./][0-9])"
)


def _contact_shape(text: str, start: int, candidate: str) -> tuple[int, float] | None:
    """(length, confidence) of a number shaped like a phone number, in contact context only.

    Shape: digit groups of 2-5 digits (the first may have 1-5, after ``+`` a country code),
    separated by one space, ``-``, ``.`` or parentheses, consistently (``.`` and ``/`` are not
    mixed with others), 7-15 digits in all; a single group needs 8-12 digits. Dates are refused.
    """
    if len(candidate.translate(_NON_DIGITS)) < 7 or _DATE_START_RE.match(candidate):
        return None
    stop = start + len(candidate)
    before = _contact_before(text, start)
    if not before and _CONTACT_AFTER_RE.match(text, stop, min(len(text), stop + 16)) is None:
        return None  # no contact word around: the common case, decided before parsing the groups
    groups, seps = _phone_groups(candidate)
    if not groups or seps[0] not in ("", "(", "+", "+("):
        return None
    digits = [candidate[a:b] for a, b in groups[:8]]
    if _looks_like_date(digits) or (len(digits) == 4 and seps[1:4] == [".", ".", "."]):
        return None  # a date, or four dotted groups (an IP-like string, a version)
    if len(digits[0]) > 5 and len(digits) > 1 and len(digits[0]) + len(digits[1]) > 8:
        return None
    flags = _prefix_flags(seps[0], seps)
    best: int | None = None
    total = 0
    for k, group in enumerate(digits):
        if k and len(group) < 2:
            break
        total += len(group)
        if total > 15:
            break
        low = 8 if k == 0 else 7
        if total >= low and flags[k] and (k or total <= 12):
            best = k
    if best is None:
        return None
    end = groups[best][1]
    if not before and not _CONTACT_AFTER_RE.match(text, start + end, min(len(text), start + end + 16)):
        return None
    return end, 0.7


# ========================================================================================== secrets

_TB = r"[A-Za-z0-9_\-]"  # a token character


def _token_regex(anchor: str, specs: list[tuple[str, str, int, str]]) -> re.Pattern[str]:
    """One regex per anchor literal; each alternative checks its prefix with look-behinds.

    ``specs`` are ``(name, prefix before the anchor, prefix width, rest after the anchor)``.
    """
    esc = re.escape(anchor)
    alternatives = []
    for name, prefix, width, rest in specs:
        behind = f"(?<={prefix}{esc})" if prefix else ""
        boundary = f"(?<!{_TB}.{{{width}}}{esc})"
        alternatives.append(f"{behind}{boundary}(?P<{name}>{rest})")
    return re.compile(f"{esc}(?:{'|'.join(alternatives)})(?!{_TB})")


_TOKEN_PASSES: tuple[tuple[str | None, re.Pattern[str], dict[str, int]], ...] = tuple(
    # (substring that must occur for the pass to run, if cheaper to test first; regex; prefix widths)
    (anchor if len(anchor) > 1 else None, _token_regex(anchor, specs), {n: w for n, _p, w, _r in specs})
    for anchor, specs in (
        ("_", [
            ("github", "gh[pousr]", 3, r"[A-Za-z0-9]{36}"),
            ("github_pat", "github", 6, r"pat_[A-Za-z0-9_]{82}"),
            ("stripe", "[sr]k", 2, r"(?:live|test)_[A-Za-z0-9]{16,247}+"),
            ("npm", "npm", 3, r"[A-Za-z0-9]{36}"),
            ("huggingface", "hf", 2, r"[A-Za-z0-9]{34}"),
        ]),
        ("-", [
            ("gitlab", "glpat", 5, r"[A-Za-z0-9_\-]{20}"),
            ("slack", "xox[abposr]", 4, r"[A-Za-z0-9\-]{10,250}+"),
            ("sk", "sk", 2, r"[A-Za-z0-9_\-]{20,250}+"),  # OpenAI, Anthropic, ...
            ("pypi", "pypi", 4, r"AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,300}+"),
        ]),
        ("A", [
            ("aws", "", 0, r"(?:KIA|SIA|BIA|CCA)[A-Z2-7]{16}"),
            ("google", "", 0, r"Iza[0-9A-Za-z_\-]{35}"),
        ]),
        ("eyJ", [
            ("jwt", "", 0, r"[A-Za-z0-9_\-]{8,4096}+\.eyJ[A-Za-z0-9_\-]{8,8192}+\.[A-Za-z0-9_\-]{16,2048}+"),
        ]),
        ("SG.", [("sendgrid", "", 0, r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}")]),
    )
)  # fmt: skip

_PEM_BEGIN_RE = re.compile(r"-----BEGIN (?P<label>(?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?)-----")
_PEM_MAX_BODY = 16384
# The body of a block whose END line is missing (truncated, pasted in part): base64 lines of at
# least 16 characters (after optional "Proc-Type:"-style headers), or one long run on the same line.
_PEM_OPEN_BODY_RE = re.compile(
    r"(?:\r?\n[A-Za-z][A-Za-z\-]{2,30}: [^\n\x00]{1,200}+){0,4}+"
    r"(?:(?:\r?\n[ \t]*[A-Za-z0-9+/=]{16,128}+(?=[ \t]*(?:\r?\n|\Z)))++|[ \t][A-Za-z0-9+/=]{40,16384}+)"
)
_HOOK_RE = re.compile(  # incoming-webhook URLs: whoever has the URL can post to the channel
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_\-]{6,64}/[A-Za-z0-9_/\-]{8,256}+"
    r"|discord(?:app)?\.com/api/webhooks/[0-9]{6,24}/[A-Za-z0-9_\-]{20,128}+"
)
_SCHEME_BEFORE_RE = re.compile(r"(?:https?://)?(?:www\.)?\Z")
_BEARER_RE = re.compile(r"Bearer[ \t]+(?P<tok>[A-Za-z0-9._~+/\-]{16,4096}+=*)(?![A-Za-z0-9._~+/=\-])")
_URL_CRED_RE = re.compile(r"://[^\s\x00:/@?#\[\]]{0,256}+:(?P<pw>[^\s\x00/@]{1,256}+)@(?=[\w\[])")

#: Keys whose value is a secret in ``key = value`` / ``key: value`` / ``"key": "value"`` forms; a key
#: may carry a prefix (``DB_PASSWORD``, ``userPassword``, ``client_secret``).
_KV_KEYS = (
    "password", "passwd", "passphrase", "pwd", "secret", "secret_key", "secret_access_key", "api_key",
    "api-key", "apikey", "private_key", "access_token", "auth_token", "token", "access_key",
    "signing_key", "encryption_key", "master_key", "client_secret",
)  # fmt: skip
_KV_RES = tuple(
    re.compile(
        # the separator, right after a key's last letter (d e t y n) and at most two quote/space chars
        f"{sep}(?:(?<=[detynDETYN]{sep})|(?<=[detynDETYN][\"' \t]{sep})|(?<=[detynDETYN][\"' \t]{{2}}{sep}))"
        r"[ \t]*(?:(?P<q>[\"'])(?P<qval>[^\s\x00\"']{6,256}+)|(?P<val>[^\s\x00\"';,&<>{}()\[\]]{6,256}+))"
    )
    for sep in ("=", ":")
)
_PLACEHOLDERS = frozenset(
    "password passwd secret changeme example redacted hidden masked none null undefined your_password "
    "yourpassword mypassword placeholder xxxxxx".split()
)


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _looks_secret(value: str, min_classes: int) -> bool:
    """Not a placeholder, and at least ``min_classes`` of: lower case, upper case, digit, symbol."""
    if value[0] in "$%{<*!#&" or value.lower() in _PLACEHOLDERS:
        return False
    if len(set(value)) <= 2:  # "******", "xxxxxxxx"
        return False
    classes = (
        (value != value.upper())  # has a lower-case letter
        + (value != value.lower())  # has an upper-case letter
        + (value.translate(_NO_DIGITS) != value)  # has a digit
        + (not value.isalnum())  # has a symbol
    )
    return classes >= min_classes


def secret_pass(text: str, out: list[Hit]) -> None:
    for hint, pattern, widths in _TOKEN_PASSES:
        if hint is not None and hint not in text:
            continue
        for m in pattern.finditer(text):
            name = m.lastgroup or ""
            start = m.start() - widths[name]
            token = text[start : m.end()]
            if name == "jwt":
                if v.is_valid_jwt(token):
                    out.append((start, m.end(), _R_SECRET, 0.95))
            elif name != "sk" or _looks_secret(token[3:], 3):
                out.append((start, m.end(), _R_SECRET, 0.99))
    if "-----BEGIN " in text:
        _pem(text, out)
    if "hooks.slack.com/" in text or "/api/webhooks/" in text:
        for m in _HOOK_RE.finditer(text):
            scheme = _SCHEME_BEFORE_RE.search(text, max(0, m.start() - 12), m.start())
            start = scheme.start() if scheme is not None else m.start()
            out.append((start, m.end(), _R_SECRET, 0.99))
    if "Bearer" in text:
        for m in _BEARER_RE.finditer(text):
            if _looks_secret(m.group("tok"), 2):
                out.append((m.start("tok"), m.end("tok"), _R_SECRET, 0.85))
    if "://" in text:
        for m in _URL_CRED_RE.finditer(text):
            if _looks_secret(m.group("pw"), 1):
                out.append((m.start("pw"), m.end("pw"), _R_SECRET, 0.9))
    if "=" in text or ":" in text:
        _key_values(text, out)


def _key_values(text: str, out: list[Hit]) -> None:
    size = len(text)
    for pattern in _KV_RES:
        for m in pattern.finditer(text):
            i = m.start()
            key = text[max(0, i - 24) : i].rstrip(" \t\"'").lower()
            if key.endswith(_KV_KEYS):
                _key_value(text, m, size, out)


def _key_value(text: str, m: re.Match[str], size: int, out: list[Hit]) -> None:
    group = "qval" if m.group("q") else "val"
    start, end = m.start(group), m.end(group)
    value = m.group(group)
    quote = m.group("q")
    if quote:
        if end >= size or text[end] != quote:
            return  # an opening quote that does not close: not a simple assignment
    elif value[-1] == "." and (end == size or text[end].isspace()):
        value = value[:-1]  # sentence punctuation after the value
        end -= 1
    if len(value) >= 6 and _looks_secret(value, 2):
        out.append((start, end, _R_SECRET, 0.8))


def _pem(text: str, out: list[Hit]) -> None:
    next_end = -1  # the next "-----END " at or after the current header
    exhausted = False  # searched: there is no END marker further on
    for m in _PEM_BEGIN_RE.finditer(text):
        if not exhausted and next_end < m.end():
            next_end = text.find("-----END ", m.end())
            exhausted = next_end < 0
        if not exhausted and next_end - m.end() <= _PEM_MAX_BODY:
            footer = f"-----END {m.group('label')}-----"
            body = text[m.end() : next_end]
            if text.startswith(footer, next_end) and CELL_SEP not in body and "-----" not in body:
                out.append((m.start(), next_end + len(footer), _R_SECRET, 1.0))
                continue
        # No matching END line: the key is still a key. Report the header and the body that follows.
        body_m = _PEM_OPEN_BODY_RE.match(text, m.end())
        if body_m is not None:
            out.append((m.start(), body_m.end(), _R_SECRET, 0.95))


# ========================================================================================== base64

# Base64 is looked into only where it says so: a token that ends with '=' padding, or one that
# follows a "base64," / "base64:" marker (data URIs, MIME parts, "…_b64" fields). Unpadded, unmarked
# base64 is not decoded: any long alphanumeric token (ids, hashes, keys) would have to be, at a cost
# on every text and with random hits in what it decodes to.
_B64_PAD_RE = re.compile(r"=(?<=[A-Za-z0-9+/_\-]{16}=)=?(?![A-Za-z0-9+/=_\-])")
_B64_MARK_RE = re.compile(r"64[,:][ \t]?(?P<tok>[A-Za-z0-9+/_\-]{16,8192}+=*)")  # after "base64" / "b64"
_B64_REV_RE = re.compile(r"[A-Za-z0-9+/_\-]{16,8192}")  # the token, matched on the reversed text
_B64_MAX = 8192


def _decode_b64(token: str) -> str | None:
    """The token's text if it decodes (standard or URL-safe alphabet) to printable UTF-8."""
    import base64
    import binascii

    if len(token) % 4:
        token += "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(token.replace("-", "+").replace("_", "/"), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in decoded)
    return decoded if decoded and printable >= 0.95 * len(decoded) else None


def base64_pass(text: str, out: list[Hit], active: frozenset[EntityType]) -> None:
    """A finding over the whole encoded token, of the type found in what it decodes to."""
    tokens: list[tuple[int, int]] = []
    if "=" in text:
        for m in _B64_PAD_RE.finditer(text):
            body = _B64_REV_RE.match(text[max(0, m.start() - _B64_MAX) : m.start()][::-1])  # bounded
            if body is not None:
                tokens.append((m.start() - body.end(), m.end()))
    if "64" in text and ("ase64" in text or "b64" in text or "B64" in text):
        for m in _B64_MARK_RE.finditer(text):
            at = m.start()
            if text[at - 4 : at].lower() == "base" or text[at - 1 : at] in ("b", "B"):
                tokens.append(m.span("tok"))
    seen: set[tuple[int, int]] = set()
    for start, end in tokens:
        if (start, end) in seen or (start > 0 and (text[start - 1].isalnum() or text[start - 1] in "+/")):
            continue
        seen.add((start, end))
        decoded = _decode_b64(text[start:end].rstrip("="))
        if decoded is None:
            continue
        inner = _run_passes(normalize(decoded)[0], active, nested=True)
        for rank in sorted({h[2] for h in inner}):
            confidence = max(h[3] for h in inner if h[2] == rank)
            out.append((start, end, rank, round(confidence * 0.9, 4)))


# =========================================================================================== driver

_NUMERIC = frozenset(
    {
        EntityType.IBAN_CODE,
        EntityType.IP_ADDRESS,
        EntityType.CREDIT_CARD,
        EntityType.US_SSN,
        EntityType.PHONE_NUMBER,
    }
)


def run_passes(text: str, active: frozenset[EntityType]) -> list[Hit]:
    """All hits of the active types in ``text`` (overlaps not yet resolved).

    The passes run on the normalised text (:mod:`.normalize`); hits are mapped back to offsets
    into ``text``.
    """
    norm, offsets = normalize(text)
    hits = _run_passes(norm, active)
    if offsets is not None and hits:
        start, end = offsets.start, offsets.end
        return [(start(s), end(e), r, c) for s, e, r, c in hits]
    return hits


def _run_passes(text: str, active: frozenset[EntityType], *, nested: bool = False) -> list[Hit]:
    hits: list[Hit] = []
    if EntityType.SECRET in active:
        secret_pass(text, hits)
    if EntityType.EMAIL_ADDRESS in active:
        email_pass(text, hits)
    if not active.isdisjoint(_NUMERIC) and DIGIT_RE.search(text) is not None:
        numeric_pass(text, hits, active)
    if EntityType.IP_ADDRESS in active:
        ipv6_pass(text, hits)
    if not nested and ("=" in text or "ase64" in text or "b64" in text or "B64" in text):
        base64_pass(text, hits, active)
    return hits
