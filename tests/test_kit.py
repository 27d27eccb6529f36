"""The kit's code passes the checks a service's code passes: ruff and mypy (strict); the
template's own tests and hooks pass ruff.

Its suites run against generated services (test_scenarios.py); its version is the
template's (test_versions.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE

KIT = TEMPLATE / "kit"


def run_check(command: tuple[str, ...], cwd: Path) -> None:
    """Run a checker of this environment in ``cwd`` (with the settings found there)."""
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy",),
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_the_kit_passes_its_checks(command: tuple[str, ...]) -> None:
    # With the kit's own settings (kit/pyproject.toml), in this environment (the kit group).
    run_check(command, KIT)


@pytest.mark.parametrize(
    "command", [("ruff", "check"), ("ruff", "format", "--check")], ids=["ruff-check", "ruff-format"]
)
def test_the_templates_own_code_passes_ruff(command: tuple[str, ...]) -> None:
    # Its tests and hooks, with the settings of this repository's pyproject.toml.
    run_check((*command, "tests", "hooks"), TEMPLATE)
