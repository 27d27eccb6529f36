"""``celery -A <package> queues``: how many messages wait in each queue.

The guide's "watch the queue length during deploys", for both brokers: on Redis a
queue is one list per priority level (``email``, ``email:1`` ... ``email:9``) and
the count covers them all; on RabbitMQ it is the broker's own count of ready
messages. Messages a worker has already reserved are not counted on either.
Flower has no queue-depth metric; scrape this, or the broker, for alerts.
"""

from __future__ import annotations

import json
from typing import Any

import click
from celery import Celery

from ..routing import QUEUE_NAMES


def queue_depths(app: Celery[Any], names: tuple[str, ...] = QUEUE_NAMES) -> dict[str, int]:
    """Messages ready in each of the service's queues."""
    depths = {}
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in names:
            # Declaring with the app's own arguments answers for a queue that does not
            # exist yet (0) instead of failing, and never conflicts with RabbitMQ's.
            declared: Any = app.amqp.queues[name](channel).queue_declare()
            depths[name] = int(declared.message_count)
    return depths


@click.command(name="queues")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts and alerts.")
@click.pass_context
def queues(ctx: click.Context, as_json: bool) -> None:
    """Show how many messages wait in each queue of the service."""
    depths = queue_depths(ctx.obj.app)
    if as_json:
        click.echo(json.dumps(depths))
        return
    width = max(map(len, depths))
    for name, depth in depths.items():
        click.echo(f"{name:<{width}}  {depth}")
