"""Every use of a private or undocumented part of Celery, kombu, billiard or Flower.

The kit needs a few behaviours that these libraries offer no public hook for. Each
is here and only here: a subclass overriding a private method, a copy of an
upstream function with one change, a replaced module attribute, or a read of an
internal data layout. The logic each one serves lives in the kit's public modules
(``consumer.py``, ``publishing.py``, ``redis_transport.py``, ...); this module only
connects it. The kit's README lists the touches, and why each has no public way.

Invariants:

* every upstream function copied, replaced or wrapped here is named in
  :data:`WRITTEN_AGAINST` with the fingerprint of the source it was written
  against; ``suite/unit/test_upstream.py`` fails, naming it, when the installed
  one differs (``python -m celery_service_kit.upstream`` prints the fingerprints
  of the installed versions, to record after reviewing the change);
* Celery, kombu, billiard and Flower are pinned to their minor version in the
  kit's ``pyproject.toml``, so no service meets a new minor before the kit does.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import logging
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from queue import Empty
from typing import IO, Any

import click
from celery.app import amqp
from celery.worker import heartbeat
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer import heart
from kombu import Connection
from kombu.message import Message
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.transport.native_delayed_delivery import MAX_NUMBER_OF_BITS_TO_USE, level_name
from kombu.utils.encoding import bytes_to_str
from vine import promise

from . import consumer, publishing
from .observability import TIME_FORMAT, json_formatter
from .redis_transport import envelope
from .routing import uses_quorum_queues
from .settings import Settings

logger = logging.getLogger(__name__)

#: What the kit copies, replaces or wraps, and the fingerprint (:func:`fingerprint`) of
#: the installed source it was written against: Celery 5.7.0, kombu 5.7.0, Flower 2.2.0.
WRITTEN_AGAINST: dict[str, str] = {
    # kombu's Redis transport (section 1)
    "kombu.transport.redis:Channel._brpop_read": "efddef08414258fb",
    "kombu.transport.redis:Channel._get": "807bec049080bc0b",
    "kombu.transport.redis:Channel.conn_or_acquire": "2e4399509bfbb853",
    "kombu.transport.redis:QoS.append": "2ee53bebeed8f8a5",
    "kombu.transport.native_delayed_delivery:level_name": "0d20241d6f9c8d27",
    # Celery's worker consumer (section 2)
    "celery.worker.consumer.consumer:Consumer.create_task_handler": "af886531b0da7a8b",
    "celery.worker.consumer.consumer:Consumer.on_unknown_message": "8748470db99fa670",
    "celery.worker.consumer.consumer:Consumer.on_unknown_task": "506401bb85421faa",
    "celery.worker.consumer.consumer:Consumer.on_invalid_task": "2fc6c61a7e35d370",
    "celery.worker.consumer.consumer:Consumer.on_decode_error": "60c47f0dc6def26d",
    "celery.worker.consumer.consumer:Consumer.connection_for_write": "78c009cfcddbe009",
    "celery.worker.consumer.consumer:Consumer.ensure_connected": "5d4b1934296a8536",
    "celery.worker.consumer.consumer:Consumer.on_send_event_buffered": "5cebe46ecfd4d603",
    "celery.worker.consumer.consumer:Consumer._flush_events": "2a4daf22c409eaf7",
    "celery.worker.consumer.consumer:Consumer.stop": "54f8eec19a64b0e5",
    "celery.worker.consumer.heart:Heart.start": "6ef60c8fcb0bf18a",
    "celery.worker.heartbeat:Heart._send": "f5d96ee126be40cf",
    # Celery's message building (section 3)
    "celery.app.amqp:AMQP.as_task_v2": "ce21c27e917a7921",
    "celery.app.amqp:AMQP._create_task_sender": "0da99970b4dacd8a",
    # Celery's worker start-up notices (section 4)
    "celery.apps.worker:safe_say": "481b655e89e178b2",
    # Flower (section 5)
    "flower.command:flower": "4873c7d5b26b9be6",
    "flower.views.monitor:Metrics.get": "15990edc1af43775",
}


# --- 1. kombu's Redis transport --------------------------------------------------
# kombu decodes each item it pops from a queue list as a JSON message envelope, in the
# worker's event loop, before any hook of Celery's runs: an item that is not one stops
# the worker, and the item, popped already, is lost. Channel._brpop_read and _get are
# kombu's own with kombu's `loads` replaced by redis_transport.envelope. kombu builds a
# new redis-py client per command of a channel (conn_or_acquire); the channel here
# keeps one (redis_transport.py says why, docs/kombu-redis-client-reuse.md measures it).


class RedisChannel(kombu_redis.Channel):
    """A Redis channel that delivers every popped item as a message, with one client."""

    #: Reuse one client for the channel's commands (``broker_transport_options``).
    shared_client = True
    from_transport_options = (*kombu_redis.Channel.from_transport_options, "shared_client")
    # The shared client and the connection pool it was built on (a new pool after a fork).
    _client_of_pool: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """kombu's, with the channel's one client instead of a new one per call."""
        if client:
            yield client
        elif not self.shared_client:
            yield self._create_client()
        else:
            yield self._shared()

    def _shared(self) -> Any:
        pool = self.pool
        if self._client_of_pool is None or self._client_of_pool[0] is not pool:
            self._client_of_pool = (pool, self._create_client())
        return self._client_of_pool[1]

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                # if there's a ConnectionError, disconnect so the next
                # iteration will reconnect automatically.
                self.client.connection.disconnect()
                raise
            if dest__item:
                dest, item = dest__item
                dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
                self._queue_cycle.rotate(dest)
                self.connection._deliver(envelope(item, dest), dest)
                return True
            else:
                raise Empty()
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, pri))
                if item:
                    self._maybe_update_queues_expire(client, queue)
                    return envelope(item, queue)

            self._maybe_update_queues_expire(client, queue)
            raise Empty()


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`RedisChannel`."""

    Channel = RedisChannel


