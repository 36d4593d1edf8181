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
from airflow_ai_governance.boundary.types import EntityType

Hit = tuple[int, int, int, float]

#: Overlap priority (lower wins).
RANK: dict[EntityType, int] = {
    EntityType.SECRET: 0,
    EntityType.IBAN_CODE: 1,
    EntityType.CREDIT_CARD: 2,
    EntityType.EMAIL_ADDRESS: 3,
    EntityType.US_SSN: 4,
    EntityType.IP_ADDRESS: 5,
    EntityType.PHONE_NUMBER: 6,
}
TYPE_BY_RANK: tuple[EntityType, ...] = tuple(sorted(RANK, key=RANK.__getitem__))

_R_SECRET = RANK[EntityType.SECRET]
_R_IBAN = RANK[EntityType.IBAN_CODE]
_R_CARD = RANK[EntityType.CREDIT_CARD]
_R_EMAIL = RANK[EntityType.EMAIL_ADDRESS]
_R_SSN = RANK[EntityType.US_SSN]
_R_IP = RANK[EntityType.IP_ADDRESS]
_R_PHONE = RANK[EntityType.PHONE_NUMBER]

CELL_SEP = "\x00"  # joins DataFrame cells; no pattern can match across it
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
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")


def ipv6_pass(text: str, out: list[Hit]) -> None:
    if ":" not in text:
        return
    pos = 0
    search = _IPV6_HINT_RE.search
    while (hint := search(text, pos)) is not None:
        pos = hint.end()
        start = hint.start()
        low = max(0, start - 40)
        while start > low and text[start - 1] in _HEX_COLON:
            start -= 1
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
    r"(?<=[A-Z]{2}[0-9])(?<![A-Za-z0-9_][A-Z]{2}[0-9])(?P<iban>[0-9](?:[ \-]?[A-Z0-9]){11,34}+)"
    # IPv4: dotted quad, not part of a longer dotted number or word
    r"|(?<=[0-9])(?<![A-Za-z0-9_.][0-9])"
    r"(?P<ip>[0-9]{0,2}+\.[0-9]{1,3}+\.[0-9]{1,3}+\.[0-9]{1,3}+(?:/[0-9][0-9]?)?)(?![A-Za-z0-9_]|\.[0-9])"
    # payment card: 4-4-4-4(-3) with one consistent separator, or 4-6-4 / 4-6-5 (Diners, Amex)
    r"|(?<=[0-9])(?<!" + _B + r"[0-9])"
    r"(?P<card>[0-9]{3}(?:(?P<s>[ \-]?)[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{1,3})?"
    r"|(?P<t>[ \-]?)[0-9]{6}(?P=t)[0-9]{4,5}))(?![A-Za-z0-9_]|[.,\-/][0-9])"
    # US SSN: 3-2-4 with one consistent separator, or 9 bare digits (confirmed by context)
    r"|(?<=[0-9])(?<!" + _B + r"[0-9])"
    r"(?P<ssn>[0-9]{2}(?:(?P<u>[ \-])[0-9]{2}(?P=u)[0-9]{4}|[0-9]{6}))(?![A-Za-z0-9_]|[.,\-/:][0-9])"
    # phone candidate: a run of digits and separators, parsed in Python
    r"|(?<!" + _PB + r"[+(0-9])(?<![0-9][.,][+(0-9])"
    r"(?![0-9]{3}-[0-9]{2}-[0-9]{2}(?![0-9]|[\-./][0-9])|[0-9]?[./][0-9]{1,2}[./][0-9]{2,4}(?![0-9]|[\-./][0-9]))"
    r"(?P<phone>[0-9 \-.()/\u00a0]{5,26}+)"
    r")",
    re.ASCII,
)
_PHONE_RE = re.compile(
    r"[+(0-9](?<!" + _PB + r"[+(0-9])(?<![0-9][.,][+(0-9])[0-9 \-.()/\u00a0]{5,26}+", re.ASCII
)
_NON_DIGITS = str.maketrans("", "", " -.()/\u00a0")


def _iban_end(text: str, start: int, stop: int) -> int | None:
    """End offset of a valid IBAN starting at ``start`` (looking at most up to ``stop``).

    Accepts the electronic form (no separators) and the print form (groups of four separated by
    one space or one hyphen, consistently); the country's IBAN length decides where it ends.
    """
    expected = v.IBAN_LENGTHS.get(text[start : start + 2])
    if expected is None:
        return None
    head = text[start:stop]
    sep = head[4:5]
    if sep in (" ", "-"):
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
    return end if v.is_valid_iban(electronic) else None


