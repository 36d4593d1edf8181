"""Boundary scanner vs Presidio's pattern recognizers: accuracy and throughput, in one run.

    python bench/boundary.py [--docs 1000] [--seed 2026]

Both backends scan the same generated, labelled documents (see
``airflow_ai_governance.boundary.evaluation``). Accuracy uses exact span matching. Throughput is CPU
time (``time.process_time``, both single-threaded) over the same texts, measured in interleaved
chunks of 200 documents so that both see the same machine load: Presidio scans each chunk once,
ours ``--repeat`` times and the median pass counts (robust to scheduler noise on a shared machine).
The last line is ``bench boundary_throughput: <ratio> x presidio (target >= 100) PASS|FAIL``; PASS
needs the ratio target *and* the accuracy targets (per type, our precision and recall >= Presidio's;
micro F1 >= 0.98).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

from airflow_ai_governance.boundary import EntityType, Finding, Scanner
from airflow_ai_governance.boundary.evaluation import EvaluationReport, generate_corpus, score

RATIO_TARGET = 100.0
F1_TARGET = 0.98
CHUNK = 200


def _table(ours: EvaluationReport, presidio: EvaluationReport | None) -> list[str]:
    lines = [
        f"{'type':<14} {'gold':>5} | {'ours P':>7} {'ours R':>7} {'F1':>6} | {'presidio P':>10} {'R':>6} {'F1':>6}",
        "-" * 74,
    ]
    for etype in EntityType:
        o = ours.per_type[etype]
        row = f"{etype.value:<14} {o.support:>5} | {o.precision:>7.3f} {o.recall:>7.3f} {o.f1:>6.3f} |"
        if presidio is not None:
            p = presidio.per_type[etype]
            p_prec = f"{p.precision:.3f}" if p.tp + p.fp else "  n/a"
            row += f" {p_prec:>10} {p.recall:>6.3f} {p.f1:>6.3f}"
        lines.append(row)
    lines.append("-" * 74)
    om = ours.micro
    row = f"{'micro':<14} {om.support:>5} | {om.precision:>7.3f} {om.recall:>7.3f} {om.f1:>6.3f} |"
    if presidio is not None:
        pm = presidio.micro
        row += f" {pm.precision:>10.3f} {pm.recall:>6.3f} {pm.f1:>6.3f}"
    lines.append(row)
    return lines


def _accuracy_ok(ours: EvaluationReport, presidio: EvaluationReport) -> tuple[bool, list[str]]:
    problems = []
    for etype in EntityType:
        o, p = ours.per_type[etype], presidio.per_type[etype]
        if o.precision < p.precision:
            problems.append(f"{etype.value} precision {o.precision:.3f} < presidio {p.precision:.3f}")
        if o.recall < p.recall:
            problems.append(f"{etype.value} recall {o.recall:.3f} < presidio {p.recall:.3f}")
    if ours.micro.f1 < F1_TARGET:
        problems.append(f"micro F1 {ours.micro.f1:.4f} < {F1_TARGET}")
    return not problems, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000, help="documents in the corpus (default 1000)")
    parser.add_argument("--seed", type=int, default=2026, help="corpus seed (default 2026)")
    parser.add_argument("--repeat", type=int, default=5, help="passes of our scanner per chunk (default 5)")
    parser.add_argument(
        "--reference-docs",
        type=int,
        default=100,
        help="documents for the reference timing of Presidio's full default registry (0: skip)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = generate_corpus(args.docs, seed=args.seed)
    texts = [doc.text for doc in corpus]
    size_mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(
        f"corpus: {len(corpus)} documents, {size_mb:.2f} MB, {sum(len(d.spans) for d in corpus)} labelled "
        f"entities, seed {args.seed} (generated in {time.perf_counter() - started:.1f} s)"
    )

    ours = Scanner()
    try:
        from airflow_ai_governance.boundary.presidio_backend import PresidioScanner

        presidio: PresidioScanner | None = PresidioScanner()
    except ImportError as exc:
        presidio = None
        print(f"presidio: not available ({exc})")

    # warm-up (lazy loading on first use), then interleaved timing on the same chunks
    for text in texts[:5]:
        ours.scan_text(text)
        if presidio is not None:
            presidio.scan_text(text)
    ours_cpu = presidio_cpu = 0.0
    ours_found: list[list[Finding]] = []
    presidio_found: list[list[Finding]] = []
    for i in range(0, len(texts), CHUNK):
        chunk = texts[i : i + CHUNK]
        if presidio is not None:
            t0 = time.process_time()
            presidio_found.extend(presidio.scan_text(text) for text in chunk)
            presidio_cpu += time.process_time() - t0
        passes = []
        for _ in range(args.repeat):
            t0 = time.process_time()
            found = [ours.scan_text(text) for text in chunk]
            passes.append(time.process_time() - t0)
        ours_cpu += statistics.median(passes)
        ours_found.extend(found)

    ours_report = score(corpus, ours_found)
    presidio_report = score(corpus, presidio_found) if presidio is not None else None
    print("accuracy (exact span match):")
    for line in _table(ours_report, presidio_report):
        print("  " + line)
    ours_mbs = size_mb / max(ours_cpu, 1e-9)
    print(
        f"throughput (CPU time, same texts): ours {ours_mbs:.2f} MB/s ({ours_cpu * 1e6 / len(texts):.0f} us/doc)"
    )
    if presidio is None or presidio_report is None:
        print("accuracy: cannot compare without Presidio FAIL")
        print(f"bench boundary_throughput: 0.0 x presidio (target >= {RATIO_TARGET:g}) FAIL")
        return 0
    presidio_mbs = size_mb / max(presidio_cpu, 1e-9)
    print(
        f"throughput (CPU time, same texts): presidio {presidio_mbs:.3f} MB/s "
        f"({presidio_cpu * 1e3 / len(texts):.1f} ms/doc)"
    )
    ok, problems = _accuracy_ok(ours_report, presidio_report)
    for problem in problems:
        print(f"  accuracy problem: {problem}")
    print(
        f"accuracy: per-type precision and recall >= presidio: {'yes' if ok else 'no'}; micro F1 ours "
        f"{ours_report.micro.f1:.4f} (target >= {F1_TARGET}), presidio {presidio_report.micro.f1:.4f} "
        f"{'PASS' if ok else 'FAIL'}"
    )
    if args.reference_docs > 0:
        # For reference only: AnalyzerEngine()'s default registry (every predefined recognizer, as in
        # the baseline measurement). Same findings for our types, a little slower; the ratio
        # above uses the faster, restricted configuration.
        full = PresidioScanner(recognizers="all")
        sample = texts[: args.reference_docs]
        full.scan_text(sample[0])
        t0 = time.process_time()
        for text in sample:
            full.scan_text(text)
        full_cpu = time.process_time() - t0
        sample_mb = sum(len(t.encode("utf-8")) for t in sample) / 1e6
        print(
            f"reference: presidio with all predefined recognizers {sample_mb / full_cpu:.3f} MB/s "
            f"({full_cpu * 1e3 / len(sample):.1f} ms/doc, first {len(sample)} documents; not used for the ratio)"
        )
    ratio = ours_mbs / presidio_mbs
    passed = ok and ratio >= RATIO_TARGET
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    print(
        f"bench boundary_throughput: {ratio:.1f} x presidio (target >= {RATIO_TARGET:g}) {'PASS' if passed else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
