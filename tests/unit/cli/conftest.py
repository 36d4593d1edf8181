"""Fixtures of the CLI tests: run the real ``aigov`` entry point (helpers live in cli_support.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import Aigov, Result


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Aigov:
    """``aigov ARGV...`` in process, through ``airflow_ai_governance.cli.main``, without a DB URL.

    argparse's ``SystemExit`` (usage errors) is turned into its exit code like the shell would.
    """
    from airflow_ai_governance.cli import main

    def run(*argv: str | Path) -> Result:
        capsys.readouterr()  # drop anything printed before
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def aigov(cli: Aigov, db_url: str) -> Aigov:
    """``aigov --db-url <db_url> ARGV...`` against a migrated sidecar (SQLite and PostgreSQL)."""

    def run(*argv: str | Path) -> Result:
        return cli("--db-url", db_url, *argv)

    return run


@pytest.fixture
def policies(tmp_path: Path, examples_dir: Path) -> Path:
    """A copy of the three example policies in a directory of its own."""
    target = tmp_path / "policies"
    shutil.copytree(examples_dir, target)
    return target
