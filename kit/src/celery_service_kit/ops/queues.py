"""``celery -A <package> queues``: how many messages wait in each queue.

What to watch during a deploy, for both brokers: on Redis a
queue is one list per priority level (``email``, ``email:1`` ... ``email:9``) and
the count covers them all; on RabbitMQ it is the broker's own count of ready
messages. Messages a worker has reserved are counted apart where the broker says:
on Redis, kombu's ``unacked`` hash (which also holds tasks waiting for their
countdown); RabbitMQ reports them only through its management or Prometheus
plugin, not over AMQP. Consumers are counted where the broker knows them
(RabbitMQ). The exporter (``exporter.py``) serves the same figures to Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import click
from celery import Celery

from .. import upstream
from ..service import service_of


@dataclass(frozen=True)
class QueueStats:
    """What the broker says of one queue; None where this broker cannot say."""

    ready: int
    unacked: int | None = None
    consumers: int | None = None


def queue_stats(
    app: Celery[Any], names: Sequence[str] | None = None, timeout: float | None = None
) -> dict[str, QueueStats]:
    """The statistics of each of the service's queues (or ``names``).

    ``timeout`` bounds each broker call.
    """
    names = service_of(app).queues if names is None else names
    options: dict[str, Any] = {}
    if timeout is not None:
        options = {
            "connect_timeout": timeout,
            "transport_options": {
                "max_retries": 1,
                "socket_timeout": timeout,  # Redis
                "socket_connect_timeout": timeout,
                "read_timeout": timeout,  # RabbitMQ
                "write_timeout": timeout,
            },
        }
    with app.connection_for_read(**options) as connection:
        channel = connection.default_channel
        # Declaring with the app's own arguments answers for a queue that does not
        # exist yet (0) instead of failing, and never conflicts with RabbitMQ's.
        declared: dict[str, Any] = {
            name: app.amqp.queues[name](channel).queue_declare() for name in names
        }
        if connection.transport.driver_type == "redis":
            unacked = upstream.redis_unacked_by_queue(channel)
            return {
                name: QueueStats(int(ok.message_count), unacked=unacked[name])
                for name, ok in declared.items()
            }
        return {
            name: QueueStats(int(ok.message_count), consumers=int(ok.consumer_count))
            for name, ok in declared.items()
        }


def queue_depths(app: Celery[Any], names: Sequence[str] | None = None) -> dict[str, int]:
    """Messages ready in each of the service's queues."""
    return {name: stats.ready for name, stats in queue_stats(app, names).items()}


@click.command(name="queues")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts and alerts.")
@click.pass_context
def queues(ctx: click.Context, as_json: bool) -> None:
    """Show how many messages wait in each queue of the service (and are reserved, on Redis)."""
    stats = queue_stats(ctx.obj.app)
    if as_json:
        click.echo(json.dumps({name: stat.ready for name, stat in stats.items()}))
        return
    width = max(map(len, stats))
    for name, stat in stats.items():
        known = {key: value for key, value in asdict(stat).items() if value is not None}
        click.echo(f"{name:<{width}}  " + "  ".join(f"{k} {v}" for k, v in known.items()))
