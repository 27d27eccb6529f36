"""The consumer's steps: Celery's, with worker heartbeat events that never wait on the broker."""

from __future__ import annotations

from typing import Any

from {{ cookiecutter.package_name }}.consumer import Consumer, EventHeartbeats, OneShotHeart


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
