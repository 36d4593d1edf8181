"""Boundary scanner vs Presidio's pattern recognizers: accuracy and throughput, in one run.

    python bench/boundary.py [--docs 1000] [--seed 2026] [--sentences 6000] [--eval-seed 2026]

Three labelled corpora, each scanned by both backends, in the same process, on the same records:

* **own**: the project's generator (``airflow_ai_governance.boundary.evaluation``), ``--docs``
  documents from ``--seed``. The scanner was developed against this distribution.
* **independent**: text this project did not write, which the scanner was not tuned on:
  ``--sentences`` sentences from presidio-evaluator's sentence faker and templates
  (``bench/independent_corpus.py``, run in its own virtualenv ``bench/.venv-eval`` created by
  ``bench/setup_eval_venv.sh``; the generated file is cached in ``bench/.corpus/``, not in git),
  **plus** the hand-labelled documents in ``bench/data/boundary_documents.txt`` (e-mail threads,
  CSV exports, logs, JSON payloads, tickets).

Accuracy uses exact span matching (same type, start and end). Throughput is CPU time
(``time.process_time``, both single-threaded) over all records, measured in interleaved chunks of
200 records so both see the same machine load: Presidio scans each chunk once, ours ``--repeat``
times and the median pass counts.

Targets (exit status 1 if one is missed): independent micro F1 >= 0.97 and, per type, our
precision and recall >= Presidio's; own corpus micro F1 >= 0.99 (per type >= Presidio's too);
throughput >= 100x Presidio. The last line is
``bench boundary_throughput: <ratio> x presidio (target >= 100) PASS|FAIL`` (PASS needs every target).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_ai_governance.boundary import EntityType, Finding, Scanner
from airflow_ai_governance.boundary.evaluation import (
    EvaluationReport,
    LabelledText,
    Span,
    TypeScore,
    generate_corpus,
    score,
)

RATIO_TARGET = 100.0
OWN_F1_TARGET = 0.99
INDEPENDENT_F1_TARGET = 0.97
CHUNK = 200

HERE = Path(__file__).resolve().parent
DOCUMENTS = HERE / "data" / "boundary_documents.txt"
CACHE = HERE / ".corpus"
EVAL_PYTHON = HERE / ".venv-eval" / "bin" / "python"

_MARK_RE = re.compile(r"\[\[([A-Z_]+)\|(.*?)\]\]", re.DOTALL)


def load_documents(path: Path = DOCUMENTS) -> list[LabelledText]:
    """The hand-labelled documents: ``### id | kind`` headers, entities marked ``[[TYPE|value]]``."""
    docs: list[LabelledText] = []
    for block in re.split(r"^### .*\n", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]:
        parts: list[str] = []
        spans: list[Span] = []
        length = 0
        last = 0
        for m in _MARK_RE.finditer(block):
            parts.append(block[last : m.start()])
            length += m.start() - last
            value = m.group(2)
            spans.append(Span(EntityType(m.group(1)), length, length + len(value)))
            parts.append(value)
            length += len(value)
            last = m.end()
        parts.append(block[last:])
        docs.append(LabelledText("".join(parts).rstrip("\n"), tuple(spans)))
    return docs


def independent_sentences(count: int, seed: int) -> list[LabelledText] | None:
    """presidio-evaluator sentences, generated once per (seed, count) into the cache directory."""
    path = CACHE / f"independent-{seed}-{count}.jsonl"
    if not path.exists():
        if not EVAL_PYTHON.exists():
            print(f"independent corpus: {EVAL_PYTHON} missing; run bench/setup_eval_venv.sh first")
            return None
        CACHE.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        cmd = [str(EVAL_PYTHON), str(HERE / "independent_corpus.py"), "--sentences", str(count)]
        subprocess.run([*cmd, "--seed", str(seed), "--out", str(tmp)], check=True)
        tmp.rename(path)
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record: dict[str, Any] = json.loads(line)
        spans = tuple(Span(EntityType(s["type"]), s["start"], s["end"]) for s in record["spans"])
        docs.append(LabelledText(record["text"], spans))
    return docs


