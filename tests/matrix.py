"""The option combinations the template is rendered with, kept as data.

Each combination has a readable id (it names the pytest parameter) and only the
answers that differ from cookiecutter.json's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Combination:
    """One way of answering the template's questions."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)

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
# against the real brokers.
SCENARIOS = [
    Combination("redis-defaults"),
    Combination(
        "rabbitmq-without-results",
        {
            "project_name": "Billing Jobs",
            "broker": "rabbitmq",
            "result_backend": "none",
            "queues": "invoices,pdf_render",
        },
    ),
    Combination(
        "rabbitmq-quorum",
        {
            "project_name": "Ledger Events",
            "broker": "rabbitmq",
            "rabbitmq_queue_type": "quorum",
            "queues": "ledger",
        },
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
    ),
]
