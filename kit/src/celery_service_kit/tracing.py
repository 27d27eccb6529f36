"""Traces of the service's tasks with OpenTelemetry, right under the prefork pool.

Celery's instrumentation (from the OpenTelemetry project) makes a span for every
task sent and every task run, and carries the sender's trace in the message, so a
task's span, and those of its retries, continue the trace that sent it. Invariants:

* every process exports through an SDK it started itself, after any fork: a pool
  process at ``worker_process_init``, any other (beat, a service sending tasks) when
  it first sends one. The worker's main process, which forks the pool, starts none,
  so no pool process inherits an exporter's thread or sockets;
* a pool process flushes its spans before it exits (``worker_process_shutdown``):
  one replaced by ``max_tasks_per_child`` or ``max_memory_per_child`` loses none.
  Other processes flush at exit;
* a log record written inside a span carries its ``trace_id`` and ``span_id``.

Configured by the standard variables: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over
HTTP, default ``http://localhost:4318``), ``OTEL_SERVICE_NAME`` (default: the name
given to :func:`trace_tasks`, the service's slug), ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, the ``OTEL_BSP_*`` batching; ``OTEL_SDK_DISABLED=true``
turns the export off.
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import Any

from celery import signals
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# The service's name unless OTEL_SERVICE_NAME gives one (trace_tasks sets it).
_service_name = "celery-service"
_provider: TracerProvider | None = None
_provider_pid: int | None = None
# The worker's main process: it forks the pool, and must not start an SDK to hand down.
_worker_main_pid: int | None = None


def start_sdk() -> None:
    """Start the SDK in this process, once; not in a worker's main process."""
    global _provider, _provider_pid
    pid = os.getpid()
    if pid in (_provider_pid, _worker_main_pid) or _disabled():
        return
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: _service_name}))
    _provider, _provider_pid = TracerProvider(resource=resource), pid
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    atexit.register(flush)  # pool processes exit without atexit: see worker_process_shutdown


def flush(**_: Any) -> None:
    """Export what this process's SDK still holds, then stop it."""
    if _provider is not None and _provider_pid == os.getpid():
        _provider.shutdown()


def service_name() -> str:
    """The name of the service in its traces, unless ``OTEL_SERVICE_NAME`` gives another."""
    return _service_name


def _disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _in_worker_main_process(**_: Any) -> None:
    global _worker_main_pid
    _worker_main_pid = os.getpid()


class TraceContext(logging.Filter):
    """Adds the current span's ``trace_id`` and ``span_id`` (hex) to each record inside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


def _annotate_log_records(logger: logging.Logger, **_: Any) -> None:
    for handler in logger.handlers:
        if not any(isinstance(existing, TraceContext) for existing in handler.filters):
            handler.addFilter(TraceContext())


def trace_tasks(service_name: str) -> None:
    """Trace every task this process sends or runs (call once, where the app is built).

    ``service_name`` names the service in its traces unless ``OTEL_SERVICE_NAME`` does.
    """
    global _service_name
    _service_name = service_name
    signals.worker_init.connect(_in_worker_main_process, weak=False)
    signals.worker_process_init.connect(lambda **_: start_sdk(), weak=False)
    signals.worker_process_shutdown.connect(flush, weak=False)
    # Before the instrumentation's own handler, so that the first message sent by a
    # process already has an SDK to record its span.
    signals.before_task_publish.connect(lambda **_: start_sdk(), weak=False)
    signals.after_setup_logger.connect(_annotate_log_records, weak=False)
    signals.after_setup_task_logger.connect(_annotate_log_records, weak=False)
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]  # untyped upstream