def use_for_redis_urls() -> None:
    """Make ``redis://`` and ``rediss://`` URLs use :class:`RedisTransport` in this process.

    kombu picks a transport by the URL's scheme from its alias table. Replacing the
    entries, rather than naming this class in ``broker_transport``, keeps the
    scheme of the URL, which Flower (its broker page and queue lengths) reads.
    Call it before the first connection: kombu caches the class it resolved.
    """
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:RedisTransport"


def redis_unacked_by_queue(channel: Any) -> Counter[str]:
    """Messages reserved by workers and not yet acknowledged, by queue (kombu's hash).

    Each entry of kombu's ``unacked`` hash is ``[message, exchange, routing_key]``;
    every queue of a service has an exchange and a routing key of its own name.
    """
    counts: Counter[str] = Counter()
    for _, entry in channel.client.hscan_iter(channel.unacked_key, count=1000):
        _, _, routing_key = json.loads(entry)
        counts[routing_key] += 1
    return counts


def drop_redis_unacked(channel: Any) -> None:
    """Forget the messages kombu holds as reserved (its unacked hash and index)."""
    channel.client.delete(channel.unacked_key, channel.unacked_index_key)


def delayed_delivery_queues() -> list[str]:
    """The queues of Celery's native delayed delivery on RabbitMQ (quorum queues)."""
    return [level_name(level) for level in range(MAX_NUMBER_OF_BITS_TO_USE)]


# --- 2. Celery's worker consumer -------------------------------------------------
# Celery offers no hook for a message it cannot parse (it raises inside the consumer
# and stops the worker), for how its event dispatcher batches task events, nor for
# the retries of its heartbeat events; its consumer's methods are overridden here.

#: Seconds a worker's task events wait in its buffer, to be published in one batch.
EVENTS_FLUSH_DELAY = 0.05


class OneShotHeart(heartbeat.Heart):
    """Celery's worker heartbeat events, each sent once.

    Celery sends them with retries (kombu's default: until the broker answers), from
    the event loop: a broker that stops answering without closing the connection
    would hold the whole loop, its health checks and the worker's own liveness
    heartbeat included, for as long as it is frozen. A heartbeat that is not sent is
    harmless: the next one follows ``heartbeat_interval`` seconds later.
    """

    def _send(self, event: str, retry: bool = True) -> Any:
        return super()._send(event, retry=False)  # type: ignore[misc]  # not in celery-types


class EventHeartbeats(heart.Heart):
    """Celery's consumer step for worker heartbeat events, sending with :class:`OneShotHeart`."""

    def start(self, c: Any) -> None:
        """Send heartbeats every ``heartbeat_interval`` seconds, from the consumer's timer."""
        interval = self.heartbeat_interval
        c.heart = OneShotHeart(c.timer, c.event_dispatcher, interval)
        c.heart.start()


