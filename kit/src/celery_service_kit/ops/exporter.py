"""``celery -A <package> exporter``: the queues' figures for Prometheus, at ``/metrics``.

Per queue of the service (label ``queue``), read from the broker at each scrape:

* ``celery_queue_messages_ready``: waiting to be delivered; on Redis the sum over
  every priority list, on RabbitMQ the broker's count;
* ``celery_queue_messages_unacked``: delivered to a worker and not yet acknowledged
  (Redis only: kombu's unacked hash; RabbitMQ's plugin reports it, AMQP does not);
* ``celery_queue_consumers``: consumers the broker knows (RabbitMQ only; a Redis
  list has no consumers to count);

and ``celery_dead_letters`` (the dead-letter stream's length, which stops growing
once the stream is full) with ``celery_dead_letters_added_total`` (every letter ever
added, Redis 7 and later: what the alert watches), whether each source
answered (``celery_exporter_source_up{source="broker"|"store"}``), failed reads
(``celery_exporter_scrape_errors_total``) and the scrape's duration. Each source
gets ``EXPORTER_SCRAPE_TIMEOUT`` seconds: one that does not answer shows as down,
and the scrape still answers in time. ``deploy/prometheus/alerts.yml`` alerts on
them.

The rules are Flower's: in production the exporter refuses to start without
``EXPORTER_BASIC_AUTH`` (user:password) unless ``METRICS_WITHOUT_AUTH=true`` says
that open metrics are a deliberate choice.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import click
import redis
from celery import Celery
from celery.utils.log import get_logger
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from ..service import Service, service_of
from ..settings import Settings
from .queues import QueueStats, queue_stats

logger = get_logger(__name__)


def within(seconds: float, read: Callable[[], Any]) -> Any:
    """``read()``, or TimeoutError once ``seconds`` have passed (its thread is left to end)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = read()
        except BaseException as error:  # handed to the caller
            outcome["error"] = error

    thread = threading.Thread(target=run, name="exporter-read", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class QueueCollector(Collector):
    """Reads the queues and the dead-letter stream at every scrape."""

    def __init__(self, app: Celery[Any], service: Service) -> None:
        self.app = app
        self.service = service
        self.timeout = service.settings.exporter_scrape_timeout
        self.errors: Counter[str] = Counter()
        # A client of its own whose calls time out: a Redis that stops answering must
        # not leave a thread behind at every scrape.
        self.store = redis.Redis.from_url(
            service.settings.redis_url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
        )

    def read(self, source: str, read: Callable[[], Any]) -> Any:
        """``read()`` within the timeout; None (logged and counted) if it fails."""
        try:
            return within(self.timeout, read)
        except Exception as error:
            self.errors[source] += 1
            logger.warning("exporter: could not read the %s: %r", source, error)
            return None

    def collect(self) -> Iterator[Metric]:
        """The metrics of one scrape."""
        started = time.monotonic()
        queues = self.service.queues
        stats = self.read("broker", lambda: queue_stats(self.app, queues, self.timeout))
        letters = self.read("store", lambda: self.service.dead_letters.totals(self.store))
        yield from queue_metrics(stats or {})
        if letters is not None:
            kept, added = letters
            yield GaugeMetricFamily(
                "celery_dead_letters", "Dead letters kept in the stream.", value=kept
            )
            if added is not None:
                yield CounterMetricFamily(
                    "celery_dead_letters_added", "Dead letters ever added.", value=added
                )
        up = GaugeMetricFamily(
            "celery_exporter_source_up", "Whether the source answered.", labels=["source"]
        )
        up.add_metric(["broker"], stats is not None)
        up.add_metric(["store"], letters is not None)
        yield up
        errors = CounterMetricFamily(
            "celery_exporter_scrape_errors",
            "Reads of a source that failed or timed out.",
            labels=["source"],
        )
        for source in ("broker", "store"):
            errors.add_metric([source], self.errors[source])
        yield errors
        yield GaugeMetricFamily(
            "celery_exporter_scrape_duration_seconds",
            "Seconds the last scrape took.",
            value=time.monotonic() - started,
        )


def queue_metrics(stats: dict[str, QueueStats]) -> Iterable[Metric]:
    """The per-queue metrics; a figure the broker cannot give is left out, not zero."""
    families = {
        "ready": GaugeMetricFamily(
            "celery_queue_messages_ready", "Messages waiting in the queue.", labels=["queue"]
        ),
        "unacked": GaugeMetricFamily(
            "celery_queue_messages_unacked",
            "Messages delivered to workers and not yet acknowledged (Redis).",
            labels=["queue"],
        ),
        "consumers": GaugeMetricFamily(
            "celery_queue_consumers", "Consumers of the queue (RabbitMQ).", labels=["queue"]
        ),
    }
    for queue, stat in stats.items():
        for field, family in families.items():
            value = getattr(stat, field)
            if value is not None:
                family.add_metric([queue], value)
    return [family for family in families.values() if family.samples]


def exporter_problems(settings: Settings) -> list[str]:
    """What keeps the exporter from starting safely; empty when it may start."""
    if settings.app_env != "production" or settings.metrics_without_auth:
        return []
    credentials = settings.exporter_basic_auth
    user, _, password = (credentials.get_secret_value() if credentials else "").partition(":")
    if not user or not password:
        return [
            "no authentication: set EXPORTER_BASIC_AUTH=user:password (both non-empty), or "
            "METRICS_WITHOUT_AUTH=true if open metrics are a deliberate choice"
        ]
    return []


def with_basic_auth(app: Callable[..., Any], credentials: str) -> Callable[..., Any]:
    """The WSGI ``app``, answering 401 to a request without ``credentials`` (user:password)."""
    expected = credentials.encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            given = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if scheme.lower() == "basic" and hmac.compare_digest(given, expected):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="metrics"')])
        return [b"authentication required\n"]

    return guarded


class QuietHandler(WSGIRequestHandler):
    """No access log line per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing."""


def metrics_app(app: Celery[Any]) -> Callable[..., Any]:
    """The WSGI application serving ``/metrics`` with the settings' timeout and credentials."""
    service = service_of(app)
    settings = service.settings
    registry = CollectorRegistry()
    registry.register(QueueCollector(app, service))
    served = make_wsgi_app(registry)
    if settings.exporter_basic_auth is not None:
        served = with_basic_auth(served, settings.exporter_basic_auth.get_secret_value())
    return served


@click.command(name="exporter")
@click.pass_context
def exporter(ctx: click.Context) -> None:
    """Serve the queues' metrics for Prometheus (EXPORTER_* variables)."""
    app = ctx.obj.app
    settings = service_of(app).settings
    problems = exporter_problems(settings)
    if problems:
        click.echo("The exporter refuses to start (APP_ENV=production):", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(2)
    server = make_server(
        settings.exporter_address,
        settings.exporter_port,
        metrics_app(app),
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    logger.info(
        "exporter: serving /metrics on %s:%s", settings.exporter_address, server.server_port
    )
    server.serve_forever()
