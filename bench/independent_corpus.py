"""Independent labelled corpus for the boundary bench, from presidio-evaluator's sentence faker.

    bench/.venv-eval/bin/python bench/independent_corpus.py --sentences 3000 --seed 2026 --out FILE.jsonl

Runs in ``bench/.venv-eval`` (``bench/setup_eval_venv.sh``), apart from the project's virtualenv:
presidio-evaluator's pins need not fit beside Airflow. It uses the evaluator's own templates
(``raw_data/templates.txt``), entity providers and person records, with its own seeding
(``PresidioSentenceFaker.seed``), so the same seed gives the same file. None of this text was
written by this project: it is the corpus the scanner was *not* tuned on.

Each output line is ``{"text", "spans": [{"type", "start", "end"}], "template_id"}``. Only the
spans of the scanner's entity types are kept (``EMAIL_ADDRESS``, ``PHONE_NUMBER``, ``CREDIT_CARD``,
``IBAN_CODE``, ``US_SSN``, ``IP_ADDRESS``); names, addresses, dates, driver licences, zip codes
and the rest stay in the text, unlabelled, as look-alikes. ``bench/boundary.py`` calls this script
when the cached file is missing; the generated file goes to ``bench/.corpus/`` (not in git).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys

OUR_TYPES = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"}


def _unescape(text: str, spans: list[dict[str, object]]) -> tuple[str, list[dict[str, object]]]:
    """The evaluator's templates write line breaks as the two characters backslash and ``n`` (and
    ``\\,`` for a comma); turn them into what they stand for and shift the spans to match."""
    out: list[str] = []
    removed_before: list[int] = []  # for each original offset, characters removed before it
    removed = 0
    i = 0
    while i < len(text):
        removed_before.append(removed)
        if text.startswith("\\n", i) or text.startswith("\\,", i):
            out.append("\n" if text[i + 1] == "n" else ",")
            removed_before.append(removed)
            removed += 1
            i += 2
            continue
        out.append(text[i])
        i += 1
    removed_before.append(removed)
    shifted = [
        {**s, "start": s["start"] - removed_before[s["start"]], "end": s["end"] - removed_before[s["end"]]}  # type: ignore[index,operator]
        for s in spans
    ]
    return "".join(out), shifted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from presidio_evaluator.data_generator import PresidioSentenceFaker

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=args.seed)
        samples = faker.generate_new_fake_sentences(num_samples=args.sentences)
    kept = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for sample in samples:
            text, spans = _unescape(
                sample.full_text,
                [
                    {"type": s.entity_type, "start": int(s.start_position), "end": int(s.end_position)}
                    for s in sample.spans
                    if s.entity_type in OUR_TYPES
                ],
            )
            for s in spans:  # the evaluator's offsets must point at the value
                assert 0 <= s["start"] < s["end"] <= len(text), (s, text)
            kept += len(spans)
            record = {"text": text, "spans": spans, "template_id": sample.template_id}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(samples)} sentences, {kept} labelled entities of our types -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
