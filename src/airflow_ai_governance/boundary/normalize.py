"""Text normalisation before detection, with an exact offset map back to the original text.

The detectors are written for ASCII digits, ASCII separators and visible characters. Real text
hides the same values behind Unicode: full-width digits (U+FF10-FF19), no-break and thin spaces,
zero-width characters and soft hyphens inside a number, typographic dashes, tabs. :func:`normalize`
rewrites each such character on its own:

* format characters (Unicode category ``Cf``: zero-width space/joiners, word joiner, BOM, soft
  hyphen, bidi marks) are **removed**;
* tabs and every Unicode space separator (``Zs``: no-break, thin, figure, ideographic spaces)
  become one ASCII space;
* dashes (``Pd``: hyphen, non-breaking hyphen, figure/en/em dash) and the minus sign become ``-``;
* every other character is replaced by its NFKC form when that differs (full-width digits and
  letters, ligatures, superscripts).

Characters are rewritten one at a time, so :class:`OffsetMap` maps every offset in the normalised
text back to the original: a finding's span covers exactly the original characters of the value
(a zero-width character *inside* a value is inside its span; one right before or after it is not).
ASCII text without tabs is returned as it is, with no map (the common, free path).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

__all__ = ["OffsetMap", "normalize"]

# Characters that can never need rewriting: ASCII except TAB, and the Latin-1 letters (NFKC leaves
# them alone). Everything else is looked at (once per distinct character, the answer is cached).
_MAYBE_RE = re.compile("[\t\u00a0-\u00bf\u0100-\U0010ffff]")

_MINUS_SIGNS = frozenset("\u2212\u2796\ufe63\uff0d")


@lru_cache(maxsize=4096)
def _rewrite(ch: str) -> str | None:
    """The replacement of one character, or None when it stays."""
    if ch == "\t":
        return " "
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if category == "Zs":
        return " "
    if category == "Pd" or ch in _MINUS_SIGNS:
        return "-"
    folded = unicodedata.normalize("NFKC", ch)
    if folded == ch:
        return None
    if not folded.strip():
        return " "
    return folded


class OffsetMap:
    """Maps offsets in a normalised text back to the original text.

    ``edits`` are ``(norm_start, norm_len, orig_start, orig_len)`` per rewritten character, in order.
    """

    __slots__ = ("_edits", "_norm_starts")

    def __init__(self, edits: list[tuple[int, int, int, int]]) -> None:
        self._edits = edits
        self._norm_starts = [e[0] for e in edits]

    def start(self, pos: int) -> int:
        """Original offset of a span *start* at ``pos`` (after characters removed right there)."""
        k = bisect.bisect_right(self._norm_starts, pos) - 1
        if k < 0:
            return pos
        n0, nlen, o0, olen = self._edits[k]
        if pos < n0 + nlen:  # inside an expanded character: the whole original character
            return o0
        return o0 + olen + (pos - n0 - nlen)

    def end(self, pos: int) -> int:
        """Original offset of a span *end* at ``pos`` (before characters removed right there)."""
        k = bisect.bisect_left(self._norm_starts, pos) - 1
        if k < 0:
            return pos
        n0, nlen, o0, olen = self._edits[k]
        if pos <= n0 + nlen:  # ends inside or at the end of a rewritten character
            return o0 + olen
        return o0 + olen + (pos - n0 - nlen)


def normalize(text: str) -> tuple[str, OffsetMap | None]:
    """``(normalised text, offset map)``; the map is None when nothing was rewritten."""
    if text.isascii() and "\t" not in text:
        return text, None
    parts: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    last = 0  # end of the copied original text
    shift = 0  # len(normalised so far) - len(original so far)
    for m in _MAYBE_RE.finditer(text):
        i = m.start()
        repl = _rewrite(text[i])
        if repl is None:
            continue
        parts.append(text[last:i])
        parts.append(repl)
        edits.append((i + shift, len(repl), i, 1))
        shift += len(repl) - 1
        last = i + 1
    if not edits:
        return text, None
    parts.append(text[last:])
    normalised = "".join(parts)
    if all(e[1] == 1 for e in edits):  # one character for one everywhere: offsets are the same
        return normalised, None
    return normalised, OffsetMap(edits)
