"""Traces under the prefork pool: a real worker, the real SDK, a local OTLP receiver.

The test process stands for a service sending tasks from inside a request: its own
tracer provider holds the request's span (nothing of it is exported here), and the
instrumentation carries that span's context in the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, Tracer

from celery_service_kit import tracing
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.otlp import OtlpReceiver, otlp_receiver
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app  # built: it has named the service in its traces
SERVICE_NAME = tracing.service_name()


pytestmark = pytest.mark.requires("tracing")


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as receiver:
        yield receiver


def traced(receiver: OtlpReceiver, **variables: str) -> dict[str, str]:
    """A worker's environment: the SDK on, exporting to ``receiver``."""
    return {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        **variables,
    }


def caller_tracer(monkeypatch: pytest.MonkeyPatch) -> Tracer:
    """The sending service's own tracer: on, although this process's SDK stays off."""
    with monkeypatch.context() as variables:
        variables.setenv("OTEL_SDK_DISABLED", "false")
        return TracerProvider().get_tracer("caller")


def trace_id(span: Span) -> str:
    return format(span.get_span_context().trace_id, "032x")


def test_a_task_continues_the_trace_that_sent_it(
    start_worker: StartWorker,
    receiver: OtlpReceiver,
    store: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start_worker("traced", environment=traced(receiver))
    caller = caller_tracer(monkeypatch)

    with caller.start_as_current_span("request") as request:
        result = probes.quick.delay("traced")

    name = f"run/{probes.quick.name}"
    eventually(lambda: receiver.spans(name), timeout=20, what="the task's span")
    (run,) = receiver.spans(name)
    assert run.trace_id == trace_id(request)
    assert run.attributes["celery.task_name"] == probes.quick.name
    assert run.attributes["messaging.message.id"] == result.id
    assert run.resource["service.name"] == SERVICE_NAME


def test_a_retried_task_keeps_its_trace_and_its_log_lines_carry_it(
    start_worker: StartWorker,
    receiver: OtlpReceiver,
    store: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = start_worker("retrying", environment=traced(receiver, LOG_FORMAT="json"))
    caller = caller_tracer(monkeypatch)

    with caller.start_as_current_span("request") as request:
        probes.charge_failing_first.delay("order-traced")  # a transient error, then success

    name = f"run/{probes.charge_failing_first.name}"
    eventually(lambda: len(receiver.spans(name)) == 2, timeout=30, what="both attempts' spans")
    attempts = receiver.spans(name)
    assert {span.trace_id for span in attempts} == {trace_id(request)}
    assert len({span.span_id for span in attempts}) == 2
    records = [json.loads(line) for line in worker.log_text().splitlines() if line.startswith("{")]
    retry_lines = [record for record in records if record["message"].startswith("retry 1 of")]
    assert retry_lines
    assert {record.get("trace_id") for record in retry_lines} == {trace_id(request)}
    assert {record.get("span_id") for record in retry_lines} <= {span.span_id for span in attempts}


def test_no_span_is_lost_when_pool_processes_are_replaced_after_each_task(
    start_worker: StartWorker, receiver: OtlpReceiver, store: redis.Redis, tmp_path: Path
) -> None:
    # Spans are exported only when a process flushes them: a process replaced after its
    # task (max_tasks_per_child=1) must flush before it exits.
    environment = traced(
        receiver, OTEL_BSP_SCHEDULE_DELAY="60000", CELERY_WORKER_MAX_TASKS_PER_CHILD="1"
    )
    start_worker("recycled", concurrency=2, environment=environment)

    ids = {probes.quick.delay(f"recycled-{n}").id for n in range(20)}

    name = f"run/{probes.quick.name}"
    eventually(lambda: len(receiver.spans(name)) >= 20, timeout=60, what="20 tasks' spans")
    assert {span.attributes["messaging.message.id"] for span in receiver.spans(name)} == ids
