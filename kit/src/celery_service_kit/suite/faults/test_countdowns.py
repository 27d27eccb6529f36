"""A countdown the broker can hold runs once, when due, even if its worker restarts."""

from __future__ import annotations

import signal
import time

import redis

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app


COUNTDOWN = 6.0


def test_a_countdown_task_runs_once_when_due_across_a_worker_restart(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    assert app.settings.longest_countdown > COUNTDOWN  # within what the broker holds
    first = start_worker("holding")
    sent = time.time()
    probes.slow_effect.apply_async(("later", 0.1), countdown=COUNTDOWN)
    time.sleep(1)  # the first worker has reserved it, and holds it until it is due

    first.send_signal(signal.SIGTERM)  # a deploy: the held task goes back to the broker
    assert first.wait(timeout=30) == 0
    start_worker("taking-over")

    effects = probes.probe_key("effects", "later")
    eventually(lambda: store.get(effects), timeout=COUNTDOWN + 30, what="the task to run")
    ran_after = time.time() - sent
    time.sleep(2)  # time for a second run, if there were one

    assert ran_after >= COUNTDOWN, f"ran {ran_after:.1f} s after it was sent"
    assert store.llen(probes.probe_key("started", "later")) == 1
    assert store.get(effects) == "1"
