"""``preflight``: each rule catches a mistake an operator can make; the shipped settings pass.

Every misconfiguration here is made the way an operator would make it: with
environment variables or a task's own options, never by editing the configuration
the rules see.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from typing import Any

import pytest
from celery import Celery

from celery_service_kit.celery_config import celery_config
from celery_service_kit.ops import preflight_rules
from celery_service_kit.ops.preflight import known_variables
from celery_service_kit.ops.preflight_rules import RULES, Finding, Subject, preflight, rule
from celery_service_kit.reliability import ServiceTask, task_lock
from celery_service_kit.settings import Settings, available_cpus
from celery_service_kit.testing import under_test
from celery_service_kit.testing.cli import celery

BASELINE_KIB = 65_000
FLOWER_SAFE = {"FLOWER_BASIC_AUTH": "ops:secret", "FLOWER_COOKIE_SECRET": "s" * 64}
PACKAGE = under_test().package


def subject_of(settings: Settings, **environ: str) -> Subject:
    """What preflight sees of the service with ``settings`` and only ``environ`` set."""
    return Subject(
        conf=celery_config(settings, PACKAGE, under_test().queues),
        settings=settings,
        environ=environ,
        tasks=[],
        known_variables=known_variables(type(settings)),
        cpus=available_cpus(),
        baseline_kib=BASELINE_KIB,
    )


def production_subject(**variables: str) -> Subject:
    """What preflight sees in production with these variables set, and no stray ones.

    Call it under the ``environment`` fixture, which sets ``variables`` for the settings.
    """
    settings = under_test().environments["production"]()
    return subject_of(settings, APP_ENV="production", **variables)


@pytest.fixture
def production(environment: pytest.MonkeyPatch) -> Subject:
    """The shipped production configuration, in a clean environment."""
    return production_subject()


def a_separate_app() -> Celery[Any]:
    """An app for tasks made by a test: not the current app, its tasks not shared."""
    return Celery(PACKAGE, task_cls=ServiceTask, set_as_current=False)


def rules_hit(subject: Subject) -> dict[str, str]:
    return {finding.rule: finding.severity for finding in preflight(subject)}


def test_there_are_at_least_twelve_rules() -> None:
    assert len(RULES) >= 12


def test_the_shipped_production_settings_pass_clean(production: Subject) -> None:
    assert preflight(replace(production, for_flower=True, environ=FLOWER_SAFE)) == []


def test_the_shipped_development_settings_pass_clean(environment: pytest.MonkeyPatch) -> None:
    settings = under_test().environments["development"]()
    subject = replace(subject_of(settings, APP_ENV="development"), cpus=2, for_flower=True)

    assert preflight(subject) == []


@pytest.mark.parametrize(
    ("variables", "rule", "severity"),
    [
        (
            {"WORKER_PROFILE": "short-tasks", "CELERY_TASK_ACKS_LATE": "false"},
            "prefetch-without-acks-late",
            "warning",
        ),
        ({"CELERY_TASK_ACKS_LATE": "false"}, "acks-early", "warning"),
        (
            {
                "CELERY_TASK_RETRY_ON_WORKER_LOST": "false",
                "CELERY_TASK_REJECT_ON_WORKER_LOST": "false",
            },
            "acks-late-without-worker-lost",
            "error",
        ),
        ({"CELERY_TASK_RETRY_ON_WORKER_LOST": "false"}, "worker-lost-requeue-loop", "warning"),
        (
            {
                "CELERY_RESULT_BACKEND": "redis://localhost:6379/1",
                "CELERY_RESULT_CHORD_EXPIRES": "3600",
            },
            "chords-without-expiry",
            "warning",
        ),
        ({"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "60000"}, "memory-limit-below-baseline", "error"),
        (
            {"CELERY_WORKER_MAX_MEMORY_PER_CHILD": "100000"},
            "memory-limit-below-baseline",
            "warning",
        ),
        ({"CELERY_WORKER_CONCURRENCY": "64"}, "concurrency-out-of-range", "warning"),
        ({"CELERY_WORKER_SEND_TASK_EVENTS": "false"}, "task-events-off", "warning"),
        ({"CELERY_TASK_SEND_SENT_EVENT": "false"}, "task-events-off", "warning"),
        ({"CELERY_WORKER_MAX_TASKS_PER_CHILD": ""}, "no-recycling", "warning"),
    ],
)
def test_each_misconfiguration_is_caught(
    environment: pytest.MonkeyPatch, variables: dict[str, str], rule: str, severity: str
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)

    assert rules_hit(production_subject(**variables)).get(rule) == severity


def test_a_task_with_a_soft_limit_at_its_hard_limit_is_caught(production: Subject) -> None:
    app = a_separate_app()

    @app.task(shared=False, time_limit=60, soft_time_limit=60)
    def export() -> None: ...

    assert rules_hit(replace(production, tasks=[export]))["soft-limit-not-below-hard"] == "error"


def test_a_lock_that_could_expire_under_its_task_is_caught(production: Subject) -> None:
    app = a_separate_app()

    @app.task(shared=False)
    @task_lock("report:{report_id}", timeout=20)  # this app has no limit to refuse it with
    def rebuild(report_id: str) -> None: ...

    hit = rules_hit(replace(production, tasks=[rebuild]))  # production limit: 300 s
    assert hit["lock-timeout-not-above-limit"] == "error"


def test_a_long_task_on_a_short_tasks_worker_is_caught(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    environment.setenv("WORKER_PROFILE", "short-tasks")  # prefetch 4, tasks up to 60 s
    short_tasks = production_subject()
    assert short_tasks.conf["worker_prefetch_multiplier"] == 4
    assert rules_hit(short_tasks) == {}  # the visibility timeout is derived for both profiles
    app = a_separate_app()

    @app.task(shared=False, time_limit=300, soft_time_limit=270)  # 4 x 330 + 600 s reserved: 1920 s
    def export() -> None: ...

    assert rules_hit(replace(short_tasks, tasks=[export])) == {
        "prefetch-with-long-tasks": "warning",
        "visibility-timeout-too-short": "error",
    }


def test_a_task_limit_beyond_the_redis_visibility_timeout_is_caught(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    subject = production_subject()
    app = a_separate_app()

    @app.task(
        shared=False, time_limit=1200, soft_time_limit=1100
    )  # 1320 + 600 s reserved, above 1230 s
    def reindex() -> None: ...

    assert rules_hit(replace(subject, tasks=[reindex])) == {"visibility-timeout-too-short": "error"}


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
    app = a_separate_app()

    @app.task(shared=False, rate_limit="100/m")
    def sync_customer(customer_id: str) -> None: ...

    assert rules_hit(replace(production, tasks=[sync_customer])) == {
        "rate-limit-per-worker": "warning"
    }


def test_a_task_priority_on_quorum_queues_is_caught(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://guest:guest@localhost:5672//")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")
    app = a_separate_app()

    @app.task(shared=False, priority=9)
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
    known = known_variables(under_test().settings_class)

    assert {"CELERY_WORKER_CONCURRENCY", "CELERY_WORKER_LOGLEVEL", "CELERY_APP"} <= known
    assert "CELERY_TASK_TIME_LIMIT" in known  # a service setting


def run_preflight(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return celery("preflight", *args, **variables)


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
    app = a_separate_app()
    longest = production.settings.longest_countdown

    @app.task(shared=False, retry_backoff_max=longest + 1)
    def sync_crm() -> None: ...

    @app.task(shared=False, retry_backoff_max=longest)
    def sync_erp() -> None: ...

    hit = [f.problem for f in preflight(replace(production, tasks=[sync_crm, sync_erp]))]
    assert [problem for problem in hit if "retry_backoff_max" in problem] == [
        f"{sync_crm.name}: retries wait up to {longest + 1:g} s (retry_backoff_max), the "
        f"broker holds a waiting message {longest} s at most"
    ]


def test_a_service_adds_rules_of_its_own(production: Subject) -> None:
    def no_email_queue(subject: Subject) -> list[Finding]:
        if "email" in subject.conf.get("task_routes", {}).get("*", {}).values():
            return []
        return [Finding("team-rule", "warning", "checked", "a rule of the team", "none")]

    rule(no_email_queue)
    try:
        assert rules_hit(production) == {"team-rule": "warning"}
    finally:
        RULES.remove(no_email_queue)


def test_preflight_loads_the_rules_a_service_names_as_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[str] = []

    class RulesModule:
        name = "orders"

        def load(self) -> None:
            loaded.append(self.name)  # importing the module registers its rules

    def found(group: str) -> list[RulesModule]:
        return [RulesModule()] if group == preflight_rules.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(preflight_rules, "entry_points", found)

    assert preflight_rules.load_service_rules() == ["orders"]
    assert loaded == ["orders"]
