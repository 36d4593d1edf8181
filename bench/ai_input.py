"""What the AI-input boundary (issue 8.3) adds to a governed AI task, on realistic payloads.

    python bench/ai_input.py [--iterations 50]

Every governed AI task now applies its use case's boundary to exactly what it received
(``enforce_boundary(..., check="ai_input_boundary", close_run=False)``) before the call, also when
the data-boundary gate ran as its own task upstream. Measured here, without Airflow, on what such a
task receives: the upstream boundary's output (already redacted), so the masks it wrote are
scanned again.

- ``transcript``: the two example meeting transcripts as an LLM prompt (tier-1 ``meeting-summaries``).
- ``invoices``: 1,000 invoice records like the example inbox (notes with IBANs and e-mails,
  13 numeric features each) as ``invoice-triage``'s classifier gets them.

For each: the scan alone (``apply_boundary`` with the policy's actions), the whole guard (scan +
the check committed to a SQLite sidecar) and, for comparison, the boundary gate's own check of the
raw data upstream; medians of ``--iterations`` in milliseconds. The guard is one more pass of the
same scanner over data already redacted, so it should cost no more than the boundary gate itself:
the headline is that ratio on the 1,000 records (absolute times depend on the machine's load).
Self-contained: a temp SQLite sidecar (example policies synced, promoted), removed at the end.
Last line: ``bench ai_input_guard: <ratio> x the boundary gate (target <= 1.0) PASS|FAIL``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "dags" / "example_data"
TARGET_RATIO = 1.0


def _median_ms(fn: Callable[[], Any], iterations: int) -> float:
    fn()  # warm-up (compiled patterns, caches)
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _setup(url: str) -> None:
    from airflow_ai_governance.policy import load_policies
    from airflow_ai_governance.store import session_scope, upgrade
    from airflow_ai_governance.store.registry import sync_policies, transition

    upgrade(url)
    with session_scope(url) as session:
        sync_policies(session, load_policies([REPO / "dags" / "governance"]), actor="bench")
    for use_case in ("meeting-summaries", "invoice-triage"):
        for state in ("approved", "pilot", "production"):
            with session_scope(url) as session:
                transition(session, use_case, state, actor="bench", reason="ai input benchmark")


def _payloads() -> dict[str, tuple[str, Any]]:
    transcripts = "\n\n".join(p.read_text() for p in sorted((EXAMPLES / "meetings").glob("*.txt")))
    inbox = [
        json.loads(line)
        for line in (EXAMPLES / "invoices" / "inbox-2026-11-27.jsonl").read_text().splitlines()
        if line.strip()
    ]
    invoices = [dict(inbox[i % len(inbox)], invoice_id=f"INV-{300000 + i}") for i in range(1000)]
    return {
        "transcript": ("meeting-summaries", "TRANSCRIPT:\n" + transcripts),
        "invoices": ("invoice-triage", invoices),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args(argv)

    from airflow_ai_governance.boundary import apply_boundary
    from airflow_ai_governance.gates import TaskRef, preflight
    from airflow_ai_governance.gates.boundary import AI_INPUT_CHECK, enforce_boundary
    from airflow_ai_governance.store import dispose_engines

    with tempfile.TemporaryDirectory(prefix="aigov-bench-ai-input-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'sidecar.db'}"
        _setup(url)
        figures: dict[str, float] = {}
        for name, (use_case, raw) in _payloads().items():
            task = TaskRef("bench_ai_input", f"run_{name}", "ai_task", production=True)
            ctx = preflight(use_case, task, gate="ai_task", db=url)
            assert ctx.policy.data_boundary is not None
            actions = {str(t): a for t, a in ctx.policy.data_boundary.actions().items()}
            received = apply_boundary(raw, actions).data  # what the upstream boundary passes on
            size = len(json.dumps(received))
            scan = _median_ms(lambda r=received, a=actions: apply_boundary(r, a), args.iterations)
            guard = _median_ms(
                lambda c=ctx, r=received: enforce_boundary(c, r, (), close_run=False, check=AI_INPUT_CHECK),
                args.iterations,
            )
            gate = _median_ms(
                lambda c=ctx, r=raw: enforce_boundary(c, r, (), close_run=False), args.iterations
            )
            outcome = enforce_boundary(ctx, received, (), close_run=False, check=AI_INPUT_CHECK)
            print(
                f"{name}: {size:,} characters, scan {scan:.2f} ms, guard (scan + check recorded) "
                f"{guard:.2f} ms, the boundary gate on the raw data {gate:.2f} ms "
                f"(guard outcome {outcome.outcome}, {outcome.findings} finding(s) in the redacted data)"
            )
            figures[name] = guard / gate
        dispose_engines()
    verdict = "PASS" if figures["invoices"] <= TARGET_RATIO else "FAIL"
    print(
        f"bench ai_input_guard: {figures['invoices']:.2f} x the boundary gate on 1,000 records "
        f"(target <= {TARGET_RATIO:.1f}) {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
