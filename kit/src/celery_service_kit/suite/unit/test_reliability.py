"""The task pattern's pure parts: backoff, keys, and definition-time checks."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

from celery_service_kit.reliability import (
    TRANSIENT_ERRORS,
    LockBusyError,
    PermanentError,
    ServiceTask,
    TransientError,
    rate_limited,
    task_lock,
)
from celery_service_kit.reliability.backoff import retry_countdown
from celery_service_kit.reliability.keys import ArgumentKey
from celery_service_kit.reliability.rate_limits import Schedule
from celery_service_kit.reliability.sensitive import MASK, masked_arguments
from celery_service_kit.reliability.task import ResultIgnoredError
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.probes import Payment, capture

app = under_test().app


def test_countdowns_grow_in_jittered_halves_up_to_the_cap() -> None:
    rng = random.Random(7)
    countdowns = [retry_countdown(n, base=60, cap=600, rng=rng) for n in range(6)]

    ceilings = [60, 120, 240, 480, 600, 600]
    for countdown, ceiling in zip(countdowns, ceilings, strict=True):
        assert ceiling / 2 <= countdown <= ceiling
    assert countdowns[:4] == sorted(countdowns[:4])
    assert len(set(countdowns)) == len(countdowns), "no jitter"


def test_countdowns_of_tasks_that_failed_together_spread_out() -> None:
    rng = random.Random(3)
    first_retries = [retry_countdown(0, base=60, cap=600, rng=rng) for _ in range(100)]

    assert max(first_retries) - min(first_retries) > 20


def test_key_from_a_format_string_over_the_parameters() -> None:
    def rebuild(report_id: str, force: bool = False) -> None: ...

    key = ArgumentKey("report:{report_id}:{force}", rebuild)

    assert key.render(("r-1",), {}) == "report:r-1:False"
    assert key.render((), {"report_id": "r-2", "force": True}) == "report:r-2:True"


def test_key_of_a_bound_task_ignores_self() -> None:
    def charge(self: Any, order_id: str) -> None: ...

    key = ArgumentKey("charge:{order_id}", charge)

    assert key.render(("o-1",), {}) == "charge:o-1"
    assert key.render_call((object(), "o-1"), {}) == "charge:o-1"


def test_key_of_a_model_argument_is_the_same_from_the_model_and_from_its_json() -> None:
    def capture_payment(payment: Payment) -> None: ...

    key = ArgumentKey("payment:{payment.order_id}", capture_payment)
    payment = Payment(order_id="o-3", amount_cents=5, card_token="tok")

    assert key.render((payment,), {}) == "payment:o-3"  # in the task
    assert key.render((payment.model_dump(mode="json"),), {}) == "payment:o-3"  # main process


def test_key_from_a_callable() -> None:
    def send(to: str, template: str) -> None: ...

    key = ArgumentKey(lambda to, template: f"mail:{to.lower()}:{template}", send)

    assert key.render(("A@Example.com", "welcome"), {}) == "mail:a@example.com:welcome"


def test_key_naming_an_unknown_parameter_is_refused_when_defined() -> None:
    def rebuild(report_id: str) -> None: ...

    with pytest.raises(ValueError, match=r"names \['reprot_id'\]"):
        ArgumentKey("report:{reprot_id}", rebuild)


def test_a_lock_that_could_expire_during_the_run_is_refused_when_the_task_is_made() -> None:
    app.finalize()  # tasks are made at once from now on

    with pytest.raises(ValueError, match="must exceed the hard time limit"):

        @app.task(shared=False)
        @task_lock("report:{report_id}", timeout=5)  # the app's hard limit is 10 s (tests)
        def rebuild(report_id: str) -> None: ...

    with pytest.raises(ValueError, match="must exceed the hard time limit"):

        @app.task(shared=False, time_limit=60)
        @task_lock("export:{export_id}", timeout=30)
        def export(export_id: str) -> None: ...


def test_busy_lock_and_running_claim_are_transient() -> None:
    assert issubclass(LockBusyError, TransientError)
    assert TransientError in TRANSIENT_ERRORS
    assert ConnectionError in TRANSIENT_ERRORS
    assert TimeoutError in TRANSIENT_ERRORS
    assert not issubclass(PermanentError, TRANSIENT_ERRORS)


def test_retry_settings_come_from_the_service_settings() -> None:
    settings = app.settings
    task = app.tasks[probes.quick.name]

    assert isinstance(task, ServiceTask)
    assert task.max_retries == settings.retry_max_retries
    assert task.default_retry_delay == settings.retry_backoff_base
    assert task.retry_backoff_max == settings.retry_backoff_max
    assert app.tasks[probes.always_transient.name].max_retries == 5  # the task's own option


def test_a_broken_contract_is_a_permanent_error_naming_the_field_not_the_value() -> None:
    with pytest.raises(PermanentError) as raised:
        capture({"order_id": "o-1", "amount_cents": -5, "card_token": "tok_secret"})

    assert str(raised.value) == "invalid Payment: amount_cents: Input should be greater than 0"
    assert raised.value.__suppress_context__, "the ValidationError (with the values) is shown"


def test_sensitive_arguments_are_masked_by_name_at_any_depth() -> None:
    payment = {"order_id": "o-1", "amount_cents": 5, "card_token": "tok_secret"}
    shown = {"order_id": "o-1", "amount_cents": 5, "card_token": MASK}

    assert masked_arguments(capture, [payment], {}) == ([shown], {})
    assert masked_arguments(capture, [], {"payment": payment}) == ([], {"payment": shown})
    model = Payment.model_validate(payment)
    assert masked_arguments(capture, (model,), {}) == ([shown], {})
    assert masked_arguments(capture, [[payment]], {}) == ([[shown]], {})


def test_a_sensitive_parameter_is_masked_whole_and_a_task_without_any_shows_all() -> None:
    @app.task(sensitive=("password",), shared=False)
    def log_in(user: str, password: str) -> None: ...

    assert masked_arguments(log_in, ("ann", "hunter2"), {}) == (["ann", MASK], {})
    assert masked_arguments(log_in, (), {"user": "ann", "password": "x"}) == (
        [],
        {"user": "ann", "password": MASK},
    )
    assert masked_arguments(app.tasks["celery.backend_cleanup"], (), {}) is None


def test_the_message_shows_masked_arguments_and_carries_the_real_ones() -> None:
    payment = {"order_id": "o-1", "amount_cents": 5, "card_token": "tok_secret"}

    message = app.amqp.as_task_v2("id-1", capture.name, (payment,), {})

    assert "tok_secret" not in message.headers["argsrepr"] + message.headers["kwargsrepr"]
    assert MASK in message.headers["argsrepr"]
    assert message.body[0] == (payment,)


def test_reading_the_result_of_a_task_that_ignores_it_raises() -> None:
    result = ServiceTask.AsyncResult(capture, "some-id")
    result.ignored = True

    with pytest.raises(ResultIgnoredError, match=r"capture does not store its result"):
        result.get(timeout=1)
    assert copy.copy(result).id == "some-id"  # Celery's own reduce arguments still fit


def test_a_rate_limit_reads_celerys_format_and_refuses_anything_else() -> None:
    assert Schedule.parse("crm", "100/m") == Schedule("crm", "100/m", 100, 60)
    assert Schedule.parse("crm", "20").interval_ms == 50
    for wrong in ("0/s", "1.5/s", "100/d", "fast", "-3/m"):
        with pytest.raises(ValueError, match=f"rate limit 'crm': '{re.escape(wrong)}' is not"):
            rate_limited("crm", wrong)
