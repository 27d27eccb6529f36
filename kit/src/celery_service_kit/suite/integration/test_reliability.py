"""The task pattern against a real worker and the real Redis: retries, locks,
idempotency and dead letters."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from datetime import UTC, datetime

import redis
from celery.worker import WorkController

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.recording import Recorder, WorkerFactory

app = under_test().app
dead_letters = app.service.dead_letters
settings = app.settings


def test_transient_error_retries_with_growing_capped_jittered_delays_then_dead_letters(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
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
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    sent = probes.permanent_failure.delay("bad-order")
    [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    assert not recorder.retries
    assert store.get(probes.probe_key("runs", "bad-order")) == "1"
    [letter] = dead_letters.newest()
    assert (letter.task_id, letter.retries, letter.args) == (sent.id, 0, ["bad-order"])
    assert "PermanentError" in letter.exception


def test_a_payment_that_breaks_the_contract_is_one_dead_letter_without_retries(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    payment = {"order_id": "order-9", "amount_cents": -500, "card_token": "tok_9"}
    sent = probes.capture.delay(payment)
    [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    assert not recorder.retries
    [letter] = dead_letters.newest()
    assert letter.task_id == sent.id
    assert "amount_cents: Input should be greater than 0" in letter.exception
    assert letter.args == [{**payment, "card_token": "***"}]
    assert store.hget(probes.probe_key("payments"), "order-9") is None


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


def test_twenty_runs_contending_for_one_lock_all_complete_without_spending_retries(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    contenders = 20  # each holds the lock 0.3 s: 6 s of waiting for the last, with 4 at once
    with worker(concurrency=4):
        for run in range(contenders):
            probes.exclusive.delay("ledger-eu", f"run-{run}", 0.3)
        runs = recorder.wait_for(contenders, timeout=90)

    assert {run.state for run in runs} == {"SUCCESS"}
    assert not dead_letters.newest(), "a run waiting for the lock ended as a dead letter"
    intervals = sorted(
        json.loads(item) for item in store.lrange(probes.probe_key("intervals", "ledger-eu"), 0, -1)
    )
    assert len(intervals) == contenders
    for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
        assert end <= start, "two runs held the lock at once"
    waits = Counter(retry.task_id for retry in recorder.retries)
    assert max(waits.values()) > settings.retry_max_retries, (
        "no run waited more times than its retry budget: the test proved nothing"
    )


def test_a_duplicate_waits_for_a_long_first_run_and_gets_its_result(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    # The first run outlasts every retry delay together (0.5 + 1 + 2 s in the tests).
    with worker(concurrency=2):
        probes.charge.delay("order-77", 5.0)
        time.sleep(0.5)
        probes.charge.delay("order-77")
        runs = recorder.wait_for(2, timeout=60)

    assert [run.state for run in runs] == ["SUCCESS", "SUCCESS"]
    assert runs[0].retval == runs[1].retval
    assert store.get(probes.probe_key("charges", "order-77")) == "1"
    assert not dead_letters.newest()


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


def test_a_date_result_is_recorded_and_returned_to_duplicates(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    for _ in range(2):
        probes.charge_returning.delay("order-8", "datetime")
    runs = recorder.wait_for(2, state="SUCCESS")

    assert runs[0].retval == runs[1].retval == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert store.get(probes.probe_key("charges", "order-8")) == "1"


def test_a_result_json_cannot_hold_fails_once_and_the_effect_is_not_repeated(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    probes.charge_returning.delay("order-9", "set")
    recorder.wait_for(1)
    probes.charge_returning.delay("order-9", "set")  # a duplicate, or a replay
    runs = recorder.wait_for(2)

    assert [run.state for run in runs] == ["FAILURE", "FAILURE"]
    assert store.get(probes.probe_key("charges", "order-9")) == "1", "the effect was repeated"
    assert not recorder.retries, "a permanent error was retried"
    first_error, duplicate_error = (letter.exception for letter in reversed(dead_letters.newest()))
    assert "is not JSON" in first_error
    assert "set" in first_error
    assert "done once already" in duplicate_error


def test_a_failed_claimed_run_releases_its_claim_and_its_retry_succeeds(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    probes.charge_failing_first.delay("order-7")
    [run] = recorder.wait_for(1)

    assert run.state == "SUCCESS"
    assert len(recorder.retries) == 1
    assert store.get(probes.probe_key("charges", "order-7")) == "1"
    assert not dead_letters.newest()


def test_the_dead_letter_stream_stays_bounded(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    bound = settings.dead_letter_maxlen
    sent = [probes.permanent_failure.delay(f"bad-{n}") for n in range(bound + 5)]
    recorder.wait_for(bound + 5)

    assert dead_letters.count() == bound
    kept = [letter.task_id for letter in dead_letters.newest(bound)]
    assert kept == [result.id for result in reversed(sent[-bound:])], "not the newest ones"


def test_dead_letters_older_than_the_age_bound_are_dropped(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    too_old_ms = int((time.time() - settings.dead_letter_max_age_days * 86_400 - 60) * 1000)
    store.xadd(dead_letters.stream, {"task": "old"}, id=f"{too_old_ms}-0")
    sent = probes.permanent_failure.delay("fresh")
    recorder.wait_for(1)

    assert [letter.task_id for letter in dead_letters.newest()] == [sent.id]


def test_every_field_of_a_dead_letter_is_bounded_and_marked_as_cut(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    bound = settings.dead_letter_max_field_chars
    probes.permanent_failure.delay("big-" + "x" * (3 * bound))
    recorder.wait_for(1)

    [letter] = dead_letters.newest()
    [(_, fields)] = store.xrange(dead_letters.stream) or []
    assert all(len(value) <= bound + 100 for value in (fields or {}).values())
    assert letter.truncated
    assert not letter.replayable
    assert "[cut: " in letter.exception


def test_an_empty_stream_reads_as_empty(store: redis.Redis) -> None:
    assert dead_letters.newest() == []
    assert dead_letters.count() == 0
    assert dead_letters.get("0-1") is None
    assert dead_letters.purge() == 0
