"""The consumer's steps: heartbeat events never wait on the broker; task events are batched."""

from __future__ import annotations

import inspect
from typing import Any

import celery.worker.consumer.events
from celery import Celery

from celery_service_kit.upstream import (
    EVENTS_FLUSH_DELAY,
    Consumer,
    EventHeartbeats,
    OneShotHeart,
)


class RecordingEventer:
    enabled = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []
        self.on_enabled: set[Any] = set()  # what Celery's Heart registers with
        self.on_disabled: set[Any] = set()

    def send(self, event: str, retry: bool = False, **fields: Any) -> None:
        self.sent.append((event, retry))


def test_the_consumer_sends_heartbeat_events_with_its_own_step() -> None:
    steps = Consumer.Blueprint.default_steps

    assert f"{EventHeartbeats.__module__}:EventHeartbeats" in steps
    assert "celery.worker.consumer.heart:Heart" not in steps
    assert len(steps) == len(set(steps))


def test_a_heartbeat_event_is_sent_once_never_retried() -> None:
    eventer = RecordingEventer()
    heart = OneShotHeart(timer=None, eventer=eventer, interval=2)

    heart._send("worker-heartbeat")  # Celery asks for retries here

    assert eventer.sent == [("worker-heartbeat", False)]


def test_monitoring_events_are_published_without_confirms_and_tasks_with_them() -> None:
    app = Celery(broker="amqp://guest:guest@localhost:5672//", set_as_current=False)
    app.conf.broker_transport_options = {"confirm_publish": True}  # as on RabbitMQ
    consumer = Consumer.__new__(Consumer)  # no worker: only the connection is built
    consumer.app = app
    consumer.ensure_connected = lambda conn: conn  # type: ignore[method-assign]

    events = consumer.connection_for_write(heartbeat=10)

    assert (events.transport_options or {})["confirm_publish"] is False
    assert events.heartbeat == 10
    assert (app.connection_for_write().transport_options or {})["confirm_publish"] is True


def test_celerys_events_step_takes_its_connection_from_the_consumer() -> None:
    # What the test above relies on: if Celery's step stops asking the consumer, the
    # events go back to a confirmed connection and this fails.
    source = inspect.getsource(celery.worker.consumer.events.Events.start)

    assert "c.connection_for_write(" in source


class RecordingHub:
    def __init__(self) -> None:
        self.later: list[tuple[float, Any]] = []

    def call_later(self, delay: float, callback: Any) -> None:
        self.later.append((delay, callback))


def test_buffered_task_events_are_published_together_after_the_delay() -> None:
    consumer = Consumer.__new__(Consumer)
    consumer.hub = hub = RecordingHub()  # type: ignore[attr-defined]
    flushes: list[bool] = []
    consumer._flush_events = lambda: flushes.append(True)  # type: ignore[attr-defined]

    for _ in range(5):  # five events buffered within the delay
        consumer.on_send_event_buffered()
    assert [delay for delay, _ in hub.later] == [EVENTS_FLUSH_DELAY]  # one publish for all

    hub.later[0][1]()
    assert flushes == [True]
    consumer.on_send_event_buffered()  # the next event starts the next batch
    assert len(hub.later) == 2
