"""Shared helpers of the template's tests: generate a service from the working tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import Combination

TEMPLATE = Path(__file__).resolve().parent.parent


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
