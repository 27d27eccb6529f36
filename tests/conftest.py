"""Shared helpers of the template's tests: generate a service from the working tree.

A generated service installs the kit from the template's repository (its
``kit_repository`` answer) at the tag of the template's version. The tests make that
work on a machine that cannot reach the repository, without writing a path into any
generated file: a git repository of this working tree, tagged with the version,
stands in for it, and git's ``insteadOf`` (given in ``GIT_CONFIG_*`` variables, so no
configuration file changes) sends uv's fetch there.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import Combination

TEMPLATE = Path(__file__).resolve().parent.parent
ANSWERS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
VERSION: str = ANSWERS["__template_version"]
#: Where a service generated with the default answers fetches the kit from.
KIT_REPOSITORY: str = ANSWERS["kit_repository"]


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


def git(*args: str | Path, cwd: Path = TEMPLATE) -> str:
    """Run git in ``cwd`` (the template, by default); its output, or fail the test."""
    result = subprocess.run(
        ["git", "-c", "user.name=tests", "-c", "user.email=tests@example.com", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


#: What of a working tree is not the template: git's files, virtualenvs, caches, builds.
NOT_THE_TEMPLATE = shutil.ignore_patterns(".git", ".venv", "*_cache", "__pycache__", "*.egg-info")


def commit_tree(source: Path, repository: Path, message: str, tag: str | None = None) -> Path:
    """Make the newest commit of ``repository`` (made if missing) hold ``source``'s tree."""
    if (repository / ".git").exists():
        for entry in repository.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    else:
        repository.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", cwd=repository)
    shutil.copytree(source, repository, dirs_exist_ok=True, ignore=NOT_THE_TEMPLATE)
    git("add", "--all", cwd=repository)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=repository)
    if tag is not None:
        git("tag", tag, cwd=repository)
    return repository


def fetching_from(repository: Path, url: str = KIT_REPOSITORY) -> dict[str, str]:
    """The environment in which git (uv's git fetches) reads ``url`` from ``repository``."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{repository.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": url,
    }


@pytest.fixture(scope="session")
def kit_source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment that makes a generated service install the kit from this checkout."""
    repository = tmp_path_factory.mktemp("template") / "repository"
    return fetching_from(commit_tree(TEMPLATE, repository, "the working tree", f"v{VERSION}"))


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


def differences(comparison: filecmp.dircmp[str]) -> list[str]:
    """The files that differ between two compared trees, or are in only one of them."""
    found = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for sub in comparison.subdirs.values():
        found.extend(differences(sub))
    return found
