"""Benchmark: Great Expectations import cost vs. output-standard validation time.

Run in a fresh process (``make bench`` does): ``.venv/bin/python bench/gx_import.py [--strict]``.

Measures, with the invoice-triage example policy (15 expectations):

* importing ``airflow_ai_governance.quality`` (must not import GX or pandas);
* importing ``great_expectations`` (wall and CPU seconds, resident memory growth);
* the first validation of 1,000 rows (context, field-type expectation, suite, validation);
* warm validations of 1,000 rows (median of 20; wall and CPU milliseconds);
* throughput on 100,000 rows (milliseconds per 1,000 rows, fixed cost amortised).

The last line is ``bench gx_validation: <ms> ms per 1,000 rows (target < 50) PASS|FAIL`` for the warm
1,000-row validation (wall clock). The exit status is 0 unless ``--strict`` is given and it fails.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

TARGET_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("auto_pay", "manager_review", "dispute")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {"invoice_id": f"INV-{i:06d}", "queue": QUEUES[i % 3], "confidence": 0.55 + (i % 45) / 100}
        for i in range(n)
    ]


def _timed(fn: Any, repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``fn()`` over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    strict = "--strict" in sys.argv[1:]

    start = time.perf_counter()
    import airflow_ai_governance.quality as quality
    from airflow_ai_governance.policy import load_policy

    pkg_s = time.perf_counter() - start
    leaked = [m for m in ("great_expectations", "pandas") if m in sys.modules]
    print(f"import airflow_ai_governance.quality: {pkg_s:.2f} s (imports GX/pandas: {leaked or 'no'})")

    rss0 = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    import great_expectations  # noqa: F401  (timed on purpose)

    print(
        f"import great_expectations: {time.perf_counter() - wall:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU, +{_rss_mb() - rss0:.0f} MB max RSS"
    )

    policy = load_policy(ROOT / "dags" / "governance" / "invoice_triage.yaml").policy
    standard = policy.output_standard
    assert standard is not None
    rows = _rows(1000)

    wall, cpu = time.perf_counter(), time.process_time()
    report = quality.validate_output(rows, standard, name=policy.id)
    print(
        f"first validation, 1,000 rows ({report.evaluated} expectations, success={report.success}): "
        f"{(time.perf_counter() - wall) * 1000:.0f} ms wall, {(time.process_time() - cpu) * 1000:.0f} ms CPU "
        "(context + suite + validation, GX already imported)"
    )
    if not report.success:
        print(report.message)
        return 1

    warm_wall, warm_cpu = _timed(lambda: quality.validate_output(rows, standard, name=policy.id), 20)
    print(
        f"warm validation, 1,000 rows: {warm_wall:.1f} ms wall, {warm_cpu:.1f} ms CPU (median of 20); "
        f"{warm_cpu / report.evaluated:.1f} ms CPU per expectation"
    )

    small = _rows(10)
    small_wall, small_cpu = _timed(lambda: quality.validate_output(small, standard, name=policy.id), 10)
    print(f"warm validation, 10 rows: {small_wall:.1f} ms wall, {small_cpu:.1f} ms CPU (fixed GX cost)")

    big = _rows(100_000)
    big_wall, big_cpu = _timed(lambda: quality.validate_output(big, standard, name=policy.id), 3)
    print(
        f"throughput, 100,000 rows: {big_wall:.0f} ms wall, {big_cpu:.0f} ms CPU = "
        f"{big_wall / 100:.1f} ms wall per 1,000 rows"
    )

    verdict = "PASS" if warm_wall < TARGET_MS else "FAIL"
    print(f"bench gx_validation: {warm_wall:.1f} ms per 1,000 rows (target < {TARGET_MS:.0f}) {verdict}")
    return 1 if strict and verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
