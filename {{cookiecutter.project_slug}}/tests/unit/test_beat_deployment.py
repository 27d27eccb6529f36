"""Beat runs as one process at a time, wherever it is deployed.

Two beats at once would each wait for RedBeat's lock: a rollout must stop the old
one first, and the probe must be beat's own.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2]


def test_kubernetes_runs_one_beat_replaced_with_recreate() -> None:
    manifest = PROJECT / "deploy" / "kubernetes" / "beat.yaml"
    (deployment,) = yaml.safe_load_all(manifest.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    (probe_command,) = pyproject["project"]["scripts"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert container["livenessProbe"]["exec"]["command"] == [probe_command, "beat", "live"]
    assert container["command"][:4] == ["celery", "-A", "{{ cookiecutter.package_name }}", "beat"]


def test_systemd_runs_beat_as_one_unit() -> None:
    (unit,) = (PROJECT / "deploy" / "systemd").glob("*-beat.service")
    text = unit.read_text(encoding="utf-8")

    assert "celery -A {{ cookiecutter.package_name }} beat" in text
    assert "@" not in unit.name, "a template unit would start several beats"
