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
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import click
from celery import Celery

from ..routing import QUEUE_NAMES


@dataclass(frozen=True)
class QueueStats:
    """What the broker says of one queue; None where this broker cannot say."""

    ready: int
    unacked: int | None = None
    consumers: int | None = None


def queue_stats(
    app: Celery[Any], names: tuple[str, ...] = QUEUE_NAMES, timeout: float | None = None
) -> dict[str, QueueStats]:
    """The statistics of each of the service's queues; ``timeout`` bounds each broker call."""
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
            unacked = redis_unacked(channel)
            return {
                name: QueueStats(int(ok.message_count), unacked=unacked[name])
                for name, ok in declared.items()
            }
        return {
            name: QueueStats(int(ok.message_count), consumers=int(ok.consumer_count))
            for name, ok in declared.items()
        }


def redis_unacked(channel: Any) -> Counter[str]:
    """Messages reserved by workers and not yet acknowledged, by queue (kombu's hash).

    Each entry is ``[message, exchange, routing_key]``; every queue of the service
    has an exchange and a routing key of its own name.
    """
    counts: Counter[str] = Counter()
    for _, entry in channel.client.hscan_iter(channel.unacked_key, count=1000):
        _, _, routing_key = json.loads(entry)
        counts[routing_key] += 1
    return counts


def queue_depths(app: Celery[Any], names: tuple[str, ...] = QUEUE_NAMES) -> dict[str, int]:
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
