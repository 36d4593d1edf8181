"""The data-boundary gate: approved inputs only, and the policy's action per sensitive entity type."""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from airflow_ai_governance.boundary import BoundaryAction, apply_boundary
from airflow_ai_governance.boundary.redaction import configured_redaction_key
from airflow_ai_governance.exceptions import DataBoundaryViolation
from airflow_ai_governance.gates.preflight import (
    GovernedRunContext,
    _hash_default,
    block,
    finish,
    output_hash,
    record_gate_check,
)
from airflow_ai_governance.keys import KeyMissing
from airflow_ai_governance.policy import LifecycleState, UseCasePolicy
from airflow_ai_governance.store import session_scope

log = logging.getLogger(__name__)

INPUT_KINDS = ("asset", "connection", "table", "path")
CHECK = "data_boundary"
#: The boundary applied again inside an AI task to exactly what it received (after template
#: rendering and XCom resolution), when the data-boundary gate is a separate task upstream.
AI_INPUT_CHECK = "ai_input_boundary"

#: Turns an opened input file (binary) and its resolved path into data.
Parser = Callable[[BinaryIO, str], Any]


def input_ref(item: Any) -> str:
    """An approved-input reference for a string (``KIND:VALUE`` or URI) or an Airflow ``Asset``."""
    uri = getattr(item, "uri", None)
    return f"asset:{uri}" if isinstance(uri, str) else str(item)


def parse_input_ref(ref: str) -> tuple[str, str]:
    """``"table:finance.invoices"`` -> ``("table", "finance.invoices")``; a bare URI is an asset."""
    kind, sep, value = ref.partition(":")
    if sep and kind in INPUT_KINDS:
        return kind, value
    if "://" in ref:
        return "asset", ref
    raise ValueError(
        f"input {ref!r} must be written as KIND:VALUE with KIND one of {', '.join(INPUT_KINDS)} "
        "(e.g. table:finance.invoices, connection:erp_readonly, path:/data/x.csv) or be an asset URI"
    )


def resolve_input(ref: str) -> str:
    """An input reference with its path resolved as the file system sees it now.

    ``path:`` values and ``file://`` assets go through ``os.path.realpath``: ``..`` is folded and
    every symlink (the file's and its directories') is replaced by its target, so a link inside an
    approved directory is judged by where it points. Other references are returned as given.
    """
    kind, value = parse_input_ref(ref)
    if kind == "path":
        return f"path:{os.path.realpath(value)}"
    if kind == "asset":
        parts = urlsplit(value)
        if parts.scheme.lower() == "file" and not parts.netloc:
            real = os.path.realpath(unquote(parts.path) or "/")
            return f"asset:{urlunsplit((parts.scheme, '', quote(real), '', ''))}"
        return f"asset:{value}"
    return ref


def input_approved(policy: UseCasePolicy, resolved_ref: str) -> bool:
    """Whether an input reference, already resolved (:func:`resolve_input`), is approved."""
    kind, value = parse_input_ref(resolved_ref)
    return any(approved.matches(kind, value) for approved in policy.approved_inputs)


def unapproved_inputs(policy: UseCasePolicy, inputs: Iterable[str]) -> list[str]:
    """The inputs that match none of the policy's approved inputs, as resolved (with what was
    given when that differs: ``path:/data/secret/x.jsonl (given as path:/data/approved/../secret/x.jsonl)``)."""
    bad = []
    for ref in inputs:
        resolved = resolve_input(ref)
        if not input_approved(policy, resolved):
            bad.append(resolved if resolved in (ref, f"asset:{ref}") else f"{resolved} (given as {ref})")
    return bad


def _approved_list(policy: UseCasePolicy) -> list[str]:
    return [f"{a.kind}:{a.pattern}" for a in policy.approved_inputs]


def read_input_files(ctx: GovernedRunContext, files: Sequence[str], parse: Parser) -> list[Any]:
    """Read ``files`` for the boundary gate, only if each one's real path is an approved input.

    Every file is resolved and checked before any is opened; an unapproved one blocks the run
    (recorded, no retry) without being read. The file that is read is the file that was checked:
    it is opened by its resolved path without following a final symlink, and the kernel's own
    path of the opened file must still be that path (a symlink swapped in between check and open is
    refused). Only regular files are read (no FIFOs or devices). ``parse(fh, path)`` turns the
    opened binary file into data.
    """
    resolved = [os.path.realpath(f) for f in files]
    bad = [
        f"path:{real}" if real == f else f"path:{real} (given as path:{f})"
        for f, real in zip(files, resolved, strict=True)
        if not input_approved(ctx.policy, f"path:{real}")
    ]
    if bad:
        block(
            ctx,
            DataBoundaryViolation,
            f"files outside the approved inputs of {ctx.use_case_id!r} (not read): {', '.join(bad)}",
            {"unapproved_inputs": bad, "approved": _approved_list(ctx.policy)},
            check=CHECK,
        )
    loaded = []
    for given, real in zip(files, resolved, strict=True):
        try:
            with _open_checked(real) as fh:
                loaded.append(parse(fh, real))
        except _InputChanged as exc:
            block(
                ctx,
                DataBoundaryViolation,
                f"input file {given!r} of {ctx.use_case_id!r} was refused: {exc}",
                {"refused_input": f"path:{real}", "reason": str(exc)},
                check=CHECK,
            )
    return loaded