def _table(ours: EvaluationReport, presidio: EvaluationReport) -> list[str]:
    lines = [
        f"{'type':<14} {'gold':>5} | {'ours P':>7} {'ours R':>7} {'F1':>6} | {'presidio P':>10} {'R':>6} {'F1':>6}",
        "-" * 74,
    ]
    for etype in EntityType:
        o, p = ours.per_type[etype], presidio.per_type[etype]
        p_prec = f"{p.precision:.3f}" if p.tp + p.fp else "  n/a"
        lines.append(
            f"{etype.value:<14} {o.support:>5} | {o.precision:>7.3f} {o.recall:>7.3f} {o.f1:>6.3f} |"
            f" {p_prec:>10} {p.recall:>6.3f} {p.f1:>6.3f}"
        )
    lines.append("-" * 74)
    om, pm = ours.micro, presidio.micro
    lines.append(
        f"{'micro':<14} {om.support:>5} | {om.precision:>7.3f} {om.recall:>7.3f} {om.f1:>6.3f} |"
        f" {pm.precision:>10.3f} {pm.recall:>6.3f} {pm.f1:>6.3f}"
    )
    return lines


def _problems(name: str, ours: EvaluationReport, presidio: EvaluationReport, f1_target: float) -> list[str]:
    problems = []
    for etype in EntityType:
        o, p = ours.per_type[etype], presidio.per_type[etype]
        if o.precision < p.precision:
            problems.append(f"{name}: {etype.value} precision {o.precision:.3f} < presidio {p.precision:.3f}")
        if o.recall < p.recall:
            problems.append(f"{name}: {etype.value} recall {o.recall:.3f} < presidio {p.recall:.3f}")
    if ours.micro.f1 < f1_target:
        problems.append(f"{name}: micro F1 {ours.micro.f1:.4f} < {f1_target}")
    return problems


