"""The task pattern against a real worker and the real Redis: retries, locks,
idempotency and dead letters."""

from __future__ import annotations

import itertools
import json

import redis
from support import probes
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.reliability import dead_letters
from {{ cookiecutter.package_name }}.tasks import critical

settings = get_settings()


def test_transient_error_retries_with_growing_capped_jittered_delays_then_dead_letters(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker():
        sent = probes.always_transient.delay("flaky-api")
        [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    max_retries = probes.always_transient.max_retries
    assert max_retries == 5
    assert store.get(probes.probe_key("runs", "flaky-api")) == str(max_retries + 1)
    countdowns = [retry.countdown for retry in recorder.retries if retry.task_id == sent.id]
    ceilings = [
        min(settings.retry_backoff_max, settings.retry_backoff_base * 2**n)
        for n in range(max_retries)
    ]
    assert len(countdowns) == max_retries
    for countdown, ceiling in zip(countdowns, ceilings, strict=True):
        assert ceiling / 2 <= countdown <= ceiling  # equal jitter: the upper half
    assert ceilings[-1] == ceilings[-2] == settings.retry_backoff_max  # capped
    assert countdowns != sorted(ceilings), "no jitter"
    [letter] = dead_letters.newest()
    assert (letter.task_id, letter.task, letter.retries) == (
        sent.id,
        probes.always_transient.name,
        max_retries,
    )
    assert "TransientError" in letter.exception
    assert "the downstream service is unavailable" in letter.traceback + letter.exception


def test_permanent_error_is_not_retried_and_dead_lettered_once(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker():
        sent = probes.permanent_failure.delay("bad-order")
        [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    assert not recorder.retries
    assert store.get(probes.probe_key("runs", "bad-order")) == "1"
    [letter] = dead_letters.newest()
    assert (letter.task_id, letter.retries, letter.args) == (sent.id, 0, ["bad-order"])
    assert "PermanentError" in letter.exception


def test_bad_payload_of_an_example_task_is_a_dead_letter_without_retries(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker():
        sent = critical.capture_payment.delay("order-9", -500)
        [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    assert not recorder.retries
    assert [letter.task_id for letter in dead_letters.newest()] == [sent.id]


def test_runs_under_one_lock_never_overlap_and_all_complete(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker(concurrency=3):
        for run in ("first", "second", "third"):
            probes.exclusive.delay("printer-1", run, 0.4)
        recorder.wait_for(3, state="SUCCESS")

    intervals = sorted(
        json.loads(item) for item in store.lrange(probes.probe_key("intervals", "printer-1"), 0, -1)
    )
    assert sorted(run for _, _, run in intervals) == ["first", "second", "third"]
    for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
        assert end <= start, f"two runs held the lock at once: {intervals}"
    assert recorder.retries, "the lock was never found busy: the test proved nothing"
    assert not store.keys("*:lock:*"), "a lock was left behind"


def test_same_key_five_times_has_its_effect_once_and_one_result(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker(concurrency=3):
        for _ in range(3):  # at once: two of them find the key claimed
            probes.charge.delay("order-42", 0.5)
        recorder.wait_for(3, state="SUCCESS")
        for _ in range(2):  # after the fact: the recorded result
            probes.charge.delay("order-42")
        runs = recorder.wait_for(5, state="SUCCESS")

    assert store.get(probes.probe_key("charges", "order-42")) == "1"
    results = {run.retval for run in runs}
    assert len(results) == 1, f"callers got different results: {results}"
    assert recorder.retries, "no run was concurrent with another: the test proved nothing"


def test_a_failed_claimed_run_releases_its_claim_and_its_retry_succeeds(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker():
        probes.charge_failing_first.delay("order-7")
        [run] = recorder.wait_for(1)

    assert run.state == "SUCCESS"
    assert len(recorder.retries) == 1
    assert store.get(probes.probe_key("charges", "order-7")) == "1"
    assert not dead_letters.newest()


def test_the_dead_letter_stream_stays_bounded(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    bound = settings.dead_letter_maxlen
    with worker():
        sent = [probes.permanent_failure.delay(f"bad-{n}") for n in range(bound + 5)]
        recorder.wait_for(bound + 5)

    assert dead_letters.count() == bound
    kept = [letter.task_id for letter in dead_letters.newest(bound)]
    assert kept == [result.id for result in reversed(sent[-bound:])], "not the newest ones"


def test_an_empty_stream_reads_as_empty(store: redis.Redis) -> None:
    assert dead_letters.newest() == []
    assert dead_letters.count() == 0
    assert dead_letters.get("0-1") is None
    assert dead_letters.purge() == 0
