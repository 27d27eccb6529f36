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
from conftest import generate
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
    tracing = combination.answer("tracing", "none") == "opentelemetry"
    sentry = combination.answer("error_tracking", "none") == "sentry"
    redis_broker = combination.answer("broker", "redis") == "redis"
    quorum = combination.answer("rabbitmq_queue_type", "classic") == "quorum"
    results = combination.answer("result_backend", "redis") != "none"
    ci = combination.answer("ci", "github")
    expected = {
        project / "README.md": True,
        project / "Makefile": True,
        project / ".env.example": True,
        project / ".python-version": True,
        package / "celery_app.py": True,
        package / "names.py": True,
        package / "ops" / "preflight_rules.py": True,
        package / "consumer.py": True,
        package / "redis_transport.py": True,
        # Flower's rules live in the package: a settings file is read only from the cwd.
        project / "flowerconfig.py": False,
        package / "routing.py": True,
        package / "config" / "production.py": True,
        package / "tasks" / "default.py": True,
        package / "tasks" / "critical.py": True,
        package / "tasks" / "_domain_queue.py": False,
        package / "schedule.py": beat,
        package / "health" / "probe.py": True,
        project / "deploy" / "prometheus" / "alerts.yml": True,
        project / "deploy" / "kubernetes" / "workers.yaml": True,
        project / "deploy" / "kubernetes" / "keda" / "scaled-objects.yaml": True,
        project / "deploy" / "kubernetes" / "beat.yaml": beat,
        package / "tracing.py": tracing,
        project / "tests" / "worker" / "test_tracing.py": tracing,
        package / "error_tracking.py": sentry,
        project / "tests" / "worker" / "test_error_tracking.py": sentry,
        project / "bench" / "integrations.py": tracing or sentry,
        project / "tests" / "worker" / "test_frozen_broker.py": redis_broker,
        project / "tests" / "worker" / "test_quorum_queues.py": quorum,
        project / "tests" / "integration" / "test_priorities.py": not quorum,
        project / "tests" / "integration" / "test_results.py": results,
        project / ".github" / "workflows" / "ci.yml": ci == "github",
        project / ".gitlab-ci.yml": ci == "gitlab",
    }
    expected.update({package / "tasks" / f"{queue}.py": True for queue in queues})

    wrong = {
        str(path.relative_to(project)): present
        for path, present in expected.items()
        if path.exists() != present
    }
    assert not wrong, f"expected present (True) / absent (False): {wrong}"
    task_modules = {path.stem for path in (package / "tasks").glob("*.py")} - {"__init__"}
    assert task_modules == {"default", "critical", *queues}


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


def differences(comparison: filecmp.dircmp[str]) -> list[str]:
    found = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for sub in comparison.subdirs.values():
        found.extend(differences(sub))
    return found


def test_tracing_and_error_tracking_are_there_only_when_chosen(
    project: Path, combination: Combination
) -> None:
    chosen = {
        "opentelemetry": combination.answer("tracing", "none") == "opentelemetry",
        "sentry_sdk": combination.answer("error_tracking", "none") == "sentry",
    }
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = " ".join(pyproject["project"]["dependencies"])
    imports = {
        match.group(1)
        for path in [*(project / "src").rglob("*.py"), *(project / "tests").rglob("*.py")]
        for match in re.finditer(
            r"^\s*(?:from|import) (opentelemetry|sentry_sdk)\b",
            path.read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    }

    assert ("opentelemetry-sdk" in dependencies) == chosen["opentelemetry"]
    assert ("sentry-sdk" in dependencies) == chosen["sentry_sdk"]
    assert imports == {module for module, on in chosen.items() if on}
