"""The template's version is one number, in every file that carries it, and the kit's.

cookiecutter.json, copier.yml, pyproject.toml, kit/pyproject.toml and CHANGELOG.md:
git tags do not reach every clone, so the files carry the version. A generated
service records it in ``.cruft.json`` or ``.copier-answers.yml`` and names the kit's
tag (checked by test_update.py).
"""

from __future__ import annotations

import json
import re
import tomllib

import yaml
from conftest import TEMPLATE


def test_the_version_files_agree() -> None:
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    copier = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    context = re.search(r'__template_version: "([^"]+)"', copier["cookiecutter"]["default"])
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    kit = tomllib.loads((TEMPLATE / "kit" / "pyproject.toml").read_text(encoding="utf-8"))
    changelog = (TEMPLATE / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.MULTILINE)

    assert newest is not None, "CHANGELOG.md has no version heading"
    assert context is not None, "copier.yml does not give the template's version"
    assert {
        "cookiecutter.json": answers["__template_version"],
        "copier.yml": context.group(1),
        "pyproject.toml": project["project"]["version"],
        "kit/pyproject.toml": kit["project"]["version"],
        "CHANGELOG.md": newest.group(1),
    } == dict.fromkeys(
        ("cookiecutter.json", "copier.yml", "pyproject.toml", "kit/pyproject.toml", "CHANGELOG.md"),
        newest.group(1),
    )