class _InputChanged(Exception):
    """The file opened is not the file checked, or not a regular file."""


def _open_checked(path: str) -> BinaryIO:
    """Open the resolved, approved ``path`` for reading, and prove the open file is that path."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the checked file became a symlink
            raise _InputChanged(f"{path} was replaced by a symlink after it was checked") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _InputChanged(f"{path} is not a regular file")
        opened = _fd_path(fd)
        if opened is not None and opened != path:
            raise _InputChanged(f"{path} changed after it was checked (the open file is {opened})")
        if opened is None:  # no /proc: the path must still resolve to the same file
            now = os.stat(path)
            if os.path.realpath(path) != path or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
                raise _InputChanged(f"{path} changed after it was checked")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _fd_path(fd: int) -> str | None:
    """The kernel's path of an open file (Linux ``/proc/self/fd``), or ``None`` if unavailable."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class BoundaryOutcome:
    data: Any
    outcome: str  # pass | redacted | recorded
    summary: dict[str, int]
    findings: int


#: Paths recorded per check (they never hold matched text; see boundary/_walk.py) and their length.
MAX_PATHS = 50
MAX_PATH_CHARS = 200


def _short(path: str) -> str:
    """A path cut in the middle when very long (a record nested thousands deep)."""
    if len(path) <= MAX_PATH_CHARS:
        return path
    half = (MAX_PATH_CHARS - 1) // 2
    return f"{path[:half]}\u2026{path[-half:]}"


def is_production(ctx: GovernedRunContext) -> bool:
    """Whether the step runs for production: the use case is in production or the DAG is tagged so."""
    return ctx.state is LifecycleState.PRODUCTION or ctx.task.production


def _input_hash(data: Any, clear_findings: bool) -> str | None:
    """The run record's input hash. Data that still holds detected values in clear (``record``
    findings) gets a keyed hash (HMAC-SHA256 under the redaction key), never a plain one: a plain
    SHA-256 of a small record is reversed by trying every SSN or phone number. No key: no hash."""
    if not clear_findings:
        return _plain_hash(data)
    return keyed_data_hash(data)


def keyed_data_hash(data: Any) -> str | None:
    """HMAC-SHA256 (hex) of the canonical JSON of ``data`` under the redaction key, any depth;
    ``None`` without a configured key. For hashes of data that may hold personal data in clear
    (what a model saw): unlike SHA-256, it cannot be reversed by trying values."""
    key = configured_redaction_key()
    if key is None:
        return None
    return hmac.new(key, b"aigov-input/v1\x00" + _canonical(data), hashlib.sha256).hexdigest()


def _plain_hash(data: Any) -> str:
    try:
        return output_hash(data)
    except RecursionError:  # deeper than json can encode: the same canonical form, iteratively
        return hashlib.sha256(_canonical(data)).hexdigest()


def _canonical(data: Any) -> bytes:
    """Canonical JSON of ``data`` built without recursion (any depth)."""
    try:
        return json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_hash_default
        ).encode("utf-8", "surrogatepass")
    except (RecursionError, TypeError, ValueError):
        pass
    out: list[str] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, _Token):
            out.append(node.text)
        elif isinstance(node, Mapping):
            items = sorted(((str(k), v) for k, v in node.items()), key=lambda kv: kv[0])
            stack.append(_Token("}"))
            for i, (k, v) in enumerate(reversed(items)):
                stack.append(v)
                stack.append(_Token(("" if i == len(items) - 1 else ",") + json.dumps(k) + ":"))
            stack.append(_Token("{"))
        elif isinstance(node, list | tuple):
            stack.append(_Token("]"))
            for i, v in enumerate(reversed(node)):
                stack.append(v)
                if i != len(node) - 1:
                    stack.append(_Token(","))
            stack.append(_Token("["))
        else:
            try:
                out.append(json.dumps(node, ensure_ascii=False, default=_hash_default))
            except (RecursionError, TypeError, ValueError):
                out.append(json.dumps(repr(node)))
    return "".join(out).encode("utf-8", "surrogatepass")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str


