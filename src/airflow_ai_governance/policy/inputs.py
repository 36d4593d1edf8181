"""How approved-input patterns match, and which patterns a policy may use (no file system access).

Path patterns match *resolved* paths (the data-boundary gate resolves ``..`` and symlinks first,
:mod:`airflow_ai_governance.gates.boundary`), segment by segment:

* ``*`` and ``?`` match within one path segment (never across ``/``); ``[abc]`` is a character class;
* ``**`` as a whole segment matches any number of directories (zero included);
* a pattern is absolute (``/data/invoices/*.jsonl``) or starts with ``**/``, which deliberately
  means "under a directory of this name anywhere" (``**/example_data/invoices/*.jsonl``); a pattern
  starting with a bare ``*`` (``*/example_data/...``) is refused, as are relative patterns, ``.`` or
  ``..`` segments, and patterns without a literal directory name (``/**``, ``**/*.csv``).

Asset URIs match the same way (``*`` stays within a segment); a ``file://`` asset's path is a path.
Tables and connections are names: ``fnmatch`` patterns (``finance.*``), case-sensitive.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

_WILDCARDS = frozenset("*?[")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _has_wildcard(segment: str) -> bool:
    return any(c in _WILDCARDS for c in segment)


def path_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an approved path pattern (``None``: it can)."""
    if pattern.startswith("*") and not pattern.startswith("**/"):
        return (
            f"path pattern {pattern!r} starts with '*', which matches any directory: write the absolute "
            "directory, or '**/' + a directory name to approve that directory anywhere (docs/policy.md)"
        )
    if not pattern.startswith(("/", "**/")):
        return f"path pattern {pattern!r} must be absolute (/data/...) or start with '**/'"
    segments = pattern.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        return f"path pattern {pattern!r} contains '.' or '..': paths are matched after resolving them"
    if any("**" in s and s != "**" for s in segments):
        return f"path pattern {pattern!r}: '**' must be a whole path segment ('/**/'), not part of a name"
    if "" in segments[:-1]:
        return f"path pattern {pattern!r} contains an empty segment ('//')"
    if not any(s and not _has_wildcard(s) for s in segments[:-1]):
        return (
            f"path pattern {pattern!r} names no directory (a segment without wildcards), so it "
            "approves files anywhere: name the directory"
        )
    return None


def asset_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an approved asset URI pattern (``None``: it can)."""
    if not _URI.match(pattern) or _has_wildcard(pattern.split("://", 1)[0]):
        return f"asset pattern {pattern!r} must start with a literal scheme, e.g. s3:// or file://"
    parts = urlsplit(pattern)
    if parts.scheme.lower() == "file":
        if parts.netloc:
            return f"asset pattern {pattern!r}: a file:// URI names a local path (file:///dir/...), no host"
        return path_pattern_problem(unquote(parts.path))
    if any(s in (".", "..") for s in unquote(parts.path).split("/")):
        return f"asset pattern {pattern!r} contains '.' or '..' segments"
    return None


@lru_cache(maxsize=1024)
def _segment_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:[^/]+/)*")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == n:
            out.append("(?:/[^/]+)+")
            i += 3
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                body = "^" + body[1:] if body.startswith("!") else body
                out.append(f"(?!/)[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def match_path(pattern: str, path: str) -> bool:
    """Whether the resolved absolute ``path`` matches the path ``pattern`` (segment semantics)."""
    if not path.startswith("/") or "\x00" in path:
        return False
    if any(s in (".", "..") for s in path.split("/")):
        return False  # not resolved: never matches
    if pattern.startswith("**/"):
        return bool(_segment_regex(pattern).match(path, 1))
    return bool(_segment_regex(pattern).match(path))


def match_asset(pattern: str, uri: str) -> bool:
    """Whether the asset ``uri`` (a ``file://`` one resolved) matches ``pattern``."""
    want, have = urlsplit(pattern), urlsplit(uri)
    if want.scheme.lower() != have.scheme.lower():
        return False
    if any(s in (".", "..") for s in unquote(have.path).split("/")):
        return False
    if want.scheme.lower() == "file":
        return not have.netloc and match_path(unquote(want.path), unquote(have.path))
    return bool(_segment_regex(pattern).match(uri))


def match_name(pattern: str, name: str) -> bool:
    """Tables and connection ids: ``fnmatch``, case-sensitive."""
    return fnmatch.fnmatchcase(name, pattern)


def is_literal(pattern: str) -> bool:
    """Whether a pattern has no wildcard (it names exactly one input)."""
    return not _has_wildcard(pattern)
