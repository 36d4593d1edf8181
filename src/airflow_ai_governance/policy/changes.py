"""Does a policy change loosen control? A function over two policy documents.

A change of a use case that is (or has been) in pilot or production takes effect at once when it
only tightens or leaves control alone; when :func:`loosenings` finds anything, the new version
waits for a second person (``aigov policy approve-change``) and the old version stays in force.

The documents are the JSON form stored as policy versions (:meth:`UseCasePolicy.document`), so
versions written under older rules compare too. Each top-level field of a policy is either
compared here (:data:`CONTROL_FIELDS`) or declared not to be a control (:data:`NOT_CONTROLS`); a
unit test keeps both lists exhaustive, so a new policy field must be classified before it ships.

What counts as loosening (``old`` -> ``new``):

* ``tier`` lower; any effective gate (tier floor plus ``gates`` overrides and
  ``review.cadence_days``) turned off, ``min_reviewers`` lower, review cadence longer;
* ``owner`` changed or removed; any reviewer added (a new person may approve) or removed (fewer
  reviewers);
* ``data_boundary`` removed; a data class allowed that was not; the action of any entity type
  weaker (``block`` > ``redact`` > ``record``, listed types and ``default_action`` alike);
* ``approved_inputs`` widened: an entry that is not in the old list (a literal entry that an old
  pattern of the same kind already approves is not wider);
* ``output_standard`` removed, ``on_failure`` ``block`` -> ``quarantine``, a field removed, made
  optional or nullable, its type, pattern or (widened) allowed values changed, its bounds relaxed
  or dropped (``min``, ``max``, ``min_length``, ``max_length``), ``unique`` dropped; ``min_rows``
  lower, ``max_rows`` higher (or dropped); a custom expectation removed or changed;
* ``escalation`` removed, its contacts changed in any way (who is reached, how, in which order:
  escalation contacts gain approval rights), a timeout longer;
* ``review.allow_output_edits`` turned on; ``monitoring.logging`` turned off or
  ``monitoring.drift_task`` changed or removed; a drift threshold less sensitive (``psi_threshold``
  higher, ``ks_pvalue``/``chi2_pvalue`` lower) or a drift feature dropped;
* ``infrastructure.choice`` ``owned`` -> ``public`` (or removed), ``data_sensitivity`` lower, the
  ``public_justification`` changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from airflow_ai_governance.boundary.types import EntityType
from airflow_ai_governance.policy import inputs
from airflow_ai_governance.policy.durations import Duration
from airflow_ai_governance.policy.identity import normalize_identity
from airflow_ai_governance.policy.tiers import Gates, effective_gates

#: Top-level policy fields that are not controls: changing them never needs a second person.
NOT_CONTROLS: frozenset[str] = frozenset(
    {"id", "title", "description", "state", "selection", "success_measure", "tags"}
)

_ACTION_RANK = {"record": 0, "redact": 1, "block": 2}
_CLASS_RANK = {"public": 0, "internal": 1, "confidential": 2, "personal": 3}
_ENTITY_TYPES = tuple(t.value for t in EntityType)
_DURATION: TypeAdapter[Any] = TypeAdapter(Duration)


@dataclass(frozen=True, slots=True)
class Loosening:
    """One way a change loosens control: the field, what it was, what it becomes, in words."""

    field: str
    old: Any
    new: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new, "message": self.message}


Doc = dict[str, Any]
_Rule = Callable[[Doc, Doc], Iterator[Loosening]]
_RULES: dict[str, _Rule] = {}


def _rule(*fields: str) -> Callable[[_Rule], _Rule]:
    def register(fn: _Rule) -> _Rule:
        for name in fields:
            _RULES[name] = fn
        return fn

    return register


def loosenings(old: Doc, new: Doc) -> list[Loosening]:
    """Every way ``new`` loosens control compared with ``old`` (empty: tightening or neutral)."""
    found: list[Loosening] = []
    for rule in dict.fromkeys(_RULES.values()):  # one call per rule, in registration order
        found.extend(rule(old, new))
    return found


#: Top-level fields compared by a rule (kept exhaustive with NOT_CONTROLS by a unit test).
def control_fields() -> frozenset[str]:
    return frozenset(_RULES)


# ------------------------------------------------------------------------------------- gates
def _gates(doc: Doc) -> Gates | None:
    overrides = dict(doc.get("gates") or {})
    cadence = (doc.get("review") or {}).get("cadence_days")
    if cadence is not None:
        overrides.setdefault("review_cadence_days", cadence)
    try:
        return effective_gates(
            int(doc["tier"]), Gates.model_validate(overrides).model_dump(include=set(overrides))
        )
    except (KeyError, TypeError, ValueError):
        return None


@_rule("tier", "gates")
def _tier_and_gates(old: Doc, new: Doc) -> Iterator[Loosening]:
    if int(new.get("tier", 0)) < int(old.get("tier", 0)):
        yield Loosening(
            "tier", old.get("tier"), new.get("tier"), f"tier {old.get('tier')} -> {new.get('tier')}"
        )
    before, after = _gates(old), _gates(new)
    if before is None or after is None:
        if before != after:
            yield Loosening("gates", old.get("gates"), new.get("gates"), "the gates cannot be compared")
        return
    for name in Gates.model_fields:
        was, now = getattr(before, name), getattr(after, name)
        if isinstance(was, bool):
            if was and not now:
                yield Loosening(f"gates.{name}", was, now, f"gate {name} turned off")
        elif name == "review_cadence_days":
            if now > was:
                yield Loosening(f"gates.{name}", was, now, f"reviews every {now} days instead of {was}")
        elif now < was:
            yield Loosening(f"gates.{name}", was, now, f"{name} {was} -> {now}")


# ------------------------------------------------------------------------------------ people
def _person_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return normalize_identity(value) if isinstance(value, str) else None


@_rule("owner")
def _owner(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = _person_id(old.get("owner")), _person_id(new.get("owner"))
    if was is not None and was != now:
        yield Loosening("owner", was, now, f"owner {was} -> {now or 'none'}")


@_rule("reviewers")
def _reviewers(old: Doc, new: Doc) -> Iterator[Loosening]:
    was = {i for r in old.get("reviewers") or [] if (i := _person_id(r))}
    now = {i for r in new.get("reviewers") or [] if (i := _person_id(r))}
    if now - was:
        added = sorted(now - was)
        yield Loosening("reviewers", sorted(was), sorted(now), f"reviewers added: {', '.join(added)}")
    if was - now:
        removed = sorted(was - now)
        yield Loosening("reviewers", sorted(was), sorted(now), f"reviewers removed: {', '.join(removed)}")


# ------------------------------------------------------------------------------ data boundary
def _actions(boundary: Doc) -> dict[str, str]:
    default = str(boundary.get("default_action", "block"))
    listed = boundary.get("entities") or {}
    return {t: str(listed.get(t, default)) for t in sorted(set(_ENTITY_TYPES) | set(listed))}


@_rule("data_boundary")
def _boundary(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("data_boundary"), new.get("data_boundary")
    if not was:
        return
    if not now:
        yield Loosening("data_boundary", was, None, "data boundary removed")
        return
    widened = sorted(set(now.get("allowed_data_classes") or []) - set(was.get("allowed_data_classes") or []))
    if widened:
        yield Loosening(
            "data_boundary.allowed_data_classes",
            was.get("allowed_data_classes"),
            now.get("allowed_data_classes"),
            f"data classes allowed: {', '.join(widened)}",
        )
    before, after = _actions(was), _actions(now)
    for entity, action in after.items():
        prior = before.get(entity, str(was.get("default_action", "block")))
        if _ACTION_RANK.get(action, -1) < _ACTION_RANK.get(prior, 3):
            yield Loosening(
                f"data_boundary.entities.{entity}", prior, action, f"{entity}: {prior} -> {action}"
            )
    old_default, new_default = was.get("default_action", "block"), now.get("default_action", "block")
    if _ACTION_RANK.get(new_default, -1) < _ACTION_RANK.get(old_default, 3):
        yield Loosening(
            "data_boundary.default_action",
            old_default,
            new_default,
            f"default action {old_default} -> {new_default}",
        )


# ---------------------------------------------------------------------------- approved inputs
def _entries(doc: Doc) -> list[tuple[str, str]]:
    out = []
    for entry in doc.get("approved_inputs") or []:
        for kind in ("asset", "connection", "table", "path"):
            if entry.get(kind):
                out.append((kind, str(entry[kind])))
    return out


def _covered(kind: str, pattern: str, old: list[tuple[str, str]]) -> bool:
    if (kind, pattern) in old:
        return True
    if not inputs.is_literal(pattern):
        return False
    match = {"path": inputs.match_path, "asset": inputs.match_asset}.get(kind, inputs.match_name)
    return any(k == kind and match(p, pattern) for k, p in old)


@_rule("approved_inputs")
def _inputs(old: Doc, new: Doc) -> Iterator[Loosening]:
    before = _entries(old)
    wider = [f"{k}:{p}" for k, p in _entries(new) if not _covered(k, p, before)]
    if wider:
        yield Loosening(
            "approved_inputs",
            [f"{k}:{p}" for k, p in before],
            [f"{k}:{p}" for k, p in _entries(new)],
            f"approved inputs widened: {', '.join(wider)}",
        )


# ---------------------------------------------------------------------------- output standard
def _lower(was: Any, now: Any) -> bool:
    """A lower bound relaxed: dropped, or lower."""
    return was is not None and (now is None or now < was)


def _higher(was: Any, now: Any) -> bool:
    """An upper bound relaxed: dropped, or higher."""
    return was is not None and (now is None or now > was)


def _field_loosenings(name: str, was: Doc, now: Doc) -> Iterator[str]:
    if now.get("required", True) is False and was.get("required", True) is not False:
        yield "made optional"
    if now.get("nullable", False) and not was.get("nullable", False):
        yield "made nullable"
    if now.get("type", "string") != was.get("type", "string"):
        yield f"type {was.get('type', 'string')} -> {now.get('type', 'string')}"
    if was.get("pattern") is not None and now.get("pattern") != was.get("pattern"):
        yield "pattern changed" if now.get("pattern") is not None else "pattern removed"
    allowed_was, allowed_now = was.get("allowed_values"), now.get("allowed_values")
    if allowed_was is not None and (
        allowed_now is None or set(map(repr, allowed_now)) - set(map(repr, allowed_was))
    ):
        yield "allowed values widened"
    for bound in ("min", "min_length"):
        if _lower(was.get(bound), now.get(bound)):
            yield f"{bound} {was.get(bound)} -> {now.get(bound)}"
    for bound in ("max", "max_length"):
        if _higher(was.get(bound), now.get(bound)):
            yield f"{bound} {was.get(bound)} -> {now.get(bound)}"
    if was.get("unique") and not now.get("unique"):
        yield "no longer unique"


@_rule("output_standard")
def _standard(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("output_standard"), new.get("output_standard")
    if not was:
        return
    if not now:
        yield Loosening("output_standard", "set", None, "output standard removed")
        return
    if was.get("on_failure", "block") == "block" and now.get("on_failure", "block") != "block":
        yield Loosening(
            "output_standard.on_failure", "block", now.get("on_failure"), "failures quarantined, not blocked"
        )
    fields_now = {f["name"]: f for f in now.get("fields") or []}
    for field in was.get("fields") or []:
        name = field["name"]
        if name not in fields_now:
            yield Loosening(f"output_standard.fields.{name}", field, None, f"output field {name} removed")
            continue
        for what in _field_loosenings(name, field, fields_now[name]):
            yield Loosening(
                f"output_standard.fields.{name}", field, fields_now[name], f"output field {name}: {what}"
            )
    if _lower(was.get("min_rows"), now.get("min_rows")):
        yield Loosening(
            "output_standard.min_rows", was.get("min_rows"), now.get("min_rows"), "min_rows relaxed"
        )
    if _higher(was.get("max_rows"), now.get("max_rows")):
        yield Loosening(
            "output_standard.max_rows", was.get("max_rows"), now.get("max_rows"), "max_rows relaxed"
        )
    kept = now.get("custom_expectations") or []
    for expectation in was.get("custom_expectations") or []:
        if expectation not in kept:
            yield Loosening(
                "output_standard.custom_expectations",
                expectation,
                None,
                f"custom expectation {expectation.get('type')} removed or changed",
            )


# --------------------------------------------------------------------------------- escalation
def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(_DURATION.validate_python(value).total_seconds())
    except ValueError:
        return None


@_rule("escalation")
def _escalation(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("escalation"), new.get("escalation")
    if not was:
        return
    if not now:
        yield Loosening("escalation", "set", None, "escalation path removed")
        return

    def contacts(e: Doc) -> list[tuple[str | None, str, str]]:
        return [
            (_person_id(c), str(c.get("channel", "email")), str(c.get("address")))
            for c in e.get("contacts") or []
        ]

    if contacts(now) != contacts(was):
        yield Loosening(
            "escalation.contacts",
            [c[0] for c in contacts(was)],
            [c[0] for c in contacts(now)],
            "escalation contacts changed (who is reached, how, or in which order)",
        )
    for timeout, default in (("approval_timeout", 86400.0), ("step_timeout", 14400.0)):
        before = _seconds(was.get(timeout)) or default
        after = _seconds(now.get(timeout)) or default
        if after > before:
            yield Loosening(f"escalation.{timeout}", was.get(timeout), now.get(timeout), f"{timeout} longer")


# ------------------------------------------------------------------- review, monitoring, drift
@_rule("review")
def _review(old: Doc, new: Doc) -> Iterator[Loosening]:
    # review.cadence_days is compared through the effective gates (review_cadence_days)
    if (new.get("review") or {}).get("allow_output_edits") and not (old.get("review") or {}).get(
        "allow_output_edits"
    ):
        yield Loosening("review.allow_output_edits", False, True, "reviewers may now edit the output")


@_rule("monitoring")
def _monitoring(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("monitoring") or {}, new.get("monitoring") or {}
    if was.get("logging", True) and not now.get("logging", True):
        yield Loosening("monitoring.logging", True, False, "run logging turned off")
    if was.get("drift_task") and now.get("drift_task") != was.get("drift_task"):
        yield Loosening(
            "monitoring.drift_task", was.get("drift_task"), now.get("drift_task"), "drift task changed"
        )


@_rule("drift")
def _drift(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("drift") or {}, new.get("drift") or {}
    defaults = {"psi_threshold": 0.2, "ks_pvalue": 0.01, "chi2_pvalue": 0.01}
    before = {k: float(was.get(k, v)) for k, v in defaults.items()}
    after = {k: float(now.get(k, v)) for k, v in defaults.items()}
    if after["psi_threshold"] > before["psi_threshold"]:
        yield Loosening(
            "drift.psi_threshold", before["psi_threshold"], after["psi_threshold"], "PSI threshold higher"
        )
    for name in ("ks_pvalue", "chi2_pvalue"):
        if after[name] < before[name]:
            yield Loosening(f"drift.{name}", before[name], after[name], f"{name} lower (less sensitive)")
    dropped = sorted(set(was.get("features") or []) - set(now.get("features") or []))
    if dropped:
        yield Loosening(
            "drift.features",
            was.get("features"),
            now.get("features"),
            f"drift features dropped: {', '.join(dropped)}",
        )


# ----------------------------------------------------------------------------- infrastructure
@_rule("infrastructure")
def _infrastructure(old: Doc, new: Doc) -> Iterator[Loosening]:
    was, now = old.get("infrastructure"), new.get("infrastructure")
    if not was:
        return
    if not now:
        yield Loosening("infrastructure", was.get("choice"), None, "infrastructure record removed")
        return
    if was.get("choice") == "owned" and now.get("choice") != "owned":
        yield Loosening(
            "infrastructure.choice", "owned", now.get("choice"), "moved from owned to public tools"
        )
    before = _CLASS_RANK.get(str(was.get("data_sensitivity")), 0)
    if _CLASS_RANK.get(str(now.get("data_sensitivity")), 0) < before:
        yield Loosening(
            "infrastructure.data_sensitivity",
            was.get("data_sensitivity"),
            now.get("data_sensitivity"),
            "data sensitivity lowered",
        )
    if was.get("public_justification") and now.get("public_justification") != was.get("public_justification"):
        yield Loosening(
            "infrastructure.public_justification",
            "set",
            now.get("public_justification"),
            "public justification changed",
        )
