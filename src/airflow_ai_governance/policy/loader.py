"""Load policy YAML files with errors that name the file, the line and the field path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy.models import UseCasePolicy

POLICY_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A validated policy and where it came from."""

    policy: UseCasePolicy
    source: Path


def _line_index(
    node: yaml.Node, path: tuple[str | int, ...], index: dict[tuple[str | int, ...], int]
) -> None:
    """Map each field path of the YAML document to its 1-based line number."""
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)


def _locate(source: str, loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> str:
    path = tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "[")))) or ()
    # Pydantic adds pseudo-locations for unions/validators; walk back to the deepest known path.
    probe = path
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe, 1)
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
    return f"{source}:{line}: {field or '(top level)'}"


def parse_policy(text: str, source: str = "<string>") -> UseCasePolicy:
    """Parse and validate one policy document. Raises :class:`PolicyError` with every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict) or node is None:
        raise PolicyError(
            f"{source}:1: a policy must be a YAML mapping with id, title, tier, ... at the top level"
        )
    lines: dict[tuple[str | int, ...], int] = {}
    _line_index(node, (), lines)
    try:
        return UseCasePolicy.model_validate(data)
    except ValidationError as exc:
        problems = [
            (_locate(source, loc, lines), message)
            for err in exc.errors()
            for loc, message in _located(tuple(err["loc"]), _message(err))
        ]
        use_case = data.get("id", "?")
        raise PolicyError(f"{source}: invalid policy for use case {use_case!r}", problems) from None


_FIELD_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$")


def _located(loc: tuple[str | int, ...], message: str) -> list[tuple[tuple[str | int, ...], str]]:
    """A whole-policy rule reports ``field.path: problem`` lines: give each its field's location."""
    if loc:
        return [(loc, message)]
    matches = [_FIELD_PREFIX.match(line) for line in message.splitlines()]
    if not matches or not all(matches):
        return [(loc, message)]
    return [(tuple(m.group(1).split(".")), m.group(2)) for m in matches if m]


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"].startswith("time_delta"):
        return f"expected a duration such as 30m, 4h, 7d or ISO 8601 (PT4H), got {err.get('input')!r}"
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see docs/policy.md)"
    return msg


def load_policy(path: str | Path) -> LoadedPolicy:
    """Load one policy file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read policy file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{file}: policy files must be UTF-8 ({exc.reason} at byte {exc.start})") from exc
    return LoadedPolicy(parse_policy(text, str(file)), file)


def iter_policy_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand directories into their ``*.yaml``/``*.yml`` files (sorted); files are taken as given."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in POLICY_SUFFIXES and p.is_file())
        else:
            yield path


def load_policies(paths: Iterable[str | Path]) -> list[LoadedPolicy]:
    """Load every policy under ``paths``; all problems of all files are reported in one error."""
    paths = list(paths)
    loaded: list[LoadedPolicy] = []
    problems: list[tuple[str, str]] = []
    files = list(iter_policy_files(paths))
    if not files:
        raise PolicyError(f"no policy files (*.yaml, *.yml) found in: {', '.join(map(str, paths))}")
    for file in files:
        try:
            loaded.append(load_policy(file))
        except PolicyError as exc:
            problems.extend(exc.problems or [("", str(exc))])
    seen: dict[str, Path] = {}
    for item in loaded:
        first = seen.setdefault(item.policy.id, item.source)
        if first != item.source:
            problems.append((str(item.source), f"use case id {item.policy.id!r} is also defined in {first}"))
    if problems:
        raise PolicyError(f"{len(problems)} problem(s) in {len(files)} policy file(s)", problems)
    return loaded
