"""The template's version is one number: cookiecutter.json, pyproject.toml and CHANGELOG.md.

Git tags do not reach every clone, so the files carry the version. A generated
service records it in ``.cruft.json`` (checked after an update by test_update.py).
"""

from __future__ import annotations

import json
import re
import tomllib

from conftest import TEMPLATE


def test_the_version_files_agree() -> None:
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))
    changelog = (TEMPLATE / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.MULTILINE)

    assert newest is not None, "CHANGELOG.md has no version heading"
    assert answers["__template_version"] == project["project"]["version"] == newest.group(1)
