"""``aigov boundary scan``, exercised through its own argparse registration."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from airflow_ai_governance.cli import boundary as cli


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]], str]:
    parser = argparse.ArgumentParser(prog="aigov")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def write(tmp_path: Path, lines: list[str | bytes], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


GOOD = [
    json.dumps({"id": 1, "text": "mail jane@example.com or call (415) 555-0132"}),
    json.dumps({"id": "b", "text": "nothing to see", "other": 1}),
    json.dumps({"id": [3], "text": "card 4111 1111 1111 1111, ip 10.0.0.1"}),
]


def test_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["boundary", "scan", str(write(tmp_path, GOOD))], capsys)
    assert code == 0 and err == ""
    assert out == [
        {
            "id": 1,
            "findings": [
                {"type": "EMAIL_ADDRESS", "start": 5, "end": 21},
                {"type": "PHONE_NUMBER", "start": 30, "end": 44},
            ],
        },
        {"id": "b", "findings": []},
        {
            "id": [3],
            "findings": [
                {"type": "CREDIT_CARD", "start": 5, "end": 24},
                {"type": "IP_ADDRESS", "start": 29, "end": 37},
            ],
        },
    ]
    assert all(list(line) == ["id", "findings"] for line in out)
    assert all(list(f) == ["type", "start", "end"] for line in out for f in line["findings"])  # type: ignore[union-attr]


def test_offsets_point_into_the_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "Grüße an jürgen.müller@example.de 🙂 und +49 30 12345678"
    code, out, _ = run(
        ["boundary", "scan", str(write(tmp_path, [json.dumps({"id": 1, "text": text})]))], capsys
    )
    assert code == 0
    values = [text[f["start"] : f["end"]] for f in out[0]["findings"]]  # type: ignore[index,union-attr]
    assert values == ["jürgen.müller@example.de", "+49 30 12345678"]


def test_bad_lines_are_reported_with_line_numbers_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[str | bytes] = [
        GOOD[0],
        "",  # blank lines are skipped silently
        "not json",
        json.dumps({"id": 4, "body": "a", "lena@example.com": "b"}),
        json.dumps([1, 2]),
        json.dumps({"text": "no id"}),
        json.dumps({"id": 7, "text": 42}),
        b'{"id": 8, "text": "\xff"}',
        GOOD[1],
    ]
    path = write(tmp_path, lines)
    code, out, err = run(["boundary", "scan", str(path)], capsys)
    assert code == 1
    assert [line["id"] for line in out] == [1, "b"]
    assert f"{path}:3: invalid JSON" in err
    assert (
        f"{path}:4: missing the text field 'text' (its text fields: body; choose one with --field body)"
        in err
    )
    assert "lena@example.com" not in err  # a key that holds data is not echoed
    assert f"{path}:5: expected a JSON object, got list" in err
    assert f"{path}:6: missing `id`" in err
    assert f"{path}:7: field 'text' must be a string, got int" in err
    assert f"{path}:8: not valid UTF-8" in err
    assert "6 bad lines skipped" in err
    assert "no id" not in err  # line contents are never echoed


def test_strict_stops_at_the_first_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, [GOOD[0], "{oops", GOOD[1]])
    code, out, err = run(["boundary", "scan", str(path), "--strict"], capsys)
    assert code == 2
    assert [line["id"] for line in out] == [1]
    assert f"{path}:2: invalid JSON" in err and "--strict" in err


@pytest.mark.parametrize("types", [["EMAIL_ADDRESS", "CREDIT_CARD"], ["email_address,credit_card"]])
def test_types_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str], types: list[str]) -> None:
    code, out, _ = run(["boundary", "scan", str(write(tmp_path, GOOD)), "--types", *types], capsys)
    assert code == 0
    found = {f["type"] for line in out for f in line["findings"]}  # type: ignore[union-attr]
    assert found == {"EMAIL_ADDRESS", "CREDIT_CARD"}


def test_field_output_and_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (json.dumps({"id": 1, "body": "a@example.com"}) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + data)))  # with a BOM
    target = tmp_path / "out.jsonl"
    code, out, err = run(["boundary", "scan", "-", "--field", "body", "--output", str(target)], capsys)
    assert code == 0 and out == [] and err == ""
    assert json.loads(target.read_text()) == {
        "id": 1,
        "findings": [{"type": "EMAIL_ADDRESS", "start": 0, "end": 13}],
    }


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["boundary", "scan", str(tmp_path / "missing.jsonl")], capsys)
    assert code == 2 and "cannot read" in err and "missing.jsonl" in err
    code, _, err = run(["boundary", "scan", str(write(tmp_path, GOOD)), "--types", "EMAIL"], capsys)
    assert code == 2 and "unknown entity type 'EMAIL'" in err
    code, _, err = run(["boundary", "scan", str(write(tmp_path, GOOD)), "--output", str(tmp_path)], capsys)
    assert code == 2 and "cannot write" in err


def test_presidio_backend_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)  # import fails
    code, _, err = run(["boundary", "scan", str(write(tmp_path, GOOD)), "--backend", "presidio"], capsys)
    assert code == 2
    assert "pip install 'airflow-ai-governance[presidio]'" in err


def test_progress_only_on_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"id": i, "text": "x"}) for i in range(600)]
    code, out, err = run(["boundary", "scan", str(write(tmp_path, lines))], capsys)
    assert code == 0 and len(out) == 600 and "MB/s" not in err  # captured stderr is not a TTY


def test_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(cli, "_PROGRESS_EVERY_S", 0.0)
    path = write(tmp_path, [json.dumps({"id": i, "text": "x"}) for i in range(600)])
    parser = argparse.ArgumentParser(prog="aigov")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["boundary", "scan", str(path), "--output", str(tmp_path / "o.jsonl")])
    assert args.func(args) == 0
    assert "600 lines" in tty.getvalue() and "MB/s" in tty.getvalue()


def test_one_bad_record_never_stops_the_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 8 item 10; fails before the fix: the deep line raised RecursionError and the scan of the
    rest of the file stopped."""
    deep = '{"id": 2, "text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [
        json.dumps({"id": 1, "text": "mail jane@example.com"}),
        deep,
        json.dumps({"id": 3, "text": "card 4111 1111 1111 1111"}),
        '{"id": ' + "9" * 5000 + ', "text": "x"}',  # beyond Python's integer digit limit
        '{"id": "\\ud800", "text": "ip 10.0.0.1"}',  # an id UTF-8 cannot encode
        json.dumps({"id": 6, "text": "nothing"}),
    ]
    code, out, err = run(["boundary", "scan", str(write(tmp_path, lines))], capsys)
    assert code == 1
    assert [r["id"] for r in out] == [1, 3, "\ud800", 6]
    assert [[f["type"] for f in r["findings"]] for r in out] == [
        ["EMAIL_ADDRESS"],
        ["CREDIT_CARD"],
        ["IP_ADDRESS"],
        [],
    ]
    assert ":2: JSON nested too deeply to parse; line skipped" in err
    assert ":4: invalid JSON value (ValueError); line skipped" in err
    assert "2 bad lines skipped" in err and "jane" not in err
