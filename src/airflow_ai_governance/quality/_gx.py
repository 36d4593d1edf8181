"""The process-wide Great Expectations runtime, created on first use.

Great Expectations takes seconds and ~250 MB to import, so nothing here runs at import time:
:func:`gx_runtime` imports it, builds one ephemeral, quiet, offline data context with a pandas
datasource and a whole-dataframe batch definition, registers our two expectations, and caches all
of it for the life of the process:

* ``expect_column_values_to_match_field_type``: a column map expectation, one value at a time
  (``quality/types.py``);
* ``expect_table_to_meet_output_standard``: the combined, table-level expectation of the verdict
  suite. Its ``rules`` kwarg holds every built-in rule of an output standard (JSON text, see
  ``combined.encode_rules``); its table metric evaluates them all in one pass
  (``quality/combined.py``). It succeeds when no rule is violated; its ``observed_value`` is the
  count of unexpected rows per rule source (``None`` for a table-level failure), never a value.

Batches of every output share one id (the batch definition is whole-dataframe), and GX's pandas
execution engine keeps a metric cache keyed by that id. Each validation resolves its whole metric
graph afresh and reads that cache only for a dependency missing from the graph, so one output's
metrics never answer for the next (a test validates passing, failing and passing data in turn).

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
from airflow_ai_governance.quality.combined import (
    COMBINED_EXPECTATION,
    FIELD_TYPE_EXPECTATION,
    decode_rules,
    field_type_condition,
    find_violations,
    violation_counts,
)

log = logging.getLogger(__name__)

__all__ = ["COMBINED_EXPECTATION", "FIELD_TYPE_EXPECTATION", "GXRuntime", "gx_runtime"]

_FIELD_TYPE_METRIC = "column_values.aigov_match_field_type"
_COMBINED_METRIC = "table.aigov_output_standard_violations"

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
            return field_type_condition(column, field_type)

    class ExpectColumnValuesToMatchFieldType(ColumnMapExpectation):
        """Expect each non-null value to be of an airflow-ai-governance output field type."""

        field_type: FieldType

        map_metric = _FIELD_TYPE_METRIC
        success_keys = ("field_type", "mostly")
        args_keys = ("column", "field_type")

    # Defining the classes registered them with GX; keep references for introspection.
    _REGISTERED.extend([ColumnValuesMatchFieldType, ExpectColumnValuesToMatchFieldType])


def _register_combined_expectation() -> None:
    """Define and register ``ExpectTableToMeetOutputStandard`` and its pandas table metric, once."""
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import BatchExpectation
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
    from great_expectations.expectations.registry import _registered_expectations

    if COMBINED_EXPECTATION in _registered_expectations:
        return

    class TableOutputStandardViolations(TableMetricProvider):
        metric_name = _COMBINED_METRIC
        value_keys = ("rules",)

        @metric_value(engine=PandasExecutionEngine)
        def _pandas(
            cls,
            execution_engine: Any,
            metric_domain_kwargs: dict[str, Any],
            metric_value_kwargs: dict[str, Any],
            metrics: dict[str, Any],
            runtime_configuration: dict[str, Any],
        ) -> Any:
            frame, _, _ = execution_engine.get_compute_domain(
                domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
            )
            return find_violations(frame, decode_rules(metric_value_kwargs["rules"]))

    class ExpectTableToMeetOutputStandard(BatchExpectation):
        """Expect the table to meet every built-in rule of an airflow-ai-governance output standard."""

        rules: str  # JSON (combined.encode_rules)

        metric_dependencies = (_COMBINED_METRIC,)
        success_keys = ("rules",)
        args_keys = ("rules",)

        def _validate(
            self,
            metrics: dict[str, Any],
            runtime_configuration: dict[str, Any] | None = None,
            execution_engine: Any = None,
        ) -> dict[str, Any]:
            violations = metrics[_COMBINED_METRIC]
            return {"success": not violations, "result": {"observed_value": violation_counts(violations)}}

    _REGISTERED.extend([TableOutputStandardViolations, ExpectTableToMeetOutputStandard])


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
        _register_combined_expectation()
        _runtime = GXRuntime(gx=gx, context=context, batch_definition=batch_definition, lock=_lock)
        log.debug("Great Expectations %s runtime ready (ephemeral context)", gx.__version__)
        return _runtime
