"""The queue exporter counts every message, on the real broker, as Prometheus scrapes it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from celery_service_kit import routing
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import CeleryProcess, ExporterProcess, StartWorker

app = under_test().app
QUEUES = under_test().queues
priority = app.priority
settings = app.settings


def sample(name: str, **labels: str) -> str:
    """A sample's name as the exposition format writes it: ``name{label="value"}``."""
    pairs = ",".join(f'{label}="{value}"' for label, value in labels.items())
    return name + "{" + pairs + "}" if pairs else name


QUEUE = routing.DEFAULT_QUEUE
READY = sample("celery_queue_messages_ready", queue=QUEUE)
UNACKED = sample("celery_queue_messages_unacked", queue=QUEUE)
CONSUMERS = sample("celery_queue_consumers", queue=QUEUE)
BROKER_UP = sample("celery_exporter_source_up", source="broker")
CREDENTIALS = "prometheus:scrape-secret"


@pytest.fixture
def start_exporter(
    empty_queues: None, started: list[CeleryProcess], tmp_path: Path
) -> Callable[..., ExporterProcess]:
    """Start the exporter: ``start_exporter(environment={...}, wait=True)``."""

    def start(environment: dict[str, str] | None = None, wait: bool = True) -> ExporterProcess:
        exporter = ExporterProcess("exporter", log_dir=tmp_path, environment=environment)
        started.append(exporter)
        if wait:
            exporter.start()
        return exporter

    return start


def test_every_waiting_message_is_counted_whatever_its_priority(
    start_exporter: Callable[..., ExporterProcess],
) -> None:
    exporter = start_exporter()
    levels = (priority.high, priority.normal, priority.low, None)
    for n in range(12):  # on Redis each level is a list of its own
        options: dict[str, Any] = {"priority": levels[n % 4]}
        probes.quick.apply_async((f"waiting-{n}",), queue=QUEUE, **options)

    metrics = exporter.metrics()

    assert metrics[READY] == 12
    assert metrics[sample("celery_queue_messages_ready", queue=routing.CRITICAL_QUEUE)] == 0
    assert metrics[BROKER_UP] == 1
    assert metrics["celery_dead_letters"] >= 0
    assert metrics["celery_dead_letters_added_total"] >= metrics["celery_dead_letters"]
    if settings.broker_is_redis:
        assert metrics[UNACKED] == 0
        assert CONSUMERS not in metrics  # Redis cannot say: left out, not a false zero
    else:
        assert metrics[CONSUMERS] == 0
        assert UNACKED not in metrics  # AMQP does not say (RabbitMQ's own plugin does)


def test_a_reserved_message_is_counted_until_the_worker_acknowledges_it(
    start_exporter: Callable[..., ExporterProcess], start_worker: StartWorker, store: redis.Redis
) -> None:
    exporter = start_exporter()
    start_worker("holding", queues=[QUEUE])
    probes.slow_effect.delay("held", 3.0)  # late acks: unacknowledged while it runs
    eventually(lambda: store.llen(probes.probe_key("started", "held")), 10, "the task to start")

    metrics = exporter.metrics()
    assert metrics[READY] == 0
    if settings.broker_is_redis:
        assert metrics[UNACKED] == 1
    else:
        assert metrics[CONSUMERS] == 1

    eventually(lambda: store.get(probes.probe_key("effects", "held")), 10, "the task to end")
    if settings.broker_is_redis:
        eventually(lambda: exporter.metrics()[UNACKED] == 0, 5, "the acknowledgement")


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A port that accepts connections and never answers: a broker hung or frozen."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        host, port = listener.getsockname()
        scheme = "redis" if settings.broker_is_redis else "amqp"
        yield f"{scheme}://{host}:{port}/0"


def test_a_broker_that_does_not_answer_is_reported_within_the_scrape_timeout(
    start_exporter: Callable[..., ExporterProcess], silent_broker: str
) -> None:
    timeout = 2.0
    exporter = start_exporter(
        {"CELERY_BROKER_URL": silent_broker, "EXPORTER_SCRAPE_TIMEOUT": str(timeout)}
    )

    started = time.monotonic()
    metrics = exporter.metrics()
    took = time.monotonic() - started

    assert took < timeout + 1.5, f"the scrape took {took:.1f} s"
    assert metrics[BROKER_UP] == 0
    assert metrics[sample("celery_exporter_scrape_errors_total", source="broker")] >= 1
    assert READY not in metrics
    # The rest of the scrape still answers.
    assert metrics[sample("celery_exporter_source_up", source="store")] == 1


def test_in_production_metrics_need_the_credentials(
    start_exporter: Callable[..., ExporterProcess],
) -> None:
    production = {"APP_ENV": "production", "EXPORTER_BASIC_AUTH": CREDENTIALS}
    exporter = start_exporter(production)

    assert exporter.get("/metrics")[0] == 401
    assert exporter.get("/metrics", "prometheus:wrong")[0] == 401
    assert exporter.metrics(CREDENTIALS)[BROKER_UP] == 1


def test_in_production_the_exporter_refuses_to_start_without_credentials(
    start_exporter: Callable[..., ExporterProcess],
) -> None:
    exporter = start_exporter(
        {"APP_ENV": "production", "EXPORTER_BASIC_AUTH": "prometheus:"}, wait=False
    )
    exporter.start_process()

    assert exporter.wait(timeout=60) == 2
    assert "EXPORTER_BASIC_AUTH=user:password" in exporter.log_text()


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="no prometheus on PATH")
def test_a_real_prometheus_scrapes_the_exporter(
    start_exporter: Callable[..., ExporterProcess], tmp_path: Path
) -> None:
    exporter = start_exporter({"APP_ENV": "production", "EXPORTER_BASIC_AUTH": CREDENTIALS})
    for n in range(3):
        probes.quick.apply_async((f"scraped-{n}",), queue=QUEUE)
    user, _, password = CREDENTIALS.partition(":")
    config = tmp_path / "prometheus.yml"
    scrape = {
        "job_name": "queues",
        "basic_auth": {"username": user, "password": password},
        "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
    }
    settings_file = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}}
    # JSON is YAML: Prometheus reads it as its configuration file.
    config.write_text(json.dumps({**settings_file, "scrape_configs": [scrape]}), encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        query = urllib.parse.urlencode({"query": READY})
        url = f"http://127.0.0.1:{port}/api/v1/query?{query}"

        def scraped() -> list[dict[str, object]]:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return list(json.load(response)["data"]["result"])
            except OSError:
                return []

        eventually(scraped, timeout=30, what="Prometheus to scrape the exporter")
        assert scraped()[0]["value"][1] == "3"  # type: ignore[index]
    finally:
        server.terminate()
        server.wait(10)
