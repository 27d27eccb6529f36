"""The Kubernetes manifests of every render pass real validators, offline.

For every combination of the option matrix:

* every object in ``deploy/kubernetes/`` (what ``kubectl apply -f`` applies, the KEDA
  objects and the example Secret) validates against the Kubernetes API's schemas at
  ``KUBERNETES_VERSION`` with kubernetes-validate in strict mode (an unknown field is
  an error); the KEDA objects are left to the next check;
* the KEDA ScaledObjects validate against KEDA's CRD schemas (``KEDA_MODELS`` from
  npm, generated from them, run by Node.js);
* checkov reports no failed check, and every check skipped says why.

What the manifests must agree with (the settings, the worker groups, the queues,
the image) is the generated service's own ``tests/unit/test_kubernetes.py``, run for
every combination by ``test_deploy_files.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_outside_our_venv
from matrix import MATRIX, Combination
from test_deploy_files import require, run

KUBERNETES_VERSION = "1.31.0"
KEDA_MODELS = "@kubernetes-models/keda@2.0.0"
CHECKOV = "checkov==3.3.30"
TOOLS = Path(__file__).resolve().parent / "tools"


@pytest.fixture(params=MATRIX, ids=lambda combination: combination.id)
def manifests(request: pytest.FixtureRequest, render: Callable[[Combination], Path]) -> Path:
    return render(request.param) / "deploy" / "kubernetes"


def objects(*paths: Path) -> list[dict[str, Any]]:
    return [
        document
        for path in paths
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


@pytest.fixture(scope="session")
def keda_models() -> Path:
    """KEDA's models from npm, installed once per run into a cache directory."""
    require("node")
    npm = require("npm")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    prefix = cache / "celery-service-template" / "npm"
    package = prefix / "node_modules" / "@kubernetes-models" / "keda"
    if not (package / "package.json").exists():
        run(npm, "install", "--silent", "--no-save", "--prefix", prefix, KEDA_MODELS)
    return package


def test_every_object_validates_against_the_kubernetes_api(manifests: Path) -> None:
    # Every file but KEDA's (custom resources: the next test).
    files = [path for path in sorted(manifests.rglob("*.yaml")) if path.parent.name != "keda"]
    kinds = {document["kind"] for document in objects(*files)}

    run("kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION, *files)
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "PodDisruptionBudget"} <= kinds
    assert {"Service", "NetworkPolicy"} <= kinds


def test_the_scaled_objects_validate_against_kedas_schema(
    manifests: Path, keda_models: Path
) -> None:
    everything = objects(*sorted(manifests.rglob("*.yaml")))
    scalers = [document for document in everything if document["kind"] == "ScaledObject"]
    result = run_outside_our_venv(
        ["node", TOOLS / "keda-validate.mjs", keda_models],
        cwd=None,
        timeout=60,
        stdin=json.dumps(scalers),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(scalers) == 2  # one per worker group
    assert result.stdout.count("valid: ScaledObject/") == len(scalers)


def test_checkov_finds_nothing_and_every_skip_says_why(manifests: Path) -> None:
    output = run(
        "uv", "tool", "run", "--python", "3.12", "--from", CHECKOV, "checkov",
        "--directory", manifests, "--framework", "kubernetes", "--output", "json",
        "--skip-download", timeout=600,
    )  # fmt: skip
    # The report, followed by whatever uv writes on stderr (its first run installs checkov).
    report, _ = json.JSONDecoder().raw_decode(output[output.index("{") :])
    results = report["results"]

    assert results["failed_checks"] == []
    assert results["parsing_errors"] == []
    assert report["summary"]["passed"] > 0
    for skipped in results["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]
