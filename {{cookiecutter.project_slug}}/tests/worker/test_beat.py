"""Beat sends its schedule to a real worker, and a second beat cannot send it twice."""

from __future__ import annotations

import signal
import tomllib
from pathlib import Path

import redis
import yaml
from celery.schedules import schedule
from redbeat import RedBeatSchedulerEntry
from support import probes
from support.health import WINDOW, health_environment, passes, probe
from support.polling import eventually
from support.processes import PROJECT, CeleryProcess, StartWorker

from {{ cookiecutter.package_name }} import app

ACQUIRED = "beat: Acquired lock"


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


def test_kubernetes_runs_one_beat_replaced_with_recreate() -> None:
    # Two beats at once would each wait for RedBeat's lock: a rollout must stop the old
    # one first, and the probe must be beat's own.
    manifest = PROJECT / "deploy" / "kubernetes" / "beat.yaml"
    (deployment,) = yaml.safe_load_all(manifest.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    (probe_command,) = pyproject["project"]["scripts"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert container["livenessProbe"]["exec"]["command"] == [probe_command, "beat", "live"]
    assert container["command"][:4] == ["celery", "-A", app.main, "beat"]
