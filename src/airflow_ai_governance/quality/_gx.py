"""The process-wide Great Expectations runtime, created on first use.

Great Expectations takes seconds and ~250 MB to import, so nothing here runs at import time:
:func:`gx_runtime` imports it, builds one ephemeral, quiet, offline data context with a pandas
datasource and a whole-dataframe batch definition, registers the field-type expectation, and
caches all of it for the life of the process.

Quiet and offline:

* progress bars: the context's ``progress_bars`` config (``globally`` and ``metric_calculations``
  false) is what GX's validator reads before drawing its "Calculating Metrics" tqdm bar;
* analytics: GX 1.24 ships no usage-statistics client, but ``GX_ANALYTICS_ENABLED=False`` (unless
  already set) and ``analytics_enabled=False`` in the context config keep it off should a future
  1.x add one; the ephemeral context has in-memory stores and no data-docs site, so nothing is
  written to disk and nothing reaches the network;
* logging: GX's loggers are raised to WARNING when nobody configured them.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from airflow_ai_governance.policy.models import FieldType
from airflow_ai_governance.quality.types import TYPE_CHECKS

log = logging.getLogger(__name__)

FIELD_TYPE_EXPECTATION = "expect_column_values_to_match_field_type"
"""Snake-case type of the per-value field-type expectation registered with GX."""

_FIELD_TYPE_METRIC = "column_values.aigov_match_field_type"

_lock = threading.RLock()
_runtime: GXRuntime | None = None


@dataclass(frozen=True)
class GXRuntime:
    """The cached GX objects; ``lock`` serialises validations on the shared context."""

    gx: Any
    context: Any
    batch_definition: Any
    lock: threading.RLock


def _quiet_gx_logging() -> None:
    for name in ("great_expectations", "great_expectations.data_context", "great_expectations.core"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _register_field_type_expectation() -> None:
    """Define and register ``ExpectColumnValuesToMatchFieldType`` and its pandas metric, once."""
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnMapExpectation
    from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (
        ColumnMapMetricProvider,
    )
    from great_expectations.expectations.registry import _registered_expectations

    if FIELD_TYPE_EXPECTATION in _registered_expectations:
        return

    class ColumnValuesMatchFieldType(ColumnMapMetricProvider):
        condition_metric_name = _FIELD_TYPE_METRIC
        condition_value_keys = ("field_type",)

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column: Any, field_type: str, **kwargs: Any) -> Any:
            return column.map(TYPE_CHECKS[field_type]).astype(bool)

    class ExpectColumnValuesToMatchFieldType(ColumnMapExpectation):
        """Expect each non-null value to be of an airflow-ai-governance output field type."""

        field_type: FieldType

        map_metric = _FIELD_TYPE_METRIC
        success_keys = ("field_type", "mostly")
        args_keys = ("column", "field_type")

    # Defining the classes registered them with GX; keep references for introspection.
    _REGISTERED.extend([ColumnValuesMatchFieldType, ExpectColumnValuesToMatchFieldType])


_REGISTERED: list[type] = []


def gx_runtime() -> GXRuntime:
    """The process-wide GX runtime (imports GX on the first call; thread-safe)."""
    global _runtime
    if _runtime is not None:
        return _runtime
    with _lock:
        if _runtime is not None:
            return _runtime
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        _quiet_gx_logging()
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        _quiet_gx_logging()
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        datasource = context.data_sources.add_pandas("airflow_ai_governance")
        asset = datasource.add_dataframe_asset("output")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_output")
        _register_field_type_expectation()
        _runtime = GXRuntime(gx=gx, context=context, batch_definition=batch_definition, lock=_lock)
        log.debug("Great Expectations %s runtime ready (ephemeral context)", gx.__version__)
        return _runtime