class Consumer(CeleryConsumer):
    """Celery's consumer: every message it cannot run rejected and recorded, events unconfirmed.

    The app's ``worker_consumer`` (``celery_config.py``).
    """

    _events_flush_due = False  # a flush of the buffered task events is scheduled

    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc, valid-type]  # celery-types
        """Celery's steps, with heartbeat events that never wait on the broker."""

        default_steps = tuple(
            f"{__name__}:EventHeartbeats" if step == "celery.worker.consumer.heart:Heart" else step
            for step in CeleryConsumer.Blueprint.default_steps
        )

    def create_task_handler(self, promise: Any = promise) -> Any:
        """Check each message (consumer.problem_with) before Celery's handler reads it."""
        handle = super().create_task_handler(promise)

        def on_task_received(message: Message) -> None:
            problem = consumer.problem_with(message)
            if problem is not None:
                self.reject_message(message, problem)
                return
            try:
                handle(message)
            except consumer.PARSING_ERRORS as error:  # a shape problem_with does not know
                self.reject_message(message, f"{type(error).__name__}: {error}")

        return on_task_received

    def connection_for_write(self, url: str | None = None, heartbeat: float | None = None) -> Any:
        """The connection of the worker's monitoring events, without publisher confirms.

        Celery's ``Events`` step is its only user. With ``confirm_publish`` (RabbitMQ,
        celery_config.py) every batch of task events would wait in the event loop for
        the broker's confirm, a round trip per batch that halved a worker's throughput
        of short tasks. An event lost with a crashing broker costs a line in Flower;
        task messages, published elsewhere, keep their confirms.
        """
        unconfirmed = {"confirm_publish": False}
        return self.ensure_connected(
            self.app.connection_for_write(
                url=url, heartbeat=heartbeat, transport_options=unconfirmed
            )
        )

    def on_send_event_buffered(self) -> None:  # type: ignore[override]  # celery-types: None
        """Publish the buffered task events :data:`EVENTS_FLUSH_DELAY` later, together.

        Celery publishes them at the loop's next turn: on a busy worker one publish,
        a broker round trip in the event loop, per one or two events. Waiting gathers
        them into Celery's ``task.multi`` batches (up to its buffer limit, 24, which
        publishes at once); Flower and other event consumers see them that much later.
        """
        hub = self.hub
        if hub is not None and not self._events_flush_due:
            self._events_flush_due = True
            hub.call_later(EVENTS_FLUSH_DELAY, self._flush_event_batch)

    def _flush_event_batch(self) -> None:
        self._events_flush_due = False
        self._flush_events()

    def stop(self) -> None:
        """Publish the task events still buffered (a stopping worker's last tasks), then stop."""
        self._flush_events()
        super().stop()

    def ensure_connected(self, conn: Connection) -> Connection:
        """Connect, retrying; the liveness heartbeat goes on between attempts (health/)."""
        health = getattr(self, "health", None)  # the Heartbeat bootstep (health/worker.py)
        if health is not None:
            conn = health.while_connecting(conn)
        return super().ensure_connected(conn)

    def reject_message(self, message: Message, reason: str) -> None:
        """Reject ``message`` for good, log it and record it (consumer.reject_message)."""
        errors = self.connection.connection_errors if self.connection else ()
        consumer.reject_message(self.app, message, reason, errors)

    # Celery's own refusals, each with one line instead of a traceback, and recorded.

    def on_unknown_message(self, body: Any, message: Message) -> None:
        """A message without a task name."""
        self.reject_message(message, "not a task message: no task name")

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A task this worker does not have (the caller's result, if any, says so too)."""
        self.reject_message(message, f"task not registered on this worker: {exc}")
        try:
            self.app.backend.mark_as_failure(message.headers["id"], exc, call_errbacks=False)
        except Exception:  # the result is a courtesy; the worker keeps serving
            logger.warning("could not store the failure of %r as its result", message.headers)

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A message Celery refuses (content type not accepted, a bad ETA, ...)."""
        self.reject_message(message, f"{type(exc).__name__}: {exc}")

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        """A body that does not decode."""
        self.reject_message(message, f"body does not decode: {exc}")


# --- 3. Celery's message building -----------------------------------------------
# The publishing guards (publishing.py) must see every task message the app builds
# and sends, whether sent with delay/apply_async, by name with send_task, or as a
# retry: Celery builds them all in AMQP.as_task_v2 and sends them with the sender of
# AMQP._create_task_sender. The app's `amqp` class is a documented option; these two
# methods are not documented.


class AMQP(amqp.AMQP):
    """Celery's message building, refusing what the broker cannot keep safely."""

    def as_task_v2(
        self,
        task_id: str,
        name: str,
        args: Any = None,
        kwargs: Any = None,
        *rest: Any,
        **options: Any,
    ) -> Any:
        """Build the message (reprs masked), then refuse it if its body or countdown is over."""
        options.update(publishing.masked_reprs(self.app, name, args, kwargs, options))
        message = super().as_task_v2(task_id, name, args, kwargs, *rest, **options)
        settings: Settings = self.app.service.settings
        publishing.refuse_unsafe(name, message.headers, message.body, settings)
        return message

    def _create_task_sender(self) -> Any:
        """Celery's sender of task messages; on quorum queues it refuses a priority."""
        send = super()._create_task_sender()  # type: ignore[misc]  # not in celery-types
        if not uses_quorum_queues(self.app.conf):
            return send

        def send_without_priority(producer: Any, name: str, message: Any, **options: Any) -> Any:
            publishing.refuse_priority(name, options.get("priority"))
            return send(producer, name, message, **options)

        return send_without_priority


# --- 4. Celery's worker start-up and shutdown notices -----------------------------
# Celery prints its banner and the notices of its signal handlers (warm shutdown, ...)
# with celery.apps.worker.safe_say, not through a logger; with JSON logs they are
# made JSON lines here.


def say_as_json(message: str, f: IO[str] = sys.__stderr__) -> None:  # type: ignore[assignment]
    """Celery's ``safe_say`` (notices printed from signal handlers), as a JSON line.

    Called inside signal handlers, so it writes with ``os.write``: the logging
    module's locks could be held by the code the signal interrupted.
    """
    record = {
        "time": datetime.now(UTC).strftime(TIME_FORMAT),
        "level": "WARNING",
        "logger": "celery.apps.worker",
        "process": "MainProcess",
        "message": message.strip(),
    }
    with suppress(OSError, ValueError):  # a closed stream: best-effort, as Celery's own
        os.write(f.fileno(), (json.dumps(record) + "\n").encode())


def worker_writes_json_only(instance: Any, **_: Any) -> None:
    """Make a starting worker print JSON lines only (a ``celeryd_init`` handler).

    Sent before the worker checks its privileges (a warning) and sets up logging.
    """
    import celery.apps.worker  # only a worker needs it (and it brings the CLI along)

    instance.quiet = True  # the banner is printed, not logged: a "worker starting" record
    celery.apps.worker.safe_say = say_as_json
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:  # until Celery's logging set-up replaces it
        early = logging.StreamHandler()
        early.setFormatter(json_formatter())
        root.addHandler(early)


# --- 5. Flower --------------------------------------------------------------------
# Flower reads its options from FLOWER_* variables and a flowerconfig.py it finds only
# in its working directory: a guard there is skipped by starting it elsewhere. The
# guard is held in the process instead, by replacing the application class that
# `celery flower` builds (flower.command.Flower, not a documented hook), and /metrics,
# which Flower serves without authentication, is wrapped with Tornado's decorator.


def guard_flower_command(check: Callable[[Any], None]) -> None:
    """Make ``celery flower`` call ``check(options)`` before it builds its application."""
    import flower.command

    flower_class = flower.command.Flower

    class GuardedFlower(flower_class):  # type: ignore[misc, valid-type]
        """Flower, checking its options before it starts."""

        def __init__(self, options: Any = None, **kwargs: Any) -> None:
            check(options)
            super().__init__(options=options, **kwargs)

    flower.command.Flower = GuardedFlower


def require_auth_for_metrics() -> None:
    """Serve Flower's ``/metrics`` only to clients that pass the UI's authentication."""
    from flower.views.monitor import Metrics
    from tornado.web import authenticated

    if not getattr(Metrics.get, "__wrapped__", None):
        Metrics.get = authenticated(Metrics.get)


def running_command(name: str) -> bool:
    """Whether this process runs ``celery ... <name>`` (the app is loaded for that command)."""
    context = click.get_current_context(silent=True)
    while context is not None:
        if context.info_name == name or context.invoked_subcommand == name:
            return True
        context = context.parent
    return False


# --- Fingerprints ----------------------------------------------------------------


def resolve(name: str) -> Any:
    """The object ``module:Qualified.name`` names."""
    module_name, _, qualified = name.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in qualified.split("."):
        value = inspect.getattr_static(value, part)
    return value


# AST fields that Python versions add or fill differently (3.12's type parameters).
_VERSION_FIELDS = frozenset({"type_params", "type_comment", "kind"})


def fingerprint(value: Any) -> str:
    """A short hash of ``value``'s syntax tree: blind to formatting, comments and Python version."""
    target = value
    for unwrap in ("__wrapped__", "fget", "__func__", "callback"):  # decorators, click
        target = getattr(target, unwrap, None) or target
    source = textwrap.dedent(inspect.getsource(target))
    return hashlib.sha256(_canonical(ast.parse(source)).encode()).hexdigest()[:16]


def _canonical(node: Any) -> str:
    if isinstance(node, ast.AST):
        fields = (
            _canonical(getattr(node, name, None))
            for name in node._fields
            if name not in _VERSION_FIELDS
        )
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return f"[{','.join(map(_canonical, node))}]"
    return repr(node)


def changed() -> dict[str, tuple[str, str]]:
    """What differs from :data:`WRITTEN_AGAINST`: name -> (recorded, installed)."""
    found = {name: fingerprint(resolve(name)) for name in WRITTEN_AGAINST}
    return {
        name: (WRITTEN_AGAINST[name], installed)
        for name, installed in found.items()
        if installed != WRITTEN_AGAINST[name]
    }


def main() -> None:
    """Print the fingerprints of the installed versions (``python -m ...upstream``)."""
    for name in WRITTEN_AGAINST:
        print(f'    "{name}": "{fingerprint(resolve(name))}",')


if __name__ == "__main__":
    main()
