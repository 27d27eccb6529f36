"""The Kubernetes manifests agree with the settings, the worker groups and the image.

What only the service knows is checked here, from the rendered YAML against its
settings: grace periods, memory limits, probes, worker groups and the queues their
scalers count, images, the example Secret. The template's own tests run the
validators (Kubernetes API schemas, KEDA's schema, checkov) on every render.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery_service_kit.testing.worker_groups import (
    GROUPS,
    profile,
    queue_options,
    queue_options_in,
)

from {{ cookiecutter.package_name }} import app
from {{ cookiecutter.package_name }}.settings import Settings

QUEUE_NAMES = app.service.queues

PROJECT = Path(__file__).resolve().parents[2]
MANIFESTS = PROJECT / "deploy" / "kubernetes"
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
(PROBE,) = PYPROJECT["project"]["scripts"]
UNITS = {"Ki": 1, "Mi": 1024, "Gi": 1024 * 1024}


def documents(*patterns: str) -> list[dict[str, Any]]:
    """The objects of the manifest files matching ``patterns``."""
    return [
        document
        for pattern in patterns
        for path in sorted(MANIFESTS.glob(pattern))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def applied() -> list[dict[str, Any]]:
    """What ``kubectl apply -f deploy/kubernetes/`` applies."""
    return documents("*.yaml")


def deployments() -> dict[str, dict[str, Any]]:
    """Deployments by component (``worker-general``, ``flower``, ...)."""
    return {
        document["metadata"]["labels"]["app.kubernetes.io/component"]: document
        for document in applied()
        if document["kind"] == "Deployment"
    }


def worker(group: str) -> dict[str, Any]:
    """The worker container of a group's Deployment."""
    container: dict[str, Any] = deployments()[f"worker-{group}"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def concurrency(group: str) -> int:
    variables = {variable["name"]: variable["value"] for variable in worker(group)["env"]}
    return int(variables["CELERY_WORKER_CONCURRENCY"])


def kib(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit]


def consumed(options: list[str], names: tuple[str, ...]) -> set[str]:
    """The queues a worker started with ``options`` consumes, of ``names``."""
    option, value = options
    chosen = set(value.split(","))
    return chosen & set(names) if option in {"--queues", "-Q"} else set(names) - chosen


def matchers(query: str, label: str) -> Iterator[tuple[str, str]]:
    """The ``label`` matchers (operator, value) of a PromQL query."""
    yield from re.findall(rf'\b{label}\s*(=~|!~|!=|=)\s*"([^"]*)"', query)


def matches(operator: str, name: str, value: str) -> bool:
    """Whether a series labelled ``queue=name`` passes the matcher ``queue<operator>"value"``."""
    if operator in {"=", "!="}:
        return (name == value) == (operator == "=")
    return (re.fullmatch(value, name) is not None) == (operator == "=~")


def selected(query: str, names: tuple[str, ...]) -> set[str]:
    """The queues of ``names`` whose series every ``queue`` matcher of ``query`` selects."""
    conditions = list(matchers(query, "queue"))
    return {name for name in names if all(matches(op, name, value) for op, value in conditions)}


@pytest.mark.parametrize("group", GROUPS)
def test_the_grace_period_outlasts_the_longest_shutdown(
    environment: pytest.MonkeyPatch, group: str
) -> None:
    grace = deployments()[f"worker-{group}"]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    assert grace > Settings().shutdown_allowance


@pytest.mark.parametrize("group", GROUPS)
def test_the_memory_limit_holds_every_pool_process_at_its_bound(
    environment: pytest.MonkeyPatch, group: str
) -> None:
    settings = Settings(celery_worker_concurrency=concurrency(group))
    assert settings.memory_bound_kib is not None

    assert kib(worker(group)["resources"]["limits"]["memory"]) > settings.memory_bound_kib


@pytest.mark.parametrize("group", GROUPS)
def test_workers_are_probed_by_the_probe_command_and_get_sigterm_themselves(group: str) -> None:
    container = worker(group)

    assert container["startupProbe"]["exec"]["command"] == [PROBE, "worker", "live"]
    assert container["livenessProbe"]["exec"]["command"] == [PROBE, "worker", "live"]
    assert container["readinessProbe"]["exec"]["command"] == [PROBE, "worker", "ready"]
    # Exec form, Celery itself: no shell to swallow SIGTERM.
    assert container["command"][:2] == ["celery", "-A"]
    assert "args" not in container


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_consumes_its_makefile_queue_options_with_its_profile(group: str) -> None:
    container = worker(group)
    environment = {variable["name"]: variable["value"] for variable in container["env"]}

    assert queue_options_in(container["command"]) == queue_options(group)
    assert environment["WORKER_PROFILE"] == profile(group)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("names", [QUEUE_NAMES, (*QUEUE_NAMES, "added_later")])
def test_each_scaler_counts_exactly_the_queues_its_group_consumes(
    group: str, names: tuple[str, ...]
) -> None:
    (scaler,) = [
        document
        for document in documents("keda/*.yaml")
        if document["spec"]["scaleTargetRef"]["name"].endswith(f"-worker-{group}")
    ]
    (trigger,) = scaler["spec"]["triggers"]
    query = trigger["metadata"]["query"]

    assert selected(query, names) == consumed(queue_options(group), names)
    assert "celery_queue_messages_ready" in query


def test_every_pod_runs_the_services_image_restricted() -> None:
    image = f"{PYPROJECT['project']['name']}:{PYPROJECT['project']['version']}"
    for component, deployment in deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, component
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["image"] == image, component
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, component
            assert context["readOnlyRootFilesystem"] is True, component
            assert context["capabilities"] == {"drop": ["ALL"]}, component


def test_the_example_secret_holds_no_value_and_is_not_applied() -> None:
    (secret,) = documents("secret-example/*.yaml")

    assert secret["kind"] == "Secret"
    assert set(secret["stringData"].values()) == {""}
    assert all(document["kind"] != "Secret" for document in applied())
    names = {
        source["secretRef"]["name"]
        for deployment in deployments().values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for source in container["envFrom"]
        if "secretRef" in source
    }
    assert names == {secret["metadata"]["name"]}
