"""Shape the generated project to the chosen options.

Removes what the chosen options do not use, writes one task module (and its tests)
per extra queue, and prints the next steps. It only touches files inside the new
project: no network, no git, no installs, so that a template update (cruft, copier)
can replay it safely; a queue's module that exists already is the team's, and left
as it is.

Cookiecutter (and cruft) render this file with the answers in it; Copier runs it
unrendered, from a task of copier.yml, with the same answers as its argument.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# Rendered by cookiecutter: JSON escapes every quote, so the raw string stays intact.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""
ANSWERS: dict[str, str] = json.loads(sys.argv[1] if len(sys.argv) > 1 else RENDERED_ANSWERS)

PACKAGE = ANSWERS["package_name"]
SLUG = ANSWERS["project_slug"]
DOMAIN_QUEUES = ANSWERS["__domain_queues"]
USE_BEAT = ANSWERS["use_beat"] == "yes"
CI = ANSWERS["ci"]

PACKAGE_DIR = Path("src") / PACKAGE
# Each extra queue's example task module and its tests, written from these.
QUEUE_MODULE_TEMPLATE = PACKAGE_DIR / "tasks" / "_domain_queue.py"
QUEUE_TESTS_TEMPLATE = Path("tests") / "tasks" / "_test_domain_queue.py"
QUEUE_PLACEHOLDER = "__queue__"

BEAT_FILES = (
    PACKAGE_DIR / "schedule.py",
    Path("tests") / "unit" / "test_beat_deployment.py",
    Path("deploy") / "systemd" / f"{SLUG}-beat.service",
    Path("deploy") / "kubernetes" / "beat.yaml",
)
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
    """Write ``tasks/<queue>.py`` and ``tests/tasks/test_<queue>.py`` for each extra queue.

    Not on a copier update, which leaves the team's task modules and their tests out.
    """
    if not QUEUE_MODULE_TEMPLATE.exists():
        return
    module = QUEUE_MODULE_TEMPLATE.read_text(encoding="utf-8")
    tests = QUEUE_TESTS_TEMPLATE.read_text(encoding="utf-8")
    for queue in filter(None, DOMAIN_QUEUES.split(",")):
        for template, target in (
            (module, QUEUE_MODULE_TEMPLATE.with_name(f"{queue}.py")),
            (tests, QUEUE_TESTS_TEMPLATE.with_name(f"test_{queue}.py")),
        ):
            if not target.exists():
                target.write_text(template.replace(QUEUE_PLACEHOLDER, queue), encoding="utf-8")
    QUEUE_MODULE_TEMPLATE.unlink()
    QUEUE_TESTS_TEMPLATE.unlink()


def remove_unused_files() -> None:
    """Drop the files of options that were not chosen."""
    if not USE_BEAT:
        for path in BEAT_FILES:
            remove(path)
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
