"""Shared helpers of the template's tests: generate a service from the working tree."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import Combination

TEMPLATE = Path(__file__).resolve().parent.parent


def run_outside_our_venv(
    command: Sequence[str | Path],
    cwd: Path | None,
    timeout: float,
    stdin: str | None = None,
    extra_environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command without this virtualenv's ``VIRTUAL_ENV`` (plus ``extra_environment``).

    Otherwise uv, run in a generated project, would use the template's virtualenv
    instead of the project's own.
    """
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    environment.update(extra_environment or {})
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def generate(combination: Combination, output_dir: Path) -> Path:
    """Render the template with the combination's answers; return the project directory."""
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        extra_context=combination.answers,
        output_dir=str(output_dir),
    )
    return Path(project)


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Combination], Path]:
    """Render a combination, once per session."""
    generated: dict[str, Path] = {}

    def render_once(combination: Combination) -> Path:
        if combination.id not in generated:
            output = tmp_path_factory.mktemp(combination.id)
            generated[combination.id] = generate(combination, output)
        return generated[combination.id]

    return render_once