_SSN_CONTEXT = ("ssn", "social security", "soc. sec", "soc sec", "ss#", "ss #", "ss no", "taxpayer")
_VERSION_WORDS = frozenset({"version", "release", "build", "firmware", "ver", "rev", "v", "versión", "versione"})
_LAST_WORD_RE = re.compile(r"(\w+)\W{0,3}\Z")


def _ipv4_end(text: str, start: int, candidate: str) -> int | None:
    address, _, prefix = candidate.partition("/")
    if not v.is_valid_ipv4(address):
        return None
    word = _LAST_WORD_RE.search(_window_before(text, start, 16))
    if word is not None and word.group(1) in _VERSION_WORDS:
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
    while (m := search(text, pos)) is not None:
        start = m.start()
        pos = m.end()
        kind = m.lastgroup
        if kind == "phone":
            if want_phone:
                pos = _phone_at(text, start, m.group(), out, pos)
            continue
        if kind == "iban":
            if want_iban:
                end = _iban_end(text, start - 2, pos)
                if end is not None:
                    out.append((start - 2, end, _R_IBAN, 1.0))
            continue  # nothing else can start right after two letters
        if kind == "ip":
            if want_ip:
                end = _ipv4_end(text, start, m.group())
                if end is not None:
                    out.append((start, end, _R_IP, 0.9))
                    continue
        elif kind == "card":
            if want_card and v.is_valid_card(m.group().translate(_NON_DIGITS)):
                out.append((start, pos, _R_CARD, 0.99))
                continue
        elif kind == "ssn":
            if want_ssn:
                hit = _ssn_hit(text, start, m.group(), m.group("u") is None)
                if hit is not None:
                    out.append(hit)
                    continue
        # The candidate did not validate: it may still start a phone number.
        if want_phone:
            pm = _PHONE_RE.match(text, start)
            if pm is not None:
                pos = max(pos, _phone_at(text, start, pm.group(), out, pm.end()))


def _ssn_hit(text: str, start: int, candidate: str, bare: bool) -> Hit | None:
    if bare:  # 9 bare digits: only with an SSN keyword right before, in the same clause
        window = _window_before(text, start, 40, clause=True)
        if not any(word in window for word in _SSN_CONTEXT):
            return None
        digits, confidence = candidate, 0.7
    else:
        digits, confidence = candidate.translate(_NON_DIGITS), 0.85
    if not v.is_valid_ssn(digits):
        return None
    return (start, start + len(candidate), _R_SSN, confidence)


# ------------------------------------------------------------------------------------------- phone

_PHONE_TRIM = " -./(\u00a0"
_PHONE_EXT_RE = re.compile(r" ?(?:x|ext\.?|extension) ?[0-9]{1,5}(?![0-9A-Za-z_])", re.IGNORECASE)
_PHONE_CONTEXT = (
    "phone", "tel", "mobile", "mobil", "cell", "fax", "call", "sms", "whatsapp", "contact", "dial",
    "handy", "portable", "telefon", "téléphone", "teléfono", "telefono", "móvil", "ring me",
    "reach me", "text me",
)  # fmt: skip


def _phone_at(text: str, start: int, candidate: str, out: list[Hit], resume: int) -> int:
    """Validate the phone candidate found at ``start``; append a hit; return where to resume."""
    candidate = candidate.rstrip(_PHONE_TRIM)
    if candidate.endswith(")") and candidate.count("(") < candidate.count(")"):
        candidate = candidate[:-1].rstrip(_PHONE_TRIM)
    if len(candidate) - len(candidate.translate(_DIGITS_ONLY)) < 7:
        return resume  # fewer than 7 digits: never a phone number
    result = _phone_match(text, start, candidate)
    if result is None and candidate.startswith("("):
        start += 1  # "(651-329-0456)": the parentheses wrap the whole number
        result = _phone_match(text, start, candidate[1:])
    if result is None:
        return resume
    size = len(text)
    end = start + result[0]
    if end < size:
        nxt = text[end]
        if nxt.isalnum() or nxt == "_":
            ext = _PHONE_EXT_RE.match(text, end)
            if ext is None:
                return resume  # runs on into a word: "415-555-0132abc"
            end = ext.end()
        elif nxt in "-./," and end + 1 < size and text[end + 1].isdigit():
            return resume  # glued to another number: "415-555-0132-99"
        else:
            ext = _PHONE_EXT_RE.match(text, end)
            if ext is not None:
                end = ext.end()
    out.append((start, end, _R_PHONE, result[1]))
    return end


_DIGITS_ONLY = str.maketrans("", "", "0123456789")