def _run(
    texts: list[str], ours: Scanner, presidio: Any, repeat: int
) -> tuple[list[list[Finding]], list[list[Finding]], float, float]:
    """Findings of both backends and their CPU time, in interleaved chunks."""
    ours_cpu = presidio_cpu = 0.0
    ours_found: list[list[Finding]] = []
    presidio_found: list[list[Finding]] = []
    for i in range(0, len(texts), CHUNK):
        chunk = texts[i : i + CHUNK]
        t0 = time.process_time()
        presidio_found.extend(presidio.scan_text(text) for text in chunk)
        presidio_cpu += time.process_time() - t0
        passes = []
        found: list[list[Finding]] = []
        for _ in range(repeat):
            t0 = time.process_time()
            found = [ours.scan_text(text) for text in chunk]
            passes.append(time.process_time() - t0)
        ours_cpu += statistics.median(passes)
        ours_found.extend(found)
    return ours_found, presidio_found, ours_cpu, presidio_cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000, help="own-corpus documents (default 1000)")
    parser.add_argument("--seed", type=int, default=2026, help="own-corpus seed (default 2026)")
    parser.add_argument(
        "--sentences", type=int, default=6000, help="presidio-evaluator sentences (default 6000)"
    )
    parser.add_argument("--eval-seed", type=int, default=2026, help="presidio-evaluator seed (default 2026)")
    parser.add_argument("--repeat", type=int, default=5, help="passes of our scanner per chunk (default 5)")
    parser.add_argument(
        "--reference-docs",
        type=int,
        default=100,
        help="documents for the reference timing of Presidio's full default registry (0: skip)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    own = generate_corpus(args.docs, seed=args.seed)
    sentences = independent_sentences(args.sentences, args.eval_seed)
    documents = load_documents()
    corpora: dict[str, list[LabelledText]] = {"own": own, "documents": documents}
    if sentences is not None:
        corpora["presidio-evaluator"] = sentences
    for name, corpus in corpora.items():
        size = sum(len(d.text.encode("utf-8")) for d in corpus) / 1e6
        print(
            f"corpus {name}: {len(corpus)} records, {size:.2f} MB, {sum(len(d.spans) for d in corpus)} labelled entities"
        )

    try:
        from airflow_ai_governance.boundary.presidio_backend import PresidioScanner

        presidio = PresidioScanner()
    except ImportError as exc:
        print(f"presidio: not available ({exc})")
        print(f"bench boundary_throughput: 0.0 x presidio (target >= {RATIO_TARGET:g}) FAIL")
        return 1
    ours = Scanner()
    for text in own[0].text, documents[0].text:  # warm-up (lazy loading on first use)
        ours.scan_text(text)
        presidio.scan_text(text)

    reports: dict[str, tuple[EvaluationReport, EvaluationReport]] = {}
    ours_cpu = presidio_cpu = 0.0
    total_mb = 0.0
    for name, corpus in corpora.items():
        texts = [d.text for d in corpus]
        o_found, p_found, o_cpu, p_cpu = _run(texts, ours, presidio, args.repeat)
        reports[name] = (score(corpus, o_found), score(corpus, p_found))
        ours_cpu += o_cpu
        presidio_cpu += p_cpu
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        total_mb += mb
        print(f"  {name}: ours {mb / max(o_cpu, 1e-9):.2f} MB/s, presidio {mb / max(p_cpu, 1e-9):.3f} MB/s")

    problems: list[str] = []
    if sentences is not None:
        independent = [*sentences, *documents]
        o_ind = _merge(reports["presidio-evaluator"][0], reports["documents"][0])
        p_ind = _merge(reports["presidio-evaluator"][1], reports["documents"][1])
        reports["independent (evaluator + documents)"] = (o_ind, p_ind)
        problems += _problems("independent", o_ind, p_ind, INDEPENDENT_F1_TARGET)
        print(f"independent: {len(independent)} records")
    else:
        problems.append("independent corpus not available")
    problems += _problems("own", *reports["own"], OWN_F1_TARGET)

    for name, (o_rep, p_rep) in reports.items():
        print(f"accuracy on {name} (exact span match):")
        for line in _table(o_rep, p_rep):
            print("  " + line)

    ours_mbs = total_mb / max(ours_cpu, 1e-9)
    presidio_mbs = total_mb / max(presidio_cpu, 1e-9)
    print(f"throughput (CPU time, all records): ours {ours_mbs:.2f} MB/s, presidio {presidio_mbs:.3f} MB/s")
    if args.reference_docs > 0:
        # For reference only: AnalyzerEngine()'s default registry (every predefined recognizer).
        full = PresidioScanner(recognizers="all")
        sample = [d.text for d in own[: args.reference_docs]]
        full.scan_text(sample[0])
        t0 = time.process_time()
        for text in sample:
            full.scan_text(text)
        full_cpu = time.process_time() - t0
        sample_mb = sum(len(t.encode("utf-8")) for t in sample) / 1e6
        print(
            f"reference: presidio with all predefined recognizers {sample_mb / full_cpu:.3f} MB/s "
            f"(first {len(sample)} own documents; not used for the ratio)"
        )
    ratio = ours_mbs / presidio_mbs
    if ratio < RATIO_TARGET:
        problems.append(f"throughput {ratio:.1f}x < {RATIO_TARGET:g}x")
    for problem in problems:
        print(f"  target missed: {problem}")
    if sentences is not None:
        o_ind = reports["independent (evaluator + documents)"][0]
        print(f"independent micro F1 {o_ind.micro.f1:.4f} (target >= {INDEPENDENT_F1_TARGET})")
    print(f"own micro F1 {reports['own'][0].micro.f1:.4f} (target >= {OWN_F1_TARGET})")
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    verdict = "FAIL" if problems else "PASS"
    print(f"bench boundary_throughput: {ratio:.1f} x presidio (target >= {RATIO_TARGET:g}) {verdict}")
    return 1 if problems else 0


def _merge(a: EvaluationReport, b: EvaluationReport) -> EvaluationReport:
    """Counts of two reports added per type (the score of the two corpora together)."""
    merged = {
        t: TypeScore(a.per_type[t].tp + b.per_type[t].tp, a.per_type[t].fp + b.per_type[t].fp,
                     a.per_type[t].fn + b.per_type[t].fn)
        for t in a.per_type
    }  # fmt: skip
    return EvaluationReport(merged, a.rule)


if __name__ == "__main__":
    sys.exit(main())
