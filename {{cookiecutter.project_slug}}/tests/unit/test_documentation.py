"""Every setting is documented where people look for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
VARIABLES = sorted(name.upper() for name in Settings.model_fields)


@pytest.mark.parametrize("variable", VARIABLES)
def test_env_example_lists_every_variable(variable: str) -> None:
    lines = (PROJECT / ".env.example").read_text(encoding="utf-8").splitlines()

    assert any(line.lstrip("# ").startswith(f"{variable}=") for line in lines)


@pytest.mark.parametrize("variable", VARIABLES)
def test_readme_explains_every_variable(variable: str) -> None:
    assert f"`{variable}`" in (PROJECT / "README.md").read_text(encoding="utf-8")
