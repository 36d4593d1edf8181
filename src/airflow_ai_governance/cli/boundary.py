"""``aigov boundary scan FILE.jsonl``: stream JSON lines through the data-boundary scanner.

Input: one JSON object per line with an ``id`` and a text field (``--field``, default ``text``);
blank lines are skipped. Output: one line per scanned input line, in input order::

    {"id": <same id>, "findings": [{"type": "EMAIL_ADDRESS", "start": 12, "end": 29}, ...]}

with ``start``/``end`` offsets (code points) into the text. Memory use is constant (one line at a
time). Exit codes: 0 every line was scanned; 1 some lines were bad and skipped (each reported on
stderr with its line number); 2 usage error (missing file, unknown type, backend not installed) or,
with ``--strict``, the first bad line, where the scan stops.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from typing import IO, Any

from airflow_ai_governance.boundary import EntityType, ScannerBase, parse_types

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")

EXIT_OK = 0
EXIT_BAD_LINES = 1
EXIT_USAGE = 2
_PROGRESS_EVERY_S = 0.25

__all__ = ["make_scanner", "register", "run_scan"]


class BadLine(ValueError):
    """A line that cannot be scanned; the message says why (never the line's content)."""


def register(subparsers: Any) -> None:
    """Add ``boundary scan`` to the ``aigov`` parser."""
    boundary = subparsers.add_parser(
        "boundary",
        help="data boundary: scan data for PII and secrets",
        description="Data-boundary tools: find PII and secrets in data before it reaches an AI task.",
    )
    actions = boundary.add_subparsers(dest="boundary_command", metavar="ACTION", required=True)
    scan = actions.add_parser(
        "scan",
        help="scan a JSON-lines file and write the findings per line",
        description=(
            "Scan FILE.jsonl (one JSON object per line with an `id` and a text field) and write one "
            'JSON line per input line: {"id": ..., "findings": [{"type", "start", "end"}, ...]}. '
            "Exit 0 when every line was scanned, 1 when bad lines were skipped, 2 on usage errors "
            "or, with --strict, at the first bad line."
        ),
        epilog=f"Entity types: {', '.join(t.value for t in EntityType)}. "
        "Put --types after FILE (or end the list with --), e.g. "
        "`aigov boundary scan data.jsonl --types EMAIL_ADDRESS,SECRET`.",
    )
    scan.add_argument("file", metavar="FILE.jsonl", help="input file, or - for stdin")
    scan.add_argument("--field", default="text", help="name of the text field (default: text)")
    scan.add_argument(
        "--types",
        nargs="+",
        metavar="TYPE",
        default=None,
        help="entity types to scan for, space- or comma-separated (default: all)",
    )
    scan.add_argument("--strict", action="store_true", help="stop with exit code 2 at the first bad line")
    scan.add_argument("--output", "-o", default="-", metavar="FILE", help="output file (default: stdout)")
    scan.add_argument(
        "--backend",
        choices=("builtin", "presidio"),
        default="builtin",
        help="builtin (default, fast) or presidio (needs the `presidio` extra)",
    )
    scan.set_defaults(func=run_scan)


def _error(message: str) -> None:
    print(f"aigov boundary scan: {message}", file=sys.stderr)


def _split_types(values: Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part for value in values for part in value.replace(",", " ").split()]


def make_scanner(backend: str, types: Iterable[EntityType | str] | None) -> ScannerBase:
    """The scanner for ``--backend``; ``ImportError`` when the Presidio extra is missing."""
    if backend == "presidio":
        from airflow_ai_governance.boundary.presidio_backend import PresidioScanner

        return PresidioScanner(types)
    from airflow_ai_governance.boundary import Scanner

    return Scanner(types)


def _parse_line(raw: bytes, lineno: int, field: str) -> tuple[Any, str]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"not valid UTF-8 (byte {exc.start})") from None
    if lineno == 1:
        line = line.removeprefix("\ufeff")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadLine("JSON nested too deeply to parse") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise BadLine(f"invalid JSON value ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise BadLine(f"expected a JSON object, got {type(obj).__name__}")
    if "id" not in obj:
        raise BadLine("missing `id`")
    if field not in obj:
        # Field names that read as names (a key holding data, e.g. an e-mail, is never echoed).
        texts = [k for k, v in obj.items() if k != "id" and isinstance(v, str) and _FIELD_NAME.fullmatch(k)]
        hint = f" (its text fields: {', '.join(texts)}; choose one with --field {texts[0]})" if texts else ""
        raise BadLine(f"missing the text field {field!r}{hint}")
    text = obj[field]
    if not isinstance(text, str):
        raise BadLine(f"field {field!r} must be a string, got {type(text).__name__}")
    return obj["id"], text


def _dump(record: dict[str, Any]) -> str:
    """One output line; an ``id`` that UTF-8 cannot encode (a lone surrogate) is written escaped."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record, ensure_ascii=True)
    return line


class _Progress:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self.last = self.started
        self.lines = 0
        self.bytes = 0

    def update(self, size: int) -> None:
        self.lines += 1
        self.bytes += size
        if self.enabled and self.lines % 256 == 0:
            now = time.monotonic()
            if now - self.last >= _PROGRESS_EVERY_S:
                self.last = now
                self._show(now)

    def _show(self, now: float) -> None:
        mb = self.bytes / 1e6
        rate = mb / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.lines:,} lines, {mb:,.1f} MB, {rate:,.1f} MB/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.lines:
            self._show(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False


def run_scan(args: argparse.Namespace) -> int:
    """Handler of ``aigov boundary scan``; returns the exit code."""
    try:
        types = parse_types(_split_types(args.types)) if args.types is not None else None
    except ValueError as exc:
        _error(f"error: --types: {exc}")
        return EXIT_USAGE
    if types is not None and not types:
        _error("error: --types: give at least one entity type")
        return EXIT_USAGE
    try:
        scanner = make_scanner(args.backend, types)
    except ImportError as exc:
        _error(f"error: {exc}")
        return EXIT_USAGE

    name = "<stdin>" if args.file == "-" else args.file
    with ExitStack() as stack:
        try:
            source: IO[bytes] = (
                sys.stdin.buffer if args.file == "-" else stack.enter_context(open(args.file, "rb"))
            )
        except OSError as exc:
            _error(f"error: cannot read {name}: {exc.strerror or exc}")
            return EXIT_USAGE
        try:
            sink: IO[str] = (
                sys.stdout
                if args.output == "-"
                else stack.enter_context(open(args.output, "w", encoding="utf-8", newline="\n"))
            )
        except OSError as exc:
            _error(f"error: cannot write {args.output}: {exc.strerror or exc}")
            return EXIT_USAGE
        return _scan_stream(source, sink, scanner, args.field, name, strict=args.strict)


def _scan_stream(
    source: IO[bytes], sink: IO[str], scanner: ScannerBase, field: str, name: str, *, strict: bool
) -> int:
    progress = _Progress(sys.stderr)
    bad = 0
    try:
        for lineno, raw in enumerate(source, start=1):
            progress.update(len(raw))
            if not raw.strip():
                continue
            try:
                ident, text = _parse_line(raw, lineno, field)
                found = scanner.scan_text(text)
                out = _dump(
                    {
                        "id": ident,
                        "findings": [{"type": f.type.value, "start": f.start, "end": f.end} for f in found],
                    }
                )
            except MemoryError:
                raise
            except Exception as exc:  # one bad record never stops the scan of the rest
                bad += 1
                reason = str(exc) if isinstance(exc, BadLine) else f"cannot be scanned ({type(exc).__name__})"
                if strict:
                    progress.close()
                    _error(f"error: {name}:{lineno}: {reason}; stopping (--strict)")
                    return EXIT_USAGE
                _error(f"{name}:{lineno}: {reason}; line skipped")
                continue
            sink.write(out)
            sink.write("\n")
    finally:
        progress.close()
        sink.flush()
    if bad:
        _error(f"{bad} bad line{'s' if bad != 1 else ''} skipped in {name}")
        return EXIT_BAD_LINES
    return EXIT_OK
