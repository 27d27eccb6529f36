"""A wrong answer stops generation with a clear line and leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE

INVALID_ANSWERS = [
    pytest.param(
        {"project_slug": "Orders Worker"},
        "project_slug: 'Orders Worker' is not allowed",
        id="slug-with-space-and-capitals",
    ),
    pytest.param(
        {"project_slug": "9-lives"}, "project_slug: '9-lives'", id="slug-starts-with-digit"
    ),
    pytest.param(
        {"package_name": "class"}, "package_name: 'class' is a Python keyword", id="keyword"
    ),
    pytest.param({"package_name": "json"}, "would shadow the standard library", id="stdlib-name"),
    pytest.param({"package_name": "celery"}, "package_name: 'celery' would shadow", id="celery"),
    pytest.param({"package_name": "kombu"}, "package_name: 'kombu' would shadow", id="kombu"),
    pytest.param({"package_name": "orders-worker"}, "is not a valid package name", id="hyphen"),
    pytest.param(
        {"queues": "email,email"}, "queues: 'email' is listed twice", id="duplicate-queue"
    ),
    pytest.param({"queues": "email,critical"}, "queues: 'critical' always exists", id="reserved"),
    pytest.param({"queues": "Email"}, "queues: 'Email' is not allowed", id="queue-capitals"),
    pytest.param({"queues": "import"}, "queues: 'import' is not allowed", id="queue-keyword"),
    pytest.param(
        {"broker": "redis", "queues": "unacked"},
        "clashes with a key kombu's Redis transport",
        id="redis-broker-with-unacked-queue",
    ),
    pytest.param(
        {"broker": "redis", "rabbitmq_queue_type": "quorum"},
        "rabbitmq_queue_type: 'quorum' needs broker=rabbitmq",
        id="quorum-queues-on-redis",
    ),
    pytest.param({"author_email": "nobody"}, "author_email: 'nobody' is not an e-mail", id="email"),
    pytest.param({"package_name": "celery_service_kit"}, "would shadow a module", id="the-kit"),
    pytest.param(
        {"kit_repository": "our template"},
        "kit_repository: 'our template' is not a git URL",
        id="kit-repository",
    ),
    pytest.param(
        {"project_name": 'The "Best" Worker'},
        "project_name: 'The \"Best\" Worker' contains a quote",
        id="quote-in-name",
    ),
    # Choice answers are checked by cookiecutter itself before the hook runs.
    pytest.param(
        {"python_version": "3.9"},
        "3.9 provided for choice variable python_version, but the choices are",
        id="python-3.9",
    ),
    pytest.param(
        {"broker": "kafka"}, "kafka provided for choice variable broker", id="unknown-broker"
    ),
]


def run_cookiecutter(output_dir: Path, answers: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(output_dir),
            str(TEMPLATE),
            *(f"{key}={value}" for key, value in answers.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("answers", "message"), INVALID_ANSWERS)
def test_invalid_answer_fails_with_its_message_and_no_directory(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    result = run_cookiecutter(tmp_path, answers)

    assert result.returncode != 0
    assert message in result.stderr
    assert not list(tmp_path.iterdir()), "generation left files behind"


def test_each_problem_is_one_line_naming_field_value_and_what_is_allowed(tmp_path: Path) -> None:
    result = run_cookiecutter(tmp_path, {"package_name": "json", "queues": "email,Bad"})

    problems = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert problems == [
        "ERROR: package_name: 'json' would shadow the standard library module of that name; "
        "choose another name.",
        "ERROR: queues: 'Bad' is not allowed; each queue is a lowercase identifier (letters, "
        "digits, underscores; not a Python keyword), e.g. 'email,image'.",
    ]


def test_valid_answers_generate(tmp_path: Path) -> None:
    result = run_cookiecutter(
        tmp_path, {"project_name": "Fleet Tracker", "queues": "gps, alerts", "use_beat": "yes"}
    )

    assert result.returncode == 0, result.stderr
    service = tmp_path / "fleet-tracker"
    assert (service / "src" / "fleet_tracker" / "tasks" / "alerts.py").exists()
    assert f"cd {service.resolve()}" in result.stdout, "no next steps printed"
    assert "make install" in result.stdout
