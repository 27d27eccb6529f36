"""Shape the generated project to the chosen options.

Removes what the chosen options do not use, writes one task module per extra
queue, and prints the next steps. It only touches files inside the new project:
no network, no git, no installs, so that a template update (cruft) can replay it
safely.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE = "{{ cookiecutter.package_name }}"
DOMAIN_QUEUES = "{{ cookiecutter.__domain_queues }}"
USE_BEAT = "{{ cookiecutter.use_beat }}" == "yes"
REDIS_BROKER = "{{ cookiecutter.broker }}" == "redis"
RESULT_BACKEND = "{{ cookiecutter.result_backend }}" != "none"
QUORUM_QUEUES = "{{ cookiecutter.rabbitmq_queue_type }}" == "quorum"
TRACING = "{{ cookiecutter.tracing }}" == "opentelemetry"
ERROR_TRACKING = "{{ cookiecutter.error_tracking }}" == "sentry"
CI = "{{ cookiecutter.ci }}"

PACKAGE_DIR = Path("src") / PACKAGE
QUEUE_MODULE_TEMPLATE = PACKAGE_DIR / "tasks" / "_domain_queue.py"
QUEUE_PLACEHOLDER = "__queue__"

BEAT_FILES = (
    PACKAGE_DIR / "schedule.py",
    Path("tests") / "worker" / "test_beat.py",
    Path("deploy") / "systemd" / "{{ cookiecutter.project_slug }}-beat.service",
    Path("deploy") / "kubernetes" / "beat.yaml",
)
TRACING_FILES = (
    PACKAGE_DIR / "tracing.py",
    Path("tests") / "worker" / "test_tracing.py",
    Path("tests") / "support" / "otlp.py",
)
ERROR_TRACKING_FILES = (
    PACKAGE_DIR / "error_tracking.py",
    Path("tests") / "worker" / "test_error_tracking.py",
    Path("tests") / "support" / "sentry.py",
)
REDIS_BROKER_FILES = (Path("tests") / "worker" / "test_frozen_broker.py",)
RESULT_BACKEND_FILES = (Path("tests") / "integration" / "test_results.py",)
QUORUM_FILES = (Path("tests") / "worker" / "test_quorum_queues.py",)
PRIORITY_FILES = (Path("tests") / "integration" / "test_priorities.py",)  # none on quorum
CI_FILES = {
    "github": (Path(".github"),),
    "gitlab": (Path(".gitlab-ci.yml"),),
}


def remove(path: Path) -> None:
    """Delete a file or directory if the template shipped it."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def write_queue_modules() -> None:
    """Write ``tasks/<queue>.py`` for each extra queue from the shared module template."""
    template = QUEUE_MODULE_TEMPLATE.read_text(encoding="utf-8")
    for queue in filter(None, DOMAIN_QUEUES.split(",")):
        target = QUEUE_MODULE_TEMPLATE.with_name(f"{queue}.py")
        target.write_text(template.replace(QUEUE_PLACEHOLDER, queue), encoding="utf-8")
    QUEUE_MODULE_TEMPLATE.unlink()


def remove_unused_files() -> None:
    """Drop the files of options that were not chosen."""
    options = (
        (BEAT_FILES, USE_BEAT),
        (REDIS_BROKER_FILES, REDIS_BROKER),
        (RESULT_BACKEND_FILES, RESULT_BACKEND),
        (QUORUM_FILES, QUORUM_QUEUES),
        (PRIORITY_FILES, not QUORUM_QUEUES),
        (TRACING_FILES, TRACING),
        (ERROR_TRACKING_FILES, ERROR_TRACKING),
    )
    for paths, chosen in options:
        if not chosen:
            for path in paths:
                remove(path)
    if not (TRACING or ERROR_TRACKING):
        remove(Path("bench") / "integrations.py")  # what they cost: nothing to measure
    for ci, paths in CI_FILES.items():
        if ci != CI:
            for path in paths:
                remove(path)


def print_next_steps() -> None:
    """Tell the user where the service is and how to start (the hook runs inside it)."""
    print(
        f"\nCreated {Path.cwd()}\n"
        'Next steps (README.md, "Quick start", has the rest):\n'
        f"  cd {Path.cwd()}\n"
        "  make install            # uv sync: .venv with the service and its dev tools\n"
        "  cp .env.example .env    # local settings (APP_ENV=development)\n"
        "  make worker             # a worker of the general group; make help lists the rest\n"
    )


def main() -> int:
    """Apply every file-level choice, then say what to do next."""
    write_queue_modules()
    remove_unused_files()
    print_next_steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
