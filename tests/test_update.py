"""A service generated from an older template version updates to this one (cruft).

The update works because rendering is deterministic and the hooks have no side
effects: cruft renders the old and the new version with the service's answers and
applies the difference to the service, leaving its owners' changes alone.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import TEMPLATE, run_outside_our_venv

OLDER_VERSION = "v0.2.0"  # CHANGELOG.md
OLDER_SUBJECT = "Operations: preflight"  # its commit, should tags not be cloned
ANSWERS = {"project_name": "Fleet Sync", "queues": "gps", "ci": "none"}


def git(*args: str, cwd: Path = TEMPLATE) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def older_template() -> str:
    """The older version's commit: by tag, or by its subject line."""
    tags = git("tag", "--list", OLDER_VERSION)
    if tags:
        return git("rev-list", "-n", "1", OLDER_VERSION)
    found = git("log", "--format=%H", f"--grep=^{OLDER_SUBJECT}", "HEAD")
    if not found:
        pytest.fail(f"neither tag {OLDER_VERSION} nor a commit '{OLDER_SUBJECT}' in history")
    return found.splitlines()[0]


def cruft(*args: str, cwd: Path) -> None:
    result = run_outside_our_venv(["cruft", *args], cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_older_service_updates_and_keeps_its_owners_changes(tmp_path: Path) -> None:
    older = older_template()
    cruft(
        "create", str(TEMPLATE), "--checkout", older, "--no-input",
        "--extra-context", json.dumps(ANSWERS), "--output-dir", str(tmp_path),
        cwd=tmp_path,
    )  # fmt: skip
    service = tmp_path / "fleet-sync"
    assert not (service / "Dockerfile").exists(), "the older version already had it"
    git("init", "--quiet", cwd=service)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "--all", cwd=service)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "Generated",
        cwd=service)  # fmt: skip
    # The owners' changes: a task of their own, and an edit to a generated module.
    own_task = service / "src" / "fleet_sync" / "tasks" / "gps_alerts.py"
    own_task.write_text('"""Alerts on GPS data."""\n')
    critical = service / "src" / "fleet_sync" / "tasks" / "critical.py"
    critical.write_text(critical.read_text().replace("urgent work", "urgent fleet work"))
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "--all", cwd=service)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "Ours",
        cwd=service)  # fmt: skip

    cruft("update", "--checkout", "HEAD", "--skip-apply-ask", cwd=service)

    head = git("rev-parse", "HEAD")
    recorded = json.loads((service / ".cruft.json").read_text())
    assert recorded["commit"] == head
    # The version the service records is the template's one number (test_versions.py).
    version = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__template_version"]
    assert recorded["context"]["cookiecutter"]["__template_version"] == version
    assert (service / "Dockerfile").exists(), "the update was not applied"
    assert (service / "deploy" / "systemd" / "fleet-sync-worker@.service").exists()
    assert own_task.read_text() == '"""Alerts on GPS data."""\n'
    assert "urgent fleet work" in critical.read_text()
    assert not list(service.rglob("*.rej")), "parts of the update were rejected"