def _phone_groups(candidate: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Digit groups as (start, end) offsets, and the separator text before each group."""
    groups: list[tuple[int, int]] = []
    seps: list[str] = []
    i, n = 0, len(candidate)
    while i < n:
        j = i
        while j < n and not candidate[j].isdigit():
            j += 1
        if j == n:
            break
        k = j
        while k < n and candidate[k].isdigit():
            k += 1
        groups.append((j, k))
        seps.append(candidate[i:j])
        i = k
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


def _prefix_ok(lead: str, seps: list[str], count: int) -> bool:
    """The first ``count`` groups use consistent separators and balanced parentheses."""
    depth = 1 if "(" in lead else 0
    kinds: set[str] = set()
    for sep in seps[1:count]:
        kind = _sep_kind(sep)
        if kind is None:
            return False
        if kind == "(":
            depth += 1
        elif kind == ")":
            depth -= 1
        elif kind:
            kinds.add(kind)
        if depth < 0 or depth > 1:
            return False
    if depth:
        return False
    # "01.02.2024 10" is a date and a time; "030/123.45" is not a phone number either
    return not (len(kinds) > 1 and ("." in kinds or "/" in kinds))


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


def _phone_match(text: str, start: int, candidate: str) -> tuple[int, float] | None:
    """(length, confidence) of the longest valid phone number at the start of ``candidate``."""
    groups, seps = _phone_groups(candidate)
    if not groups:
        return None
    digits = [candidate[a:b] for a, b in groups[:8]]
    groups = groups[:8]
    lead = seps[0]
    if lead.startswith("+") or (lead in ("", "(") and digits[0].startswith("00")):
        return _international(groups, seps, digits)
    if lead not in ("", "(") or _looks_like_date(digits):
        return None
    return _national(text, start, groups, seps, digits)


def _international(groups: list[tuple[int, int]], seps: list[str], digits: list[str]) -> tuple[int, float] | None:
    lead = seps[0]
    if lead not in ("+", "+(", "", "("):
        return None
    first = 0
    head = digits[0] if lead.startswith("+") else digits[0][2:]
    if not head:  # "00 44 20 ..."
        if len(digits) < 2 or _sep_kind(seps[1]) not in ("", "-", "."):
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
    best: int | None = None
    if nsn and v.nsn_length_ok(cc, nsn) and _prefix_ok(lead, seps, first + 1):
        best = groups[first][1]
    for k in range(nxt, len(digits)):
        nsn += digits[k]
        if len(cc) + len(nsn) > 15:
            break
        if v.nsn_length_ok(cc, nsn) and _prefix_ok(lead, seps, k + 1):
            best = groups[k][1]
    return None if best is None else (best, 0.9)


def _national(
    text: str, start: int, groups: list[tuple[int, int]], seps: list[str], digits: list[str]
) -> tuple[int, float] | None:
    n = len(digits)
    lead = seps[0]
    # NANP: [1] NPA NXX XXXX (NPA possibly in parentheses)
    k0 = 1 if digits[0] == "1" and n >= 4 and "(" not in lead else 0
    if n - k0 >= 3 and [len(d) for d in digits[k0 : k0 + 3]] == [3, 3, 4]:
        if v.is_valid_nanp("".join(digits[k0 : k0 + 3])) and _prefix_ok(lead, seps, k0 + 3):
            return groups[k0 + 2][1], 0.85
    if n == 1 and len(digits[0]) in (10, 11) and digits[0][0] != "0":
        bare = digits[0][1:] if len(digits[0]) == 11 and digits[0][0] == "1" else digits[0]
        if v.is_valid_nanp(bare) and _has_phone_context(text, start):
            return groups[0][1], 0.7
    # Brazil: (11) 91234-5678
    if n >= 3 and lead == "(" and len(digits[0]) == 2 and "0" not in digits[0]:
        if len(digits[1]) in (4, 5) and len(digits[2]) == 4 and _prefix_ok(lead, seps, 3):
            return groups[2][1], 0.75
    # Trunk-prefixed national numbers (GB, DE, FR, NL, IT, IN, SE, ...): 0 + area + subscriber.
    if digits[0][0] == "0" and len(digits[0]) > 1 and digits[0][1] != "0":
        if n == 1:
            if 10 <= len(digits[0]) <= 11 and lead == "" and _has_phone_context(text, start):
                return groups[0][1], 0.7
            return None
        if len(digits[0]) > 5:
            return None
        best: int | None = None
        total = len(digits[0])
        for k in range(1, n):
            if len(digits[k]) < 2:
                break
            total += len(digits[k])
            if total > 12:
                break
            if total >= 9 and _prefix_ok(lead, seps, k + 1):
                best = groups[k][1]
        if best is not None:
            return best, 0.75
    return None


def _has_phone_context(text: str, start: int) -> bool:
    window = _window_before(text, start, 24, clause=True)
    return any(word in window for word in _PHONE_CONTEXT)


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


_TOKEN_PASSES: tuple[tuple[re.Pattern[str], dict[str, int]], ...] = tuple(
    (_token_regex(anchor, specs), {name: width for name, _p, width, _r in specs})
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
_URL_CRED_RE = re.compile(r"://[^\s:/@?#\[\]]{0,256}+:(?P<pw>[^\s/@]{1,256}+)@(?=[\w\[])")

_KV_TAIL = r"[\"']?[ \t]*[:=][ \t]*(?P<q>[\"']?)(?P<val>[^\s\"';,&<>{}()\[\]]{6,256}+)"
# (hint that must occur in the lower-cased text, pattern run on the lower-cased text)
_KV_PASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pass", re.compile(r"pass(?:word|wd|phrase)" + _KV_TAIL)),
    ("pwd", re.compile(r"pwd" + _KV_TAIL)),
    ("secret", re.compile(r"secret(?:_key|_access_key)?" + _KV_TAIL)),
    ("key", re.compile(r"key(?:(?<=api_key)|(?<=api-key)|(?<=apikey)|(?<=private_key))" + _KV_TAIL)),
    ("token", re.compile(r"token(?:(?<=access_token)|(?<=auth_token))" + _KV_TAIL)),
)
_PLACEHOLDERS = frozenset(
    "password passwd secret changeme example redacted hidden masked none null undefined your_password "
    "yourpassword mypassword placeholder xxxxxx".split()
)


def _looks_secret(value: str, min_classes: int) -> bool:
    if value[0] in "$%{<*!#&" or value.lower() in _PLACEHOLDERS:
        return False
    if len(set(value)) <= 2:  # "******", "xxxxxxxx"
        return False
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
    return classes >= min_classes


def secret_pass(text: str, out: list[Hit]) -> None:
    for pattern, widths in _TOKEN_PASSES:
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
    if "://" in text:
        for m in _URL_CRED_RE.finditer(text):
            if _looks_secret(m.group("pw"), 1):
                out.append((m.start("pw"), m.end("pw"), _R_SECRET, 0.9))
    if "=" in text or ":" in text:
        _key_values(text, out)


def _key_values(text: str, out: list[Hit]) -> None:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters change length when lower-cased
        lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    size = len(text)
    for hint, pattern in _KV_PASSES:
        if hint not in lowered:
            continue
        for m in pattern.finditer(lowered):
            start, end = m.start("val"), m.end("val")
            value = text[start:end]
            quote = m.group("q")
            if quote:
                if end >= size or text[end] != quote:
                    continue  # an opening quote that does not close: not a simple assignment
            elif value[-1] == "." and (end == size or text[end].isspace()):
                value = value[:-1]  # sentence punctuation after the value
                end -= 1
            if len(value) >= 6 and _looks_secret(value, 2):
                out.append((start, end, _R_SECRET, 0.8))


def _pem(text: str, out: list[Hit]) -> None:
    next_end = -1
    for m in _PEM_BEGIN_RE.finditer(text):
        if next_end < m.end():
            next_end = text.find("-----END ", m.end())
            if next_end < 0:
                return  # no END marker after this point: no complete block anywhere further
        if next_end - m.end() > _PEM_MAX_BODY:
            continue
        footer = f"-----END {m.group('label')}-----"
        if not text.startswith(footer, next_end):
            continue
        body = text[m.end() : next_end]
        if CELL_SEP in body or "-----" in body:
            continue
        out.append((m.start(), next_end + len(footer), _R_SECRET, 1.0))


# =========================================================================================== driver

_NUMERIC = frozenset(
    {EntityType.IBAN_CODE, EntityType.IP_ADDRESS, EntityType.CREDIT_CARD, EntityType.US_SSN, EntityType.PHONE_NUMBER}
)


def run_passes(text: str, active: frozenset[EntityType]) -> list[Hit]:
    """All hits of the active types in ``text`` (overlaps not yet resolved)."""
    hits: list[Hit] = []
    if EntityType.SECRET in active:
        secret_pass(text, hits)
    if EntityType.EMAIL_ADDRESS in active:
        email_pass(text, hits)
    if not active.isdisjoint(_NUMERIC) and DIGIT_RE.search(text) is not None:
        numeric_pass(text, hits, active)
    if EntityType.IP_ADDRESS in active:
        ipv6_pass(text, hits)
    return hits

