"""Load policy YAML files with errors that name the file, the line and the field path.

Policy files are read defensively: what a file shows is what loads. A duplicate key (``tier: 3``
... ``tier: 1``) or a merge key (``<<``) is refused with its line; the file size, the nesting depth
and the size of the document once aliases are expanded are capped, so an alias bomb ("billion
laughs") or a huge file fails at once with a clear error instead of eating memory.
"""

from __future__ import annotations

import os
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

#: Environment variable that sets the largest policy file accepted, in bytes.
MAX_BYTES_ENV = "AIRFLOW__AI_GOVERNANCE__POLICY_MAX_BYTES"
DEFAULT_MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and lists (the shipped policies nest 4 deep).
MAX_DEPTH = 32
#: Most YAML nodes a policy may have with every alias expanded (the shipped ones have ~200).
MAX_NODES = 20_000

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A validated policy and where it came from."""

    policy: UseCasePolicy
    source: Path


def max_policy_bytes() -> int:
    """The size cap of a policy file: ``$AIRFLOW__AI_GOVERNANCE__POLICY_MAX_BYTES`` or 1 MB."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise PolicyError(f"{MAX_BYTES_ENV}={raw!r}: expected a number of bytes, e.g. 1000000") from None
    if value < 1:
        raise PolicyError(f"{MAX_BYTES_ENV}={raw!r}: must be a positive number of bytes")
    return value


class _PolicyLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, refusing duplicate keys (with both lines)."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key; the base class reports it
                continue
            if first is not key_node:
                raise PolicyError(
                    f"{_where(self.source, key_node.start_mark)}: duplicate key {key!r} (first on line "
                    f"{first.start_mark.line + 1}): a key may appear once per mapping, so that the file "
                    "shows what loads"
                )
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _where(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}" if mark is not None else source


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` (checked on the event stream, in C)."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise PolicyError(
                    f"{_where(source, event.start_mark)}: nested more than {MAX_DEPTH} levels deep; "
                    "a policy is a shallow document (see docs/policy.md)"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_nodes(root: yaml.Node, source: str) -> None:
    """Refuse merge keys, recursive aliases and documents that expand beyond :data:`MAX_NODES`.

    The expanded size is computed once per distinct node (aliases share nodes), so an alias bomb
    is measured in microseconds, never expanded.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk over distinct nodes: (node, children done?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise PolicyError(
                    f"{_where(source, node.start_mark)}: the document expands to more than {MAX_NODES} "
                    "values (aliases repeat what they point to); write the policy without alias chains"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise PolicyError(f"{_where(source, node.start_mark)}: recursive alias (a value contains itself)")
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise PolicyError(
                        f"{_where(source, key_node.start_mark)}: merge keys (<<) are not allowed in policy "
                        "files: write each key where it applies, so the file shows what loads"
                    )
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise PolicyError(
                    f"{_where(source, child.start_mark)}: recursive alias (a value contains itself)"
                )
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _compose(text: str, source: str, max_bytes: int | None) -> tuple[yaml.Node | None, Any]:
    """The YAML node graph and the constructed document, within the caps."""
    cap = max_policy_bytes() if max_bytes is None else max_bytes
    size = len(text.encode("utf-8"))
    if size > cap:
        raise PolicyError(
            f"{source}: policy file is {size} bytes, more than the limit of {cap} bytes "
            f"(set {MAX_BYTES_ENV} to change it)"
        )
    try:
        _check_depth(text, source)
        loader = _PolicyLoader(text, source)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            _check_nodes(node, source)
            return node, loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{_where(source, mark)}: not valid YAML: {problem}") from exc


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


def parse_policy(text: str, source: str = "<string>", *, max_bytes: int | None = None) -> UseCasePolicy:
    """Parse and validate one policy document. Raises :class:`PolicyError` with every problem."""
    node, data = _compose(text, source, max_bytes)
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
    return [
        (tuple(int(p) if p.isdigit() else p for p in m.group(1).split(".")), m.group(2)) for m in matches if m
    ]


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"].startswith("time_delta"):
        return f"expected a duration such as 30m, 4h, 7d or ISO 8601 (PT4H), got {err.get('input')!r}"
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see docs/policy.md)"
    return msg


def read_policy_text(path: str | Path, *, max_bytes: int | None = None) -> str:
    """The text of a policy file, refusing files over the size cap before reading them whole."""
    file = Path(path)
    cap = max_policy_bytes() if max_bytes is None else max_bytes
    try:
        with file.open("rb") as fh:
            raw = fh.read(cap + 1)
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read policy file: {exc.strerror or exc}") from exc
    if len(raw) > cap:
        size = file.stat().st_size
        raise PolicyError(
            f"{file}: policy file is {size} bytes, more than the limit of {cap} bytes "
            f"(set {MAX_BYTES_ENV} to change it)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{file}: policy files must be UTF-8 ({exc.reason} at byte {exc.start})") from exc


def load_policy(path: str | Path, *, max_bytes: int | None = None) -> LoadedPolicy:
    """Load one policy file."""
    file = Path(path)
    text = read_policy_text(file, max_bytes=max_bytes)
    return LoadedPolicy(parse_policy(text, str(file), max_bytes=max_bytes), file)


def iter_policy_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand directories into their ``*.yaml``/``*.yml`` files (sorted); files are taken as given."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in POLICY_SUFFIXES and p.is_file())
        else:
            yield path


def collect_policies(paths: Iterable[str | Path]) -> tuple[list[LoadedPolicy], list[tuple[str, str]], int]:
    """Load what loads under ``paths``: ``(policies, problems, number of files)``.

    A file with a problem is left out; a use case id defined twice is a problem of the second file.
    """
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
    for item in list(loaded):
        first = seen.setdefault(item.policy.id, item.source)
        if first != item.source:
            problems.append((str(item.source), f"use case id {item.policy.id!r} is also defined in {first}"))
            loaded.remove(item)
    return loaded, problems, len(files)


def load_policies(paths: Iterable[str | Path]) -> list[LoadedPolicy]:
    """Load every policy under ``paths``; all problems of all files are reported in one error."""
    loaded, problems, files = collect_policies(paths)
    if problems:
        raise PolicyError(f"{len(problems)} problem(s) in {files} policy file(s)", problems)
    return loaded
