"""What is recorded about an AI call: model, prompt hash, input/output hashes, latency, usage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from airflow_ai_governance.gates.boundary import keyed_data_hash
from airflow_ai_governance.gates.preflight import output_hash


@dataclass(frozen=True, slots=True)
class AIResult:
    """Return this from a governed callable to report what the call used.

    Only ``output`` is passed on (to XCom); the rest goes to the run record.
    """

    output: Any
    model_id: str | None = None
    model_version: str | None = None
    prompt: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _usage_fields(usage: Any) -> dict[str, Any]:
    return {
        "tokens_in": getattr(usage, "input_tokens", None) or getattr(usage, "request_tokens", None),
        "tokens_out": getattr(usage, "output_tokens", None) or getattr(usage, "response_tokens", None),
    }


def from_agent_result(result: Any) -> dict[str, Any]:
    """Model name and token usage of a pydantic-ai ``AgentRunResult``."""
    usage = result.usage
    if callable(usage) and not hasattr(usage, "input_tokens"):  # older pydantic-ai: a method
        usage = usage()
    fields = _usage_fields(usage)
    response = getattr(result, "response", None)
    model_name = getattr(response, "model_name", None)
    if model_name:
        fields["model_version"] = model_name
    return fields


def call_record(
    result: Any,
    *,
    inputs: Any,
    latency_ms: float,
    model_id: str | None = None,
    model_version: str | None = None,
    prompt_template: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Split a callable's return value into (output to pass on, run-record fields)."""
    fields: dict[str, Any] = {"model_id": model_id, "model_version": model_version}
    prompt = prompt_template
    output = result
    if isinstance(result, AIResult):
        output = result.output
        prompt = result.prompt or prompt
        reported = {
            "model_id": result.model_id,
            "model_version": result.model_version,
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "cost": result.cost,
        }
        fields.update({k: v for k, v in reported.items() if v is not None})
    elif hasattr(result, "output") and hasattr(result, "usage"):  # a pydantic-ai AgentRunResult
        output = result.output
        fields.update(from_agent_result(result))
    fields["prompt_hash"] = text_hash(prompt) if prompt else None
    # keyed: what the model saw may hold values the policy records in clear (SHA-256 could be
    # reversed by trying values); None without a redaction key
    fields["input_hash"] = keyed_data_hash(inputs)
    fields["output_hash"] = output_hash(output)
    fields["latency_ms"] = round(latency_ms, 3)
    return output, {k: v for k, v in fields.items() if v is not None}
