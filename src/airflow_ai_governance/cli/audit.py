"""``aigov audit verify|export``: check the hash chain, stream events as JSON lines or CSV."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

from airflow_ai_governance.cli import EXIT_CHECK_FAILED, EXIT_OK
from airflow_ai_governance.cli._common import add_json_flag, emit_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="verify and export the hash-chained audit log")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    verify = actions.add_parser(
        "verify", help="check the whole chain; exit 1 naming the first bad event after any tampering"
    )
    add_json_flag(verify)
    verify.set_defaults(func=verify_command)

    export = actions.add_parser("export", help="stream audit events in chain order")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format")
    export.add_argument("--use-case", metavar="ID", help="only events of this use case")
    export.add_argument(
        "--since", type=_timestamp, metavar="ISO", help="events at or after (UTC if no offset)"
    )
    export.add_argument("--until", type=_timestamp, metavar="ISO", help="events before (UTC if no offset)")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(func=export_command)


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def verify_command(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from airflow_ai_governance.store import get_engine, verify_chain

    result = verify_chain(get_engine(args.db_url))
    if args.json:
        emit_json(asdict(result))
    elif result.ok:
        print(
            f"audit chain OK: {result.checked} events verified; head seq {result.head_seq} {result.head_hash}"
        )
    else:
        print(
            f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}. "
            f"The {result.checked} events before it verify."
        )
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


@contextmanager
def _open_output(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            yield handle


def export_command(args: argparse.Namespace) -> int:
    from airflow_ai_governance.store import export_events, get_engine, session_scope
    from airflow_ai_governance.store.registry import get_use_case

    if args.use_case:
        with session_scope(args.db_url, readonly=True) as session:
            get_use_case(session, args.use_case)  # an unknown id is an error, not "exported 0"
    events = export_events(
        get_engine(args.db_url), use_case_id=args.use_case, since=args.since, until=args.until
    )
    with _open_output(args.output) as out:
        count = _write_lines(events, out, args.format)
    print(f"exported {count} audit events", file=sys.stderr)
    return EXIT_OK


def _write_lines(events: Iterable[dict[str, Any]], out: IO[str], fmt: str) -> int:
    from airflow_ai_governance.store.audit import export_lines

    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for count, event in enumerate(events, 1):  # noqa: B007 - the count is the result
            yield event

    for line in export_lines(counted(), fmt):
        out.write(line)
    return count
