"""The cost of walking records and DataFrames around the scanner, in one run.

    python bench/boundary_walk.py [--records 5000] [--rows 50000] [--repeat 5]

``apply_boundary`` walks a value (keys, numbers, nested containers, every part of a DataFrame),
scans every text in it and rebuilds it with masks. This bench compares that with the floor: the
scanner alone on the same texts (every key and value, numbers as digits), gathered beforehand.
CPU time (``time.process_time``), median of ``--repeat`` interleaved passes. The last line is
``bench boundary_walk: <ratio> x scan alone (target <= 2.0) PASS|FAIL`` for the records; the
DataFrame figure is printed above it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

TARGET = 2.0
ACTIONS = {
    "EMAIL_ADDRESS": "redact",
    "PHONE_NUMBER": "redact",
    "CREDIT_CARD": "block",
    "IP_ADDRESS": "record",
}


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "customer": {"name": f"Customer {i}", "email": f"c{i}@example.com" if i % 10 == 0 else "n/a"},
            "items": [
                {"sku": f"SKU-{i}-{j}", "qty": j, "note": "deliver to the back door"} for j in range(3)
            ],
            "comment": "The meeting covered the roadmap and staffing for next quarter.",
        }
        for i in range(n)
    ]


def _texts(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            out.append(str(node))
        elif isinstance(node, dict):
            for k, v in node.items():
                stack.extend([k, v])
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("AIGOV_REDACTION_KEY", "bench-redaction-key-" + "0" * 32)
    warnings.simplefilter("ignore")

    import numpy as np
    import pandas as pd

    from airflow_ai_governance.boundary import Scanner, apply_boundary

    scanner = Scanner(ACTIONS)
    records = _records(args.records)
    texts = _texts(records)
    frame = pd.DataFrame(
        {
            "note": [
                "call +1 415 555 0132" if i % 50 == 0 else "all fine, nothing to report"
                for i in range(args.rows)
            ],
            "id": np.arange(args.rows),
            "amount": np.random.default_rng(1).random(args.rows) * 100,
            "kind": pd.Categorical(["a", "b"] * (args.rows // 2)),
        }
    )
    frame_texts = frame["note"].tolist() + [str(i) for i in frame["id"].tolist()]

    walk_records = _median(lambda: apply_boundary(records, ACTIONS, scanner), args.repeat)
    scan_records = _median(lambda: [scanner.scan_text(t) for t in texts], args.repeat)
    walk_frame = _median(lambda: apply_boundary(frame, ACTIONS, scanner), args.repeat)
    scan_frame = _median(lambda: list(scanner.scan_many(frame_texts)), args.repeat)

    print(
        f"records: {args.records} ({len(texts)} texts): walk {walk_records:.3f} s, scan alone {scan_records:.3f} s"
    )
    print(
        f"dataframe: {args.rows} rows x 4 columns: walk {walk_frame:.3f} s, scan alone {scan_frame:.3f} s "
        f"({walk_frame / scan_frame:.2f} x)"
    )
    ratio = walk_records / scan_records
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"bench boundary_walk: {ratio:.2f} x scan alone (target <= {TARGET}) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