def enforce_boundary(
    ctx: GovernedRunContext,
    data: Any,
    inputs: Iterable[str] = (),
    *,
    close_run: bool = True,
    check: str = CHECK,
) -> BoundaryOutcome:
    """Check inputs and scan ``data``; record the result; raise on a violation.

    Returns the data to pass on (redacted where the policy says so). Matched values are never
    stored or logged, nor any unkeyed hash of them: the sidecar gets counts per entity type and
    field paths that never show a key or label holding a finding (``[7].<key#3>``). Redaction for
    production (use case in production or DAG tagged ``production``) needs a configured redaction
    key: without one the step is refused before anything is scanned. The check is recorded
    (committed) before this returns; with ``close_run=False`` (the gate runs inside the AI task) the
    run stays open for the AI call, otherwise it is closed as ``success``. A violation always
    closes the run as ``blocked``. ``check`` names the recorded check: ``data_boundary`` for the
    gate, :data:`AI_INPUT_CHECK` when an AI task re-applies it to what it received.
    """
    policy = ctx.policy
    boundary = policy.data_boundary
    inputs = list(inputs)
    bad = unapproved_inputs(policy, inputs)
    if bad:
        block(
            ctx,
            DataBoundaryViolation,
            f"inputs outside the approved inputs of {ctx.use_case_id!r}: {', '.join(bad)}",
            {"unapproved_inputs": bad, "approved": _approved_list(policy)},
            check=check,
        )
    if boundary is None:
        block(
            ctx,
            DataBoundaryViolation,
            f"use case {ctx.use_case_id!r} has no data_boundary in its policy",
            {},
            check=check,
        )
    actions = boundary.actions()
    redacts = any(a is BoundaryAction.REDACT for a in actions.values())
    production = is_production(ctx)
    key_state = None
    if redacts:
        try:
            key_state = "configured" if configured_redaction_key() is not None else None
        except KeyMissing as exc:  # a key that is too short
            block(
                ctx,
                DataBoundaryViolation,
                f"data boundary of {ctx.use_case_id!r}: {exc}",
                {"inputs": inputs, "redaction_key": "invalid"},
                check=CHECK,
            )
        if key_state is None:
            if production:
                block(
                    ctx,
                    DataBoundaryViolation,
                    f"data boundary of {ctx.use_case_id!r} (production) cannot redact: no redaction key is "
                    "configured. Run `aigov db upgrade` (it generates the key file) or set "
                    "[ai_governance] redaction_key (AIRFLOW__AI_GOVERNANCE__REDACTION_KEY, or "
                    "redaction_key_secret for the secrets backend)",
                    {"inputs": inputs, "redaction_key": "missing"},
                    check=CHECK,
                )
            key_state = "process-local (masks differ between runs; configure a redaction key)"
            log.warning(
                "Data boundary of %s redacts WITHOUT A CONFIGURED REDACTION KEY: masks use a random key "
                "of this process and differ between runs. Run `aigov db upgrade` or set "
                "[ai_governance] redaction_key; production use cases refuse to run like this.",
                ctx.use_case_id,
            )
    try:
        result = apply_boundary(data, {str(t): a for t, a in actions.items()}, production=production)
    except TypeError as exc:  # data the scanner cannot see into: refused, never passed on unscanned
        block(
            ctx,
            DataBoundaryViolation,
            f"data boundary of {ctx.use_case_id!r}: {exc}",
            {"inputs": inputs, "unscannable": str(exc)},
            check=check,
        )
    summary = result.summary()
    paths = sorted({_short(f.path) for f in result.findings if f.path})[:MAX_PATHS]
    details: dict[str, Any] = {"inputs": inputs, "found": summary, "paths": paths}
    if key_state is not None:
        details["redaction_key"] = key_state
    if result.blocked:
        blocked = sorted({str(f.type) for f in result.blocked})
        details["blocked_types"] = blocked
        where = sorted({_short(f.path or "(text)") for f in result.blocked})[:5]
        block(
            ctx,
            DataBoundaryViolation,
            f"data boundary of {ctx.use_case_id!r} blocks {', '.join(blocked)}: "
            f"{len(result.blocked)} finding(s) at {', '.join(where)}",
            details,
            check=check,
        )
    recorded = any(actions[f.type] is BoundaryAction.RECORD for f in result.findings)
    if result.redacted:
        outcome = "redacted"
    elif recorded:
        outcome = "recorded"
    else:
        outcome = "pass"
    if not close_run:
        record_gate_check(ctx, outcome, details, check=check)
        return BoundaryOutcome(result.data, outcome, summary, len(result.findings))
    with session_scope(ctx.db) as session:  # the check and the closed run record, together
        record_gate_check(ctx, outcome, details, session, check=check)
        finish(
            ctx,
            "success",
            session,
            input_hash=_input_hash(result.data, recorded),
            details={"gate": ctx.gate, "outcome": outcome},
        )
    return BoundaryOutcome(result.data, outcome, summary, len(result.findings))


def refuse_ai_input(
    ctx: GovernedRunContext, message: str, details: dict[str, Any], *, check: str
) -> NoReturn:
    """Refuse what an AI task would receive before any of it is scanned or used (e.g. a value
    taken from the Airflow context): recorded as a failed ``check``, run ``blocked``, raised."""
    block(ctx, DataBoundaryViolation, message, details, check=check)
