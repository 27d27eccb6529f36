"""The README's two set-up commands stay true."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import TEMPLATE, VERSION, commit_tree, git, run_outside_our_venv

README = TEMPLATE / "README.md"


def quick_start_commands() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.DOTALL)
    assert block, "the Quick start section has no console block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_there_are_exactly_two_commands() -> None:
    assert len(quick_start_commands()) == 2


def test_ci_runs_the_readme_test_command() -> None:
    test_command = quick_start_commands()[1]
    ci_lines = [line.strip() for line in (TEMPLATE / ".ci" / "run").read_text().splitlines()]

    assert test_command in ci_lines


@pytest.mark.skipif(shutil.which("uvx") is None, reason="uvx (part of uv) is not on PATH")
def test_generate_command_works_as_written_and_records_the_template_version(
    tmp_path: Path,
) -> None:
    # Run in a clone of the working tree, so that the service lands beside the clone.
    clone = commit_tree(TEMPLATE, tmp_path / "template", "the working tree")

    result = run_outside_our_venv(
        shlex.split(quick_start_commands()[0]),
        cwd=clone,
        timeout=300,
        stdin="\n" * 30,  # Enter at every prompt: the defaults
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    service = tmp_path / "orders-worker"
    assert (service / "src" / "orders_worker" / "celery_app.py").exists()
    # The service can take up the next version: it records the template and its version.
    recorded = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
    assert recorded["template"] == str(clone)
    assert recorded["commit"] == git("rev-parse", "HEAD", cwd=clone)
    assert recorded["context"]["cookiecutter"]["__template_version"] == VERSION
