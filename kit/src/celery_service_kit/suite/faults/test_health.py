"""The probe command sees what a ping cannot: a stopped main process, a lost broker.

Real workers with a test-sized heartbeat (``testing.health``), checked by the real
probe command as Kubernetes, Docker or an operator would run it.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.health import INTERVAL, WINDOW, health_environment, passes, probe
from celery_service_kit.testing.polling import eventually, throughout
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.redis_server import RestartableRedis, as_the_broker, own_redis

LIVE = ("worker", "live")
READY = ("worker", "ready")
# A heartbeat late by more than the window fails the probe: allow the interval and a
# second for the probe's own start.
DETECTED_WITHIN = INTERVAL + WINDOW + 1


def test_a_busy_worker_is_live_and_ready_and_a_stopped_one_is_not_live(
    start_worker: StartWorker, store: redis.Redis, tmp_path: Path
) -> None:
    marks = tmp_path / "health"
    worker = start_worker("busy", concurrency=2, environment=health_environment(marks))
    eventually(lambda: passes(marks, *READY), timeout=10, what="the worker to be ready")
    for n in range(200):  # a steady stream, longer than the liveness window
        probes.slow_effect.delay(f"stream-{n}", 0.05)
    throughout(lambda: passes(marks, *READY), seconds=WINDOW + 2, what="ready while busy")

    worker.send_signal(signal.SIGSTOP)  # the main process, as a hung event loop would be
    try:
        stopped_at = time.monotonic()
        eventually(lambda: not passes(marks, *LIVE), DETECTED_WITHIN, "the probe to fail")
        assert time.monotonic() - stopped_at > WINDOW - 1, "failed before the window ran out"
        outcome = probe(marks, *LIVE)
        assert outcome.returncode == 1
        assert outcome.stdout.startswith("worker not live: heartbeat overdue by"), outcome.stdout
        assert not passes(marks, *READY)
        assert worker.answers_ping(timeout=0.5) is False  # nor would a ping answer
    finally:
        worker.send_signal(signal.SIGCONT)
    eventually(lambda: passes(marks, *READY), timeout=INTERVAL + 3, what="ready again")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RestartableRedis]:
    with own_redis(tmp_path / "broker") as server:
        yield server


def test_a_broker_outage_makes_the_worker_not_ready_but_keeps_it_live(
    start_worker: StartWorker, broker: RestartableRedis, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    control = as_the_broker(broker, monkeypatch)
    marks = tmp_path / "health"
    start_worker("outage", control_app=control, environment=health_environment(marks))
    eventually(lambda: passes(marks, *READY), timeout=10, what="the worker to be ready")

    broker.stop()
    eventually(lambda: not passes(marks, *READY), timeout=10, what="not ready without a broker")
    assert "not consuming" in probe(marks, *READY).stdout
    # Down for longer than the window: a probe that restarted workers now would restart
    # every worker of the fleet at once.
    throughout(lambda: passes(marks, *LIVE), seconds=WINDOW + 3, what="live during the outage")

    broker.start()
    eventually(lambda: passes(marks, *READY), timeout=30, what="ready again after the outage")


def test_a_worker_in_warm_shutdown_is_not_ready_and_stays_live_while_its_task_runs(
    start_worker: StartWorker, store: redis.Redis, tmp_path: Path
) -> None:
    marks = tmp_path / "health"
    seconds = WINDOW + 3  # a task that outlasts the liveness window
    # Limits well above the task, so that only the shutdown could end it: the test
    # settings' soft limit (8 s) would race the task's own 8 s.
    limits = {"CELERY_TASK_SOFT_TIME_LIMIT": "15", "CELERY_TASK_TIME_LIMIT": "18"}
    worker = start_worker("leaving", environment={**health_environment(marks), **limits})
    probes.slow_effect.delay("long-report", seconds)
    eventually(
        lambda: store.llen(probes.probe_key("started", "long-report")), 10, "the task to start"
    )

    worker.send_signal(signal.SIGTERM)  # Celery's warm shutdown
    eventually(lambda: not passes(marks, *READY), timeout=2, what="not ready once stopping")
    throughout(lambda: passes(marks, *LIVE) or worker.exited(), seconds - 1,
           what="live while the running task finishes")  # fmt: skip
    assert worker.wait(timeout=30) == 0
    assert store.get(probes.probe_key("effects", "long-report")) == "1"


def test_under_systemd_the_worker_notifies_ready_and_feeds_the_watchdog(
    start_worker: StartWorker, tmp_path: Path
) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(address))
        systemd.settimeout(15)
        environment = {**health_environment(tmp_path / "health"), "NOTIFY_SOCKET": str(address)}
        worker = start_worker("notifying", environment=environment)

        def received() -> list[str]:
            return systemd.recv(4096).decode().split("\n")

        first = received()
        assert first[0] == "READY=1"
        assert first[1] == f"WATCHDOG_USEC={int((INTERVAL + WINDOW) * 1_000_000)}"
        fields = [field for _ in range(6) for field in received()]
        assert fields.count("WATCHDOG=1") >= 3
        assert "STATUS=Consuming" in fields

        worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while (field := received()) and "STOPPING=1" not in field:
            assert time.monotonic() < deadline, "no STOPPING=1"
