"""``preflight``: each rule catches its misconfiguration; the shipped settings pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from celery import Celery

from {{ cookiecutter.package_name }}.config.celery_settings import celery_settings
from {{ cookiecutter.package_name }}.config.development import DevelopmentSettings
from {{ cookiecutter.package_name }}.config.production import ProductionSettings
from {{ cookiecutter.package_name }}.ops.preflight import (
    RULES,
    Subject,
    known_variables,
    preflight,
)
from {{ cookiecutter.package_name }}.reliability import ServiceTask, task_lock

PACKAGE = "{{ cookiecutter.package_name }}"
BASELINE_KIB = 65_000
FLOWER_SAFE = {"FLOWER_BASIC_AUTH": "ops:secret", "FLOWER_COOKIE_SECRET": "s" * 64}


def production_subject() -> Subject:
    """The shipped production configuration, as preflight sees it, with no stray variables."""
    settings = ProductionSettings()
    return Subject(
        conf=celery_settings(settings, PACKAGE),
        settings=settings,
        environ={"APP_ENV": "production"},
        tasks=[],
        known_variables=known_variables(),
        cpus=settings.celery_worker_concurrency,
        baseline_kib=BASELINE_KIB,
    )


@pytest.fixture
def production(environment: pytest.MonkeyPatch) -> Subject:
    """The shipped production configuration, in a clean environment."""
    return production_subject()


def changed(subject: Subject, **conf: Any) -> Subject:
    return replace(subject, conf={**subject.conf, **conf})


def rules_hit(subject: Subject) -> dict[str, str]:
    return {finding.rule: finding.severity for finding in preflight(subject)}


def test_there_are_at_least_twelve_rules() -> None:
    assert len(RULES) >= 12


def test_the_shipped_production_settings_pass_clean(production: Subject) -> None:
    assert preflight(replace(production, for_flower=True, environ=FLOWER_SAFE)) == []


def test_the_shipped_development_settings_pass_clean(environment: pytest.MonkeyPatch) -> None:
    settings = DevelopmentSettings()
    subject = Subject(
        conf=celery_settings(settings, PACKAGE),
        settings=settings,
        environ={"APP_ENV": "development"},
        tasks=[],
        known_variables=known_variables(),
        cpus=2,
        baseline_kib=BASELINE_KIB,
        for_flower=True,
    )

    assert preflight(subject) == []


@pytest.mark.parametrize(
    ("conf", "rule", "severity"),
    [
        ({"accept_content": ["json", "pickle"]}, "pickle-accepted", "error"),
        ({"task_serializer": "pickle"}, "pickle-accepted", "error"),
        ({"worker_prefetch_multiplier": 4}, "prefetch-with-long-tasks", "warning"),
        (
            {"worker_prefetch_multiplier": 4, "task_acks_late": False},
            "prefetch-without-acks-late",
            "warning",
        ),
        ({"task_acks_late": False}, "acks-early", "warning"),
        (
            {"task_retry_on_worker_lost": False, "task_reject_on_worker_lost": False},
            "acks-late-without-worker-lost",
            "error",
        ),
        ({"task_retry_on_worker_lost": False}, "worker-lost-requeue-loop", "warning"),
        ({"task_time_limit": None}, "no-time-limit", "error"),
        ({"task_soft_time_limit": 300}, "soft-limit-not-below-hard", "error"),
        (
            {"result_backend": "redis://r/1", "result_expires": None},
            "results-without-expiry",
            "error",
        ),
        (
            {"result_backend": "redis://r/1", "result_chord_expires": None},
            "chords-without-expiry",
            "warning",
        ),
        (
            {"result_backend": "redis://r/1", "task_ignore_result": False},
            "results-stored-by-default",
            "warning",
        ),
        ({"worker_max_memory_per_child": 60_000}, "memory-limit-below-baseline", "error"),
        ({"worker_max_memory_per_child": 100_000}, "memory-limit-below-baseline", "warning"),
        ({"worker_concurrency": 64}, "concurrency-out-of-range", "warning"),
        ({"broker_connection_retry_on_startup": None}, "connection-retry-implicit", "warning"),
        ({"worker_send_task_events": False}, "task-events-off", "warning"),
        ({"task_send_sent_event": False}, "task-events-off", "warning"),
        ({"worker_max_tasks_per_child": None}, "no-recycling", "warning"),
    ],
)
def test_each_misconfiguration_is_caught(
    production: Subject, conf: dict[str, Any], rule: str, severity: str
) -> None:
    assert rules_hit(changed(production, **conf)).get(rule) == severity


def test_a_task_with_a_soft_limit_at_its_hard_limit_is_caught(production: Subject) -> None:
    app = Celery("probe", task_cls=ServiceTask)

    @app.task(time_limit=60, soft_time_limit=60)
    def export() -> None: ...

    assert rules_hit(replace(production, tasks=[export]))["soft-limit-not-below-hard"] == "error"


def test_a_lock_that_could_expire_under_its_task_is_caught(production: Subject) -> None:
    app = Celery("probe", task_cls=ServiceTask)

    @app.task
    @task_lock("report:{report_id}", timeout=20)  # above the test limit (10 s) when defined
    def rebuild(report_id: str) -> None: ...

    hit = rules_hit(replace(production, tasks=[rebuild]))  # production limit: 300 s
    assert hit["lock-timeout-not-above-limit"] == "error"


def test_a_short_redis_visibility_timeout_is_caught(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    subject = production_subject()
    options = {**subject.conf["broker_transport_options"], "visibility_timeout": 600}

    assert rules_hit(changed(subject, broker_transport_options=options)) == {
        "visibility-timeout-too-short": "error"
    }


def test_a_visibility_timeout_that_ignores_the_prefetch_is_caught(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    derived_for_one = production_subject()  # prefetch 1: 330 + 600 + the margin
    assert "visibility-timeout-too-short" not in rules_hit(derived_for_one)

    prefetching = changed(derived_for_one, worker_prefetch_multiplier=4)  # needs 1920 s
    assert rules_hit(prefetching)["visibility-timeout-too-short"] == "error"
    environment.setenv("WORKER_PROFILE", "short-tasks")  # prefetch 4, derived for the fleet
    short_tasks = production_subject()
    assert short_tasks.conf["worker_prefetch_multiplier"] == 4
    assert "visibility-timeout-too-short" not in rules_hit(short_tasks)


def test_rabbitmq_consumer_timeout_is_caught(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    environment.setenv("CELERY_TASK_TIME_LIMIT", "1700")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "1600")

    assert rules_hit(production_subject())["rabbitmq-consumer-timeout"] == "warning"


def test_quorum_queues_do_not_count_retry_delays_against_the_consumer_timeout(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//")
    environment.setenv("CELERY_TASK_TIME_LIMIT", "1700")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "1600")
    environment.setenv("RETRY_BACKOFF_MAX", "600")

    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    assert "rabbitmq-consumer-timeout" in rules_hit(production_subject())  # 1700 + 600
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")
    assert "rabbitmq-consumer-timeout" not in rules_hit(production_subject())  # 1700


def test_celerys_per_worker_rate_limit_is_caught(production: Subject) -> None:
    app = Celery(PACKAGE, task_cls=ServiceTask)

    @app.task(rate_limit="100/m")
    def sync_customer(customer_id: str) -> None: ...

    assert rules_hit(replace(production, tasks=[sync_customer])) == {
        "rate-limit-per-worker": "warning"
    }
    assert rules_hit(changed(production, task_default_rate_limit="10/s")) == {
        "rate-limit-per-worker": "warning"
    }


def test_a_task_priority_on_quorum_queues_is_caught(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")
    app = Celery(PACKAGE, task_cls=ServiceTask)

    @app.task(priority=9)
    def urgent() -> None: ...

    assert rules_hit(replace(production_subject(), tasks=[urgent])) == {
        "priority-on-quorum-queues": "error"
    }


def test_flower_without_auth_in_production_is_caught(production: Subject) -> None:
    subject = replace(production, for_flower=True, environ={"APP_ENV": "production"})

    findings = [f for f in preflight(subject) if f.rule == "flower-open-in-production"]
    assert len(findings) == 2  # no authentication, no cookie secret
    assert all(f.severity == "error" for f in findings)


@pytest.mark.parametrize(
    ("variable", "fix"),
    [
        ("CELERY_TASK_MAX_RETRIES", "use RETRY_MAX_RETRIES"),
        ("CELERY_TASK_DEFAULT_RETRY_DELAY", "use RETRY_BACKOFF_BASE"),
        ("CELERY_WORKER_CONCURENCY", "did you mean CELERY_WORKER_CONCURRENCY?"),
        ("CELERYD_CONCURRENCY", "did you mean CELERY_WORKER_CONCURRENCY?"),  # pre-4.0 name
        ("CELERY_REPORTING_URL", "remove it"),
    ],
)
def test_unknown_celery_variables_are_caught(production: Subject, variable: str, fix: str) -> None:
    subject = replace(production, environ={variable: "3"})

    [finding] = [f for f in preflight(subject) if f.rule == "unknown-celery-variable"]
    assert variable in finding.problem
    assert fix in finding.fix


def test_celery_command_line_variables_are_known() -> None:
    known = known_variables()

    assert {"CELERY_WORKER_CONCURRENCY", "CELERY_WORKER_LOGLEVEL", "CELERY_APP"} <= known
    assert "CELERY_TASK_TIME_LIMIT" in known  # a service setting


def run_preflight(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", PACKAGE, "preflight", *args],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_exits_1_on_errors_and_prints_the_fix() -> None:
    result = run_preflight(CELERY_TASK_MAX_RETRIES="5")

    assert result.returncode == 1
    assert "ERROR [unknown-celery-variable] CELERY_TASK_MAX_RETRIES" in result.stdout
    assert "fix: use RETRY_MAX_RETRIES" in result.stdout


def test_the_command_exits_0_on_warnings_only() -> None:
    result = run_preflight(CELERY_WORKER_MAX_TASKS_PER_CHILD="", APP_ENV="development")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_command_prints_json_for_ci() -> None:
    result = run_preflight("--json", CELERY_TASK_ACKS_LATE="false")

    findings = json.loads(result.stdout)
    assert {"rule": "acks-early", "severity": "warning"}.items() <= findings[0].items()
    assert result.returncode == 0


def test_a_task_whose_retries_wait_longer_than_the_broker_holds_is_caught(
    production: Subject,
) -> None:
    app = Celery("probe", task_cls=ServiceTask)
    longest = production.settings.longest_countdown

    @app.task(retry_backoff_max=longest + 1)
    def sync_crm() -> None: ...

    @app.task(retry_backoff_max=longest)
    def sync_erp() -> None: ...

    hit = [f.problem for f in preflight(replace(production, tasks=[sync_crm, sync_erp]))]
    assert [problem for problem in hit if "retry_backoff_max" in problem] == [
        f"{sync_crm.name}: retries wait up to {longest + 1:g} s (retry_backoff_max), the "
        f"broker holds a waiting message {longest} s at most"
    ]
