"""Beat sends its schedule to a real worker, and a second beat cannot send it twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import redis
from celery.schedules import schedule
from redbeat import RedBeatSchedulerEntry

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.health import WINDOW, health_environment, passes, probe
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import CeleryProcess, StartWorker

app = under_test().app

ACQUIRED = "beat: Acquired lock"


pytestmark = pytest.mark.requires("beat")


class BeatProcess(CeleryProcess):
    """``celery -A <package> beat``: ready once it holds RedBeat's lock."""

    def arguments(self) -> list[str]:
        """Beat's command line."""
        return ["beat", "--loglevel", "INFO"]

    def is_ready(self) -> bool:
        """Whether this beat holds the lock and sends the schedule."""
        return ACQUIRED in self.log_text()


def ticks(store: redis.Redis) -> int:
    return int(store.get(probes.probe_key("runs", "beat-tick")) or 0)


def test_beat_sends_to_a_worker_and_a_second_beat_waits_for_the_lock(
    start_worker: StartWorker, started: list[CeleryProcess], store: redis.Redis, tmp_path: Path
) -> None:
    start_worker("scheduled")
    RedBeatSchedulerEntry(
        "probe-tick", probes.quick.name, schedule(run_every=1), args=("beat-tick",), app=app
    ).save()
    first = BeatProcess("beat-first", log_dir=tmp_path)
    second = BeatProcess("beat-second", log_dir=tmp_path)
    started.extend([first, second])

    first.start()
    second.start_process()  # started by mistake: a double deploy
    eventually(lambda: ticks(store) >= 3, timeout=30, what="beat to send the task three times")

    assert ACQUIRED not in second.log_text(), "two beats held the lock at once"
    first.send_signal(signal.SIGTERM)  # releases the lock
    first.wait(timeout=30)
    eventually(second.is_ready, timeout=30, what="the second beat to take over")
    before = ticks(store)
    eventually(lambda: ticks(store) > before, timeout=30, what="ticks from the second beat")


def test_beat_is_live_while_it_ticks_and_not_once_it_stops(
    started: list[CeleryProcess], store: redis.Redis, tmp_path: Path
) -> None:
    marks = tmp_path / "health"
    beat = BeatProcess("beat-probed", log_dir=tmp_path, environment=health_environment(marks))
    started.append(beat)
    beat.start()
    eventually(lambda: passes(marks, "beat", "live"), timeout=10, what="beat to be live")

    beat.send_signal(signal.SIGSTOP)
    try:
        # A tick at least every beat_max_loop_interval (5 s), late by more than the window.
        eventually(
            lambda: not passes(marks, "beat", "live"), timeout=5 + WINDOW + 1, what="not live"
        )
        assert "heartbeat overdue" in probe(marks, "beat", "live").stdout
    finally:
        beat.send_signal(signal.SIGCONT)
    eventually(lambda: passes(marks, "beat", "live"), timeout=10, what="live again")
