"""Helpers shared by the ``aigov`` sub-commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def non_blank(value: str) -> str:
    """An argparse type: a decision must name a person and a reason, not an empty string."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value.strip()
