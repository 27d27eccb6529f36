"""The task pattern's pure parts: backoff, keys, and definition-time checks."""

from __future__ import annotations

import random
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import app
from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.reliability import (
    TRANSIENT_ERRORS,
    LockBusyError,
    PermanentError,
    ServiceTask,
    TransientError,
    task_lock,
)
from {{ cookiecutter.package_name }}.reliability.backoff import retry_countdown
from {{ cookiecutter.package_name }}.reliability.keys import ArgumentKey


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


def test_key_from_a_callable() -> None:
    def send(to: str, template: str) -> None: ...

    key = ArgumentKey(lambda to, template: f"mail:{to.lower()}:{template}", send)

    assert key.render(("A@Example.com", "welcome"), {}) == "mail:a@example.com:welcome"


def test_key_naming_an_unknown_parameter_is_refused_when_defined() -> None:
    def rebuild(report_id: str) -> None: ...

    with pytest.raises(ValueError, match=r"names \['reprot_id'\]"):
        ArgumentKey("report:{reprot_id}", rebuild)


def test_a_lock_that_could_expire_during_the_run_is_refused_when_defined() -> None:
    with pytest.raises(ValueError, match="must exceed the hard time limit"):

        @task_lock("report:{report_id}", timeout=5)  # the test hard limit is 10 s
        def rebuild(report_id: str) -> None: ...


def test_busy_lock_and_running_claim_are_transient() -> None:
    assert issubclass(LockBusyError, TransientError)
    assert TransientError in TRANSIENT_ERRORS
    assert ConnectionError in TRANSIENT_ERRORS
    assert TimeoutError in TRANSIENT_ERRORS
    assert not issubclass(PermanentError, TRANSIENT_ERRORS)


def test_retry_settings_come_from_the_service_settings() -> None:
    settings = get_settings()
    task_class = app.Task  # the app's own task class: ServiceTask, configured with the app

    assert issubclass(task_class, ServiceTask)
    assert task_class.max_retries == settings.retry_max_retries
    assert task_class.default_retry_delay == settings.retry_backoff_base
    assert task_class.retry_backoff_max == settings.retry_backoff_max
