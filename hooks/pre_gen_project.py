"""Validate the answers before anything is generated.

Each problem is reported as one line naming the field, the value and what is
allowed (choice answers outside their list never get here: Cookiecutter and Copier
refuse them first); any problem exits non-zero, and the tool then removes the
project directory it created. This hook has no side effects: no files, no network.

Cookiecutter (and cruft) render this file with the answers in it; Copier runs it
unrendered, from a task of copier.yml, with the same answers as its argument.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

# Rendered by cookiecutter: JSON escapes every quote, so the raw string stays intact.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""
ANSWERS: dict[str, str] = json.loads(sys.argv[1] if len(sys.argv) > 1 else RENDERED_ANSWERS)

SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
QUEUE = re.compile(r"[a-z][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# What git (and so uv's git source) clones: a URL of a scheme git knows, or scp-like.
GIT_URL = re.compile(r"((https?|ssh|git|file)://|[\w.-]+@[\w.-]+:)[^\s\"'`\\]+")
# Names appear in import lines and docstrings that must stay within 100 columns, and
# the slug names the service account of the systemd units (at most 31 characters).
MAX_PROJECT_NAME_LENGTH = 50
MAX_IDENTIFIER_LENGTH = 31

# Importing the service must not shadow what it runs on.
DEPENDENCY_MODULES = frozenset(
    {
        "amqp",
        "billiard",
        "celery",
        "celery_service_kit",
        "click",
        "flower",
        "kombu",
        "opentelemetry",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pythonjsonlogger",
        "redbeat",
        "redis",
        "sentry_sdk",
        "tornado",
        "vine",
    }
)
# Names the generated project already uses for its own modules or tools.
PROJECT_MODULES = frozenset({"conftest", "tests", "bench", "deploy", "src"})
RESERVED_QUEUES = frozenset({"default", "critical"})
# Keys kombu's Redis transport keeps beside the queues in the broker database:
# a queue with one of these names would clash with them.
REDIS_TRANSPORT_KEYS = frozenset({"unacked", "unacked_index", "unacked_mutex"})


def check_text(field: str) -> list[str]:
    """Free text goes into TOML, YAML and Python strings: no quotes or control characters."""
    value = ANSWERS[field]
    if field == "project_name" and not value.strip():
        return [f"project_name: {value!r} is empty; give the service a name."]
    if field == "project_name" and len(value) > MAX_PROJECT_NAME_LENGTH:
        return [f"project_name: {value!r} is longer than {MAX_PROJECT_NAME_LENGTH} characters."]
    if any(ch in value for ch in '"\\`') or any(ord(ch) < 32 for ch in value):
        return [
            f"{field}: {value!r} contains a quote, backslash, backtick or control "
            "character; use plain text."
        ]
    return []


def check_email() -> list[str]:
    """The author e-mail lands in pyproject.toml metadata."""
    value = ANSWERS["author_email"]
    if value and not EMAIL.fullmatch(value):
        return [f"author_email: {value!r} is not an e-mail address like team@example.com."]
    return check_text("author_email")


def check_slug() -> list[str]:
    """The slug names the directory, the distribution and the container images."""
    value = ANSWERS["project_slug"]
    if not SLUG.fullmatch(value) or len(value) > MAX_IDENTIFIER_LENGTH:
        return [
            f"project_slug: {value!r} is not allowed; use lowercase letters, digits and "
            f"single hyphens, starting with a letter (at most {MAX_IDENTIFIER_LENGTH} characters), "
            "e.g. 'orders-worker'."
        ]
    return []


def check_package() -> list[str]:
    """The package is what ``celery -A <package>`` imports; it must not shadow anything."""
    value = ANSWERS["package_name"]
    if not PACKAGE.fullmatch(value) or len(value) > MAX_IDENTIFIER_LENGTH:
        return [
            f"package_name: {value!r} is not a valid package name; use lowercase letters, "
            "digits and underscores, starting with a letter, e.g. 'orders_worker'."
        ]
    if keyword.iskeyword(value):
        return [f"package_name: {value!r} is a Python keyword; choose another name."]
    if value in sys.stdlib_module_names:
        return [
            f"package_name: {value!r} would shadow the standard library module of that "
            "name; choose another name."
        ]
    if value in DEPENDENCY_MODULES or value in PROJECT_MODULES:
        return [
            f"package_name: {value!r} would shadow a module the service depends on or "
            "uses itself; choose another name."
        ]
    return []


def check_kit_repository() -> list[str]:
    """The service installs the kit from this repository, with git."""
    value = ANSWERS["kit_repository"]
    if not GIT_URL.fullmatch(value):
        return [
            f"kit_repository: {value!r} is not a git URL; give the URL this template is "
            "cloned from, e.g. 'https://git.example.com/platform/celery-service-template.git'."
        ]
    return []


def check_queue_type() -> list[str]:
    """Quorum queues are RabbitMQ's; Redis has no queue types."""
    if ANSWERS["rabbitmq_queue_type"] == "quorum" and ANSWERS["broker"] != "rabbitmq":
        return [
            "rabbitmq_queue_type: 'quorum' needs broker=rabbitmq (Redis has no queue types); "
            "answer 'classic' or choose RabbitMQ."
        ]
    return []


def domain_queues() -> list[str]:
    """The extra queues as a list; an empty answer means none."""
    value = ANSWERS["queues"].replace(" ", "")
    return value.split(",") if value else []


def check_queues() -> list[str]:
    """Each extra queue becomes ``tasks/<queue>.py`` and a route ``<pkg>.tasks.<queue>.*``."""
    problems = []
    seen: set[str] = set()
    for queue in domain_queues():
        if not QUEUE.fullmatch(queue) or keyword.iskeyword(queue):
            problems.append(
                f"queues: {queue!r} is not allowed; each queue is a lowercase identifier "
                "(letters, digits, underscores; not a Python keyword), e.g. 'email,image'."
            )
        elif queue in RESERVED_QUEUES:
            problems.append(
                f"queues: {queue!r} always exists; list only the extra queues besides "
                "'default' and 'critical'."
            )
        elif queue in seen:
            problems.append(f"queues: {queue!r} is listed twice; list each queue once.")
        elif ANSWERS["broker"] == "redis" and queue in REDIS_TRANSPORT_KEYS:
            problems.append(
                f"queues: {queue!r} clashes with a key kombu's Redis transport keeps in the "
                "broker database (broker=redis); choose another name."
            )
        seen.add(queue)
    return problems


def main() -> int:
    """Run every check; print each problem on one line and fail if there is any."""
    problems = [
        *check_text("project_name"),
        *check_slug(),
        *check_package(),
        *check_text("description"),
        *check_text("author_name"),
        *check_email(),
        *check_kit_repository(),
        *check_queue_type(),
        *check_queues(),
    ]
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
