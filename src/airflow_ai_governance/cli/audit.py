"""``aigov audit verify|checkpoint|export``: check the keyed chain (against its signed checkpoints
and the registry), sign a checkpoint of its head, stream events as JSON lines or CSV."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

from airflow_ai_governance.cli import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from airflow_ai_governance.cli._common import add_json_flag, emit_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="verify and export the hash-chained audit log")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    verify = actions.add_parser(
        "verify",
        help="check the whole keyed chain against the audit key, the signed checkpoints and the "
        "registry; exit 1 naming the first bad event (or registry row) after any tampering",
    )
    verify.add_argument(
        "--checkpoint-file", metavar="FILE", help="checkpoints to check against (default: configured)"
    )
    add_json_flag(verify)
    verify.set_defaults(func=verify_command)

    checkpoint = actions.add_parser(
        "checkpoint",
        help="verify the chain, then append a signed checkpoint of its head to the checkpoint file",
    )
    checkpoint.add_argument(
        "--checkpoint-file", metavar="FILE", help="file to append to (default: configured)"
    )
    add_json_flag(checkpoint)
    checkpoint.set_defaults(func=checkpoint_command)

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


def _verify(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from airflow_ai_governance.store import get_engine, verify_chain

    path = Path(args.checkpoint_file).expanduser() if args.checkpoint_file else None
    return verify_chain(get_engine(args.db_url), checkpoints=path)


def _report(result: Any) -> None:
    if result.ok:
        mark = (
            f"; matches the signed checkpoint of {result.checkpoint_at} (seq {result.checkpoint_seq})"
            if result.checkpoint_seq is not None
            else ""
        )
        print(
            f"audit chain OK: {result.checked} events verified with audit key {result.key_id}; head seq "
            f"{result.head_seq} {result.head_hash}{mark}; registry matches the chain"
        )
    elif result.first_bad_seq is not None:
        print(
            f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason}. "
            f"The {result.checked} events before it verify."
        )
    else:
        print("REGISTRY TAMPERED: the audit chain verifies, but the registry differs from it:")
        for problem in result.registry_problems:
            print(f"  - {problem}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _config_error(exc: Exception) -> int:
    print(f"aigov: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def verify_command(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from airflow_ai_governance.keys import KeyMissing
    from airflow_ai_governance.store.checkpoint import CheckpointError

    try:
        result = _verify(args)
    except KeyMissing as exc:
        return _config_error(exc)
    except CheckpointError as exc:
        if args.json:
            emit_json({"ok": False, "reason": str(exc)})
        else:
            print(f"audit checkpoints UNTRUSTED: {exc}")
        return EXIT_CHECK_FAILED
    if args.json:
        emit_json(asdict(result))
    else:
        _report(result)
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


def checkpoint_command(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from pathlib import Path

    from airflow_ai_governance.keys import KeyMissing
    from airflow_ai_governance.store.audit import audit_chain_key
    from airflow_ai_governance.store.checkpoint import CheckpointError, append_checkpoint, checkpoint_file

    path = Path(args.checkpoint_file).expanduser() if args.checkpoint_file else checkpoint_file()
    try:
        result = _verify(args)
        if not result.ok:  # never sign a broken chain
            _report(result)
            print("no checkpoint written: the chain does not verify", file=sys.stderr)
            return EXIT_CHECK_FAILED
        first = None
        if result.head_seq:
            from airflow_ai_governance.store import export_events

            first = next(export_events(args.db_url))["hash"]
        mark = append_checkpoint(path, audit_chain_key(), result.head_seq, result.head_hash, first)
    except KeyMissing as exc:
        return _config_error(exc)
    except CheckpointError as exc:
        print(f"audit checkpoints UNTRUSTED: {exc}; no checkpoint written")
        return EXIT_CHECK_FAILED
    if args.json:
        emit_json({**asdict(mark), "file": str(path)})
    else:
        print(f"checkpoint written to {path}: seq {mark.seq} {mark.mac} at {mark.at}")
    return EXIT_OK


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

    events = export_events(
        get_engine(args.db_url), use_case_id=args.use_case, since=args.since, until=args.until
    )
    with _open_output(args.output) as out:
        count = _write_lines(events, out, args.format)
    if args.use_case and not count:
        with session_scope(args.db_url, readonly=True) as session:
            get_use_case(session, args.use_case)  # an unknown id is an error, not "exported 0"
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
