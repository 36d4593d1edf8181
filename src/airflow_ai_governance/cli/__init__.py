"""The ``aigov`` command line.

Each sub-command lives in its own module of this package that exposes
``register(subparsers: argparse._SubParsersAction) -> None``; the parser it adds sets
``func=handler`` where ``handler(args: argparse.Namespace) -> int`` returns the exit code.

Exit codes: 0 success, 1 a check failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from airflow_ai_governance.exceptions import AIGovernanceError, PolicyError, SidecarUnavailable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2

_COMMAND_MODULES = ("db", "policy", "use_case", "lifecycle", "audit", "boundary")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aigov",
        description="Govern AI use cases on Apache Airflow: policies, lifecycle, audit, data boundary.",
    )
    parser.add_argument(
        "--db-url",
        default=None,
        help="sidecar SQLAlchemy URL (default: [ai_governance] sql_alchemy_conn, the connection "
        "ai_governance_default, else SQLite under $AIRFLOW_HOME)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"airflow_ai_governance.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except PolicyError as exc:
        print(f"aigov: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SidecarUnavailable as exc:
        print(f"aigov: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AIGovernanceError as exc:
        print(f"aigov: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except BrokenPipeError:  # e.g. `aigov audit export | head`
        return EXIT_OK
    return code


def run() -> None:
    sys.exit(main())
