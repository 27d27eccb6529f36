"""The option combinations the template is rendered with, kept as data.

Each combination has a readable id (it names the pytest parameter) and only the
answers that differ from cookiecutter.json's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The kit's suites (``celery_service_kit.suite``), run against a generated service.
KIT_SUITES = "celery_service_kit.suite"


@dataclass(frozen=True)
class Combination:
    """One way of answering the template's questions."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)
    #: The kit's suites a scenario runs against the service (modules or packages of
    #: ``celery_service_kit.suite``), besides the service's own tests.
    kit_suites: tuple[str, ...] = ()

    def answer(self, option: str, default: str) -> str:
        """The answer to ``option``, or its default."""
        return self.answers.get(option, default)


LONGEST_IDENTIFIER = "a" * 31  # the longest slug and package name the hook allows

MATRIX = [
    Combination("defaults"),
    Combination("rabbitmq-no-results", {"broker": "rabbitmq", "result_backend": "none"}),
    Combination(
        "py313-two-queues-beat",
        {
            "python_version": "3.13",
            "queues": "billing, pdf_render",
            "use_beat": "yes",
            "tracing": "opentelemetry",
        },
    ),
    Combination(
        "ci-gitlab-sentry",
        {"ci": "gitlab", "project_name": "Ledger Sync", "error_tracking": "sentry"},
    ),
    Combination("ci-none-no-extra-queues", {"ci": "none", "queues": ""}),
    Combination(
        "py311-rabbitmq-quorum-beat-one-queue",
        {
            "python_version": "3.11",
            "broker": "rabbitmq",
            "rabbitmq_queue_type": "quorum",
            "queues": "webhooks",
            "use_beat": "yes",
            "tracing": "opentelemetry",
            "error_tracking": "sentry",
        },
    ),
    Combination(
        "longest-names",
        {
            "project_name": "N" * 50,
            "project_slug": LONGEST_IDENTIFIER,
            "package_name": LONGEST_IDENTIFIER,
        },
    ),
]

# Generated, installed in a fresh virtualenv, and made to run their own test suite
# and the kit's suites against the real brokers. The kit's full suites run where the
# broker changes their outcome (Redis, RabbitMQ classic, RabbitMQ quorum); the
# options' suites where the options are chosen.
SCENARIOS = [
    Combination("redis-defaults", kit_suites=("unit", "integration", "faults")),
    Combination(
        "rabbitmq-without-results",
        {
            "project_name": "Billing Jobs",
            "broker": "rabbitmq",
            "result_backend": "none",
            "queues": "invoices,pdf_render",
        },
        kit_suites=("integration", "faults"),
    ),
    Combination(
        "rabbitmq-quorum",
        {
            "project_name": "Ledger Events",
            "broker": "rabbitmq",
            "rabbitmq_queue_type": "quorum",
            "queues": "ledger",
        },
        kit_suites=("integration", "faults"),
    ),
    Combination(
        "custom-queues-with-beat",
        {
            "project_name": "Media Pipeline",
            "python_version": "3.13",
            "queues": "thumbnails,transcode,webhooks",
            "use_beat": "yes",
            "tracing": "opentelemetry",
            "error_tracking": "sentry",
            "ci": "gitlab",
        },
        kit_suites=(
            "unit",
            "faults.test_beat",
            "faults.test_tracing",
            "faults.test_error_tracking",
        ),
    ),
]
