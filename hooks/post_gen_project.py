"""Shape the generated project to the chosen options.

Removes what the chosen options do not use and writes one task module per extra
queue. It only touches files inside the new project: no network, no git, no
installs, so that a template update (cruft) can replay it safely.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE = "{{ cookiecutter.package_name }}"
DOMAIN_QUEUES = "{{ cookiecutter.__domain_queues }}"
USE_BEAT = "{{ cookiecutter.use_beat }}" == "yes"
CI = "{{ cookiecutter.ci }}"

PACKAGE_DIR = Path("src") / PACKAGE
QUEUE_MODULE_TEMPLATE = PACKAGE_DIR / "tasks" / "_domain_queue.py"
QUEUE_PLACEHOLDER = "__queue__"

BEAT_FILES = (
    PACKAGE_DIR / "schedule.py",
    Path("tests") / "worker" / "test_beat.py",
    Path("deploy") / "systemd" / "{{ cookiecutter.project_slug }}-beat.service",
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
    """Write ``tasks/<queue>.py`` for each extra queue from the shared module template."""
    template = QUEUE_MODULE_TEMPLATE.read_text(encoding="utf-8")
    for queue in filter(None, DOMAIN_QUEUES.split(",")):
        target = QUEUE_MODULE_TEMPLATE.with_name(f"{queue}.py")
        target.write_text(template.replace(QUEUE_PLACEHOLDER, queue), encoding="utf-8")
    QUEUE_MODULE_TEMPLATE.unlink()


def remove_unused_files() -> None:
    """Drop the files of options that were not chosen."""
    if not USE_BEAT:
        for path in BEAT_FILES:
            remove(path)
    for ci, paths in CI_FILES.items():
        if ci != CI:
            for path in paths:
                remove(path)


def main() -> int:
    """Apply every file-level choice."""
    write_queue_modules()
    remove_unused_files()
    return 0


if __name__ == "__main__":
    sys.exit(main())
