"""Optional Presidio backend behind the :class:`~.scanner.Scanner` interface (extra ``presidio``).

:class:`PresidioScanner` runs Presidio's *pattern* recognizers for our entity types (e-mail, phone,
credit card, IBAN, US SSN, IP) with a blank spaCy pipeline, so no spaCy model has to be downloaded.
Presidio has no recognizer for secrets, so ``SECRET`` is never reported by this backend; Presidio
entity types without an equivalent here (``CRYPTO``, ``URL``, ...) are not loaded.

By default the analyzer loads only the recognizers of the entity types above (the same work as
ours); ``recognizers="all"`` loads every predefined recognizer, as ``AnalyzerEngine()`` does, and
ignores the entity types we do not map (``CRYPTO``, ``DATE_TIME``, ...): same findings, more time.
Either way the e-mail recognizer checks the top-level domain against ``tldextract``'s bundled
public-suffix snapshot instead of downloading the list at first use (no network access).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Literal

from airflow_ai_governance.boundary.scanner import ScannerBase, parse_types
from airflow_ai_governance.boundary.types import EntityType, Finding

__all__ = ["PRESIDIO_ENTITIES", "PresidioScanner", "presidio_available"]

log = logging.getLogger(__name__)

#: Presidio entity name for each of our types (SECRET has none).
PRESIDIO_ENTITIES: dict[EntityType, str] = {
    EntityType.EMAIL_ADDRESS: "EMAIL_ADDRESS",
    EntityType.PHONE_NUMBER: "PHONE_NUMBER",
    EntityType.CREDIT_CARD: "CREDIT_CARD",
    EntityType.IBAN_CODE: "IBAN_CODE",
    EntityType.US_SSN: "US_SSN",
    EntityType.IP_ADDRESS: "IP_ADDRESS",
}
_FROM_PRESIDIO = {name: etype for etype, name in PRESIDIO_ENTITIES.items()}

_MISSING = (
    "The Presidio backend needs presidio-analyzer and spaCy: "
    "pip install 'airflow-ai-governance[presidio]' (no spaCy model is needed)."
)


def presidio_available() -> bool:
    """Whether presidio-analyzer and spaCy can be imported."""
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


def _build_analyzer(language: str, recognizers: Literal["mapped", "all"]) -> Any:
    try:
        import spacy
        import tldextract
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            PhoneRecognizer,
            UsSsnRecognizer,
        )
    except ImportError as exc:
        raise ImportError(_MISSING) from exc

    class _BlankSpacyNlpEngine(SpacyNlpEngine):  # type: ignore[misc]
        """spaCy tokenizer only: ``spacy.blank(language)``, nothing to download."""

        def load(self) -> None:
            self.nlp = {language: spacy.blank(language)}  # type: ignore[assignment]

    offline_tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class _OfflineEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        """Presidio's e-mail recognizer, with tldextract's bundled suffix list (no network)."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_tld(pattern_text).fqdn != "")

    engine = _BlankSpacyNlpEngine(models=[{"lang_code": language, "model_name": f"blank:{language}"}])
    engine.load()
    registry = RecognizerRegistry(supported_languages=[language])
    if recognizers == "all":
        registry.load_predefined_recognizers(languages=[language], nlp_engine=engine)
        registry.remove_recognizer("EmailRecognizer")
        registry.add_recognizer(_OfflineEmailRecognizer(supported_language=language))
    else:
        for recognizer in (
            _OfflineEmailRecognizer(supported_language=language),
            PhoneRecognizer(supported_language=language),
            CreditCardRecognizer(supported_language=language),
            IbanRecognizer(supported_language=language),
            UsSsnRecognizer(supported_language=language),
            IpRecognizer(supported_language=language),
        ):
            registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=[language])


class PresidioScanner(ScannerBase):
    """Presidio's pattern recognizers with the :class:`~.scanner.Scanner` methods.

    ``score_threshold`` is Presidio's (default 0, as in ``AnalyzerEngine``); ``language`` selects
    the blank spaCy tokenizer; ``recognizers`` is ``"mapped"`` (only those of our entity types) or
    ``"all"`` (every predefined recognizer, unmapped entity types dropped). Raises ``ImportError``
    with install instructions when Presidio or spaCy are missing.
    """

    def __init__(
        self,
        types: Iterable[EntityType | str] | None = None,
        *,
        score_threshold: float = 0.0,
        language: str = "en",
        recognizers: Literal["mapped", "all"] = "mapped",
    ) -> None:
        self.types = parse_types(types)
        self.score_threshold = score_threshold
        self.language = language
        self.recognizers = recognizers
        self._entities = [PRESIDIO_ENTITIES[t] for t in sorted(self.types) if t in PRESIDIO_ENTITIES]
        if EntityType.SECRET in self.types:
            log.info("Presidio has no recognizer for SECRET; the Presidio backend will not report it")
        self._analyzer = _build_analyzer(language, recognizers)

    def __repr__(self) -> str:
        return f"PresidioScanner(types={sorted(t.value for t in self.types)!r})"

    def scan_text(self, text: str) -> list[Finding]:
        """Findings in ``text`` as Presidio reports them (overlaps left as they are), sorted."""
        if not text or not self._entities:
            return []
        results = self._analyzer.analyze(
            text=text,
            language=self.language,
            # "all": every recognizer runs (as with AnalyzerEngine() defaults), unmapped types are dropped
            entities=None if self.recognizers == "all" else self._entities,
            score_threshold=self.score_threshold,
        )
        wanted = self.types
        findings = [
            Finding(_FROM_PRESIDIO[r.entity_type], int(r.start), int(r.end), round(float(r.score), 4))
            for r in results
            if r.entity_type in _FROM_PRESIDIO and _FROM_PRESIDIO[r.entity_type] in wanted
        ]
        findings.sort(key=lambda f: (f.start, f.end, f.type))
        return findings
