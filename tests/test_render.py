"""Every option combination renders into a clean, complete project.

Linting (ruff check, ruff format, mypy) runs once per render, through the
project's own pre-commit hooks in test_deploy_files.py.
"""

from __future__ import annotations

import filecmp
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import KIT_REPOSITORY, VERSION, differences, generate
from matrix import MATRIX, Combination

TEMPLATE_TAGS = ("{{", "{%", "{#")
# Prometheus annotations use Go templates, `{{ $labels.queue }}`: never Jinja's (a Jinja
# expression cannot start with `$`), so they are meant to stay.
PROMETHEUS_TEMPLATE = re.compile(r"\{\{ \$[^}]*\}\}")


def without_prometheus_templates(text: str) -> str:
    return PROMETHEUS_TEMPLATE.sub("", text)


def text_files(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts]


def package_of(project: Path) -> str:
    [package] = [path.name for path in (project / "src").iterdir() if path.is_dir()]
    return package


@pytest.fixture(params=MATRIX, ids=lambda combination: combination.id)
def combination(request: pytest.FixtureRequest) -> Combination:
    return request.param


@pytest.fixture
def project(render, combination: Combination) -> Path:
    return render(combination)


def test_no_template_tag_is_left(project: Path) -> None:
    leftovers = [
        f"{path.relative_to(project)}: {tag}"
        for path in text_files(project)
        for tag in TEMPLATE_TAGS
        if tag in without_prometheus_templates(path.read_text(encoding="utf-8"))
    ]

    assert not leftovers


def test_config_files_parse(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == project.name
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        # Kubernetes manifests hold several documents each.
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert documents, path
        assert all(documents), path


def test_expected_files_are_present_and_others_absent(
    project: Path, combination: Combination
) -> None:
    package = project / "src" / package_of(project)
    queues = [
        q.strip() for q in combination.answer("queues", "email,image").split(",") if q.strip()
    ]
    beat = combination.answer("use_beat", "no") == "yes"
    ci = combination.answer("ci", "github")
    expected = {
        project / "README.md": True,
        project / "Makefile": True,
        project / ".env.example": True,
        project / ".python-version": True,
        project / "tests" / "tasks" / "test_default.py": True,
        project / "tests" / "tasks" / "test_critical.py": True,
        project / "tests" / "tasks" / "_test_domain_queue.py": False,
        # Flower's rules live in the kit: a settings file is read only from the cwd.
        project / "flowerconfig.py": False,
        # The answers file is copier's; cookiecutter renders no name for it.
        project / ".copier-answers.yml": False,
        project / "bench": False,
        project / "deploy" / "prometheus" / "alerts.yml": True,
        project / "deploy" / "kubernetes" / "workers.yaml": True,
        project / "deploy" / "kubernetes" / "keda" / "scaled-objects.yaml": True,
        project / "deploy" / "kubernetes" / "beat.yaml": beat,
        project / "tests" / "unit" / "test_beat_deployment.py": beat,
        project / ".github" / "workflows" / "ci.yml": ci == "github",
        project / ".gitlab-ci.yml": ci == "gitlab",
    }
    expected.update({project / "tests" / "tasks" / f"test_{queue}.py": True for queue in queues})

    wrong = {
        str(path.relative_to(project)): present
        for path, present in expected.items()
        if path.exists() != present
    }
    assert not wrong, f"expected present (True) / absent (False): {wrong}"
    # Only a team's own files in src/: the generic ones are the kit's.
    in_src = {path.relative_to(package).as_posix() for path in package.rglob("*.py")}
    assert in_src == {
        "__init__.py",
        "celery_app.py",
        "settings.py",
        "routing.py",
        *(["schedule.py"] if beat else []),
        "tasks/__init__.py",
        *(f"tasks/{queue}.py" for queue in ("default", "critical", *queues)),
    }


def test_python_version_is_the_chosen_one(project: Path, combination: Combination) -> None:
    version = combination.answer("python_version", "3.12")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))

    assert (project / ".python-version").read_text().strip() == version
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{version.replace('.', '')}"


def test_rendering_is_deterministic(
    project: Path, combination: Combination, tmp_path: Path
) -> None:
    again = generate(combination, tmp_path)

    comparison = filecmp.dircmp(project, again)
    assert not differences(comparison)


def test_the_kit_is_installed_with_the_extras_of_the_chosen_options(
    project: Path, combination: Combination
) -> None:
    chosen = {
        "beat": combination.answer("use_beat", "no") == "yes",
        "tracing": combination.answer("tracing", "none") == "opentelemetry",
        "sentry": combination.answer("error_tracking", "none") == "sentry",
    }
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    [kit] = pyproject["project"]["dependencies"]
    extras = set(re.findall(r"\[(.*)\]", kit)[0].split(",")) if "[" in kit else set()

    assert kit.startswith("celery-service-kit")
    assert extras == {extra for extra, on in chosen.items() if on}
    text = (project / "src" / package_of(project) / "celery_app.py").read_text(encoding="utf-8")
    assert ("app.use_schedule(" in text) == chosen["beat"]
    assert ("app.trace_tasks(" in text) == chosen["tracing"]
    assert ("app.report_errors()" in text) == chosen["sentry"]


def test_the_kit_comes_from_the_template_repository_at_the_template_version(
    project: Path,
) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    source = pyproject["tool"]["uv"]["sources"]["celery-service-kit"]

    assert source == {"git": KIT_REPOSITORY, "subdirectory": "kit", "tag": f"v{VERSION}"}
