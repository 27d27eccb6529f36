"""The probe command reads the marks right, fast, and without Celery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.exceptions import ImproperlyConfigured
from pydantic import ValidationError

from celery_service_kit.health.marks import BEAT, Marks, worker_mark_name
from celery_service_kit.health.probe import main, problem
from celery_service_kit.health.worker import Heartbeat
from celery_service_kit.reliability.dead_letters import DeadLetters
from celery_service_kit.service import Service
from celery_service_kit.settings import Settings
from celery_service_kit.store import Store
from celery_service_kit.testing import under_test
from celery_service_kit.testing.health import probe_path


@pytest.fixture
def marks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALTH_DIR", str(tmp_path))
    return tmp_path


def worker_marks(directory: Path, node: str = "worker@host") -> Marks:
    return Marks(directory, worker_mark_name(node))


def test_a_current_heartbeat_is_live_and_a_late_one_is_not(marks_dir: Path) -> None:
    marks = worker_marks(marks_dir)
    marks.heartbeat(alive_for=30)
    assert problem(marks_dir, "worker", "live") is None

    marks.heartbeat(alive_for=-2.5)  # written 32.5 s ago with a 30 s allowance
    reason = problem(marks_dir, "worker", "live")
    assert reason is not None
    assert reason.startswith("heartbeat overdue by 2.")
    assert f"pid {os.getpid()}" in reason


def test_ready_needs_the_mark_and_a_live_worker(marks_dir: Path) -> None:
    marks = worker_marks(marks_dir)
    marks.heartbeat(alive_for=30)
    assert problem(marks_dir, "worker", "ready") == (
        "not consuming: starting, reconnecting to the broker, or shutting down"
    )
    marks.set_ready()
    assert problem(marks_dir, "worker", "ready") is None
    marks.heartbeat(alive_for=-1)
    assert "overdue" in (problem(marks_dir, "worker", "ready") or "")
    marks.heartbeat(alive_for=30)
    marks.withdraw_ready()
    assert problem(marks_dir, "worker", "ready") is not None


def test_no_worker_and_several_workers_are_reported(marks_dir: Path) -> None:
    assert problem(marks_dir, "worker", "live") == (
        f"no worker heartbeat in {marks_dir} (starting, or never started)"
    )
    worker_marks(marks_dir, "worker@host").heartbeat(30)
    worker_marks(marks_dir, "critical@host").heartbeat(30)
    assert problem(marks_dir, "worker", "live") == (
        f"the marks of several workers are in {marks_dir} (critical@host, worker@host): use --node"
    )
    assert problem(marks_dir, "worker", "live", node="critical@host") is None


def test_the_node_name_may_use_this_hosts_name(marks_dir: Path) -> None:
    import socket

    worker_marks(marks_dir, f"critical@{socket.gethostname()}").heartbeat(30)
    assert problem(marks_dir, "worker", "live", node="critical@%h") is None


def test_an_unreadable_heartbeat_is_a_failure_not_a_crash(marks_dir: Path) -> None:
    marks = worker_marks(marks_dir)
    marks_dir.joinpath(marks.alive_path.name).write_text("{not json", encoding="utf-8")
    assert (problem(marks_dir, "worker", "live") or "").startswith("unreadable heartbeat file")


def test_beat_is_live_while_it_ticks(marks_dir: Path) -> None:
    assert problem(marks_dir, "beat", "live") is not None
    Marks(marks_dir, BEAT).heartbeat(alive_for=10)
    assert problem(marks_dir, "beat", "live") is None
    assert problem(marks_dir, "beat", "ready") == "beat has a liveness check only"


def test_the_command_prints_one_line_and_exits_0_or_1(
    marks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(under_test().package, ["worker", "live"]) == 1
    assert capsys.readouterr().out.count("\n") == 1
    worker_marks(marks_dir).heartbeat(30)
    assert main(under_test().package, ["worker", "live"]) == 0
    assert capsys.readouterr().out == "worker live\n"


def test_the_installed_command_imports_neither_celery_nor_the_settings(tmp_path: Path) -> None:
    # What the probe's process loads, by running it with Python's import log.
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(probe_path()), "worker", "live"],
        env={**os.environ, "HEALTH_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    heavy = {name for name in imported if name.split(".")[0] in {"celery", "kombu", "pydantic"}}
    assert main.__module__ in imported  # the probe itself
    assert heavy == set()


def test_a_liveness_window_a_connection_attempt_or_command_could_outlast_is_refused() -> None:
    with pytest.raises(ValidationError, match="HEALTH_LIVENESS_WINDOW must be above 10 s"):
        Settings(health_liveness_window=10)  # REDIS_SOCKET_TIMEOUT: 10 s
    with pytest.raises(ValidationError, match="HEALTH_LIVENESS_WINDOW must be above 4 s"):
        Settings(health_liveness_window=4, redis_socket_timeout=1)  # a connection attempt


def consumer_of_an_app_with(settings: Settings, tmp_path: Path) -> SimpleNamespace:
    """A consumer whose app is a service with ``settings`` (what Heartbeat reads)."""
    store = Store(settings, namespace="probed")
    service = Service(
        "probed", settings, ("default",), store, DeadLetters(store, settings, tmp_path)
    )
    return SimpleNamespace(hostname="worker@host", app=SimpleNamespace(service=service))


def test_a_worker_refuses_to_start_when_it_cannot_write_its_marks(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    consumer = consumer_of_an_app_with(Settings(health_dir=blocked / "health"), tmp_path)

    with pytest.raises(ImproperlyConfigured, match=r"HEALTH_DIR=.*cannot write"):
        Heartbeat(consumer)


def test_a_shutting_down_worker_stays_live_for_the_whole_shutdown(tmp_path: Path) -> None:
    settings = Settings(health_dir=tmp_path)
    heartbeat = Heartbeat(consumer_of_an_app_with(settings, tmp_path))
    heartbeat.marks.set_ready()

    heartbeat.on_shutting_down(how="Warm")
    heartbeat.beat()  # a heartbeat after the signal must not shorten it

    content = json.loads(heartbeat.marks.alive_path.read_text(encoding="utf-8"))
    expected = settings.shutdown_allowance + settings.health_liveness_window
    assert content["alive_until"] - time.monotonic() == pytest.approx(expected, abs=2)
    assert not heartbeat.marks.ready_path.exists()
