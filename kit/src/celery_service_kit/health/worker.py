"""The worker's liveness and readiness marks, kept by its consumer.

:class:`Heartbeat` is a consumer bootstep. While the consumer runs its event loop,
a timer of that loop writes the heartbeat every ``HEALTH_HEARTBEAT_INTERVAL``
seconds; while the consumer retries its broker connection, each step of the retry
writes it (see ``Consumer.ensure_connected``). Nothing else does: a main process
that is stopped, or stuck outside both, stops being live within the liveness
window. Readiness is set once the consumer consumes, withdrawn when the connection
is lost or the consumer stops, and for good once shutdown starts.

Under ``Type=notify`` (the systemd unit) every heartbeat also feeds systemd's
watchdog, whose timeout the worker sets itself from the same settings. The app adds
the step to its consumer where it is built, and the step takes its settings from
that app.
"""

from __future__ import annotations

import functools
from typing import Any

from celery import bootsteps, signals
from celery.exceptions import ImproperlyConfigured
from kombu import Connection

from ..service import service_of
from . import systemd
from .marks import Marks, worker_mark_name


class Heartbeat(bootsteps.StartStopStep):
    """Liveness and readiness marks of this worker, for the probe command and systemd."""

    # Start once the consumer consumes (Tasks started its task consumer), before the
    # event loop (the last step) begins.
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, consumer: Any, **kwargs: Any) -> None:
        super().__init__(consumer, **kwargs)
        service = service_of(consumer.app)
        self.settings = service.settings
        self.interval = self.settings.health_heartbeat_interval
        self.alive_for = self.interval + self.settings.health_liveness_window
        self.marks = Marks(service.health_dir, worker_mark_name(consumer.hostname))
        self.stopping = False
        self.timer_entry: Any = None
        self.started = False
        try:
            self.marks.withdraw_ready()  # a mark left by an earlier run of this node
            self.beat()
        except OSError as error:
            raise ImproperlyConfigured(
                f"HEALTH_DIR={service.health_dir}: cannot write the worker's health "
                f"marks there ({error}); give it a writable directory"
            ) from error
        consumer.health = self  # the consumer's connection retries beat through it
        signals.worker_shutting_down.connect(self.on_shutting_down, weak=False)

    def beat(self) -> None:
        """Write the heartbeat (the event loop or the connection retry calls this)."""
        if self.stopping:
            return
        self.marks.heartbeat(self.alive_for)
        if self.stopping:  # a shutdown signal came in the middle: its mark wins
            self.marks.heartbeat(self.shutdown_alive_for())
        if not self.started:
            self.started = True
            systemd.notify("READY=1", f"WATCHDOG_USEC={int(self.alive_for * 1_000_000)}")
        systemd.notify("WATCHDOG=1")

    def shutdown_alive_for(self) -> float:
        """How long a worker that started shutting down counts as live."""
        return self.settings.shutdown_allowance + self.settings.health_liveness_window

    def while_connecting(self, connection: Connection) -> Connection:
        """``connection``, whose connection retries write the heartbeat at every step."""
        ensure_connection = connection.ensure_connection

        @functools.wraps(ensure_connection)
        def ensure_connection_beating(*args: Any, callback: Any = None, **kwargs: Any) -> Any:
            def beat_and_callback() -> None:
                self.beat()
                if callback is not None:
                    callback()

            kwargs["callback"] = beat_and_callback
            return ensure_connection(*args, **kwargs)

        connection.ensure_connection = ensure_connection_beating  # type: ignore[method-assign]
        return connection

    def start(self, consumer: Any) -> None:
        """The consumer consumes: ready, with a heartbeat from its event loop."""
        if self.stopping:
            return
        self.beat()
        if consumer.hub is not None:
            self.timer_entry = consumer.hub.call_repeatedly(self.interval, self.beat)
        else:  # no event loop (a green pool): the worker's timer thread is all there is
            self.timer_entry = consumer.timer.call_repeatedly(self.interval, self.beat)
        self.marks.set_ready()
        systemd.notify("STATUS=Consuming")

    def stop(self, consumer: Any) -> None:
        """The connection was lost, or the consumer stops: not ready."""
        self.marks.withdraw_ready()
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        if not self.stopping:
            systemd.notify("STATUS=Not consuming: connecting to the broker")

    def shutdown(self, consumer: Any) -> None:
        """The consumer is gone for good."""
        self.stop(consumer)

    def on_shutting_down(self, **kwargs: Any) -> None:
        """Shutdown started (in the signal handler): not ready, and live while it lasts."""
        self.stopping = True
        self.marks.withdraw_ready()
        self.marks.heartbeat(self.shutdown_alive_for())
        systemd.notify("STOPPING=1", f"STATUS={kwargs.get('how', 'Warm')} shutdown")
