"""Copier serves the same template as cookiecutter, from the same tree.

copier.yml asks the questions of cookiecutter.json, with the same defaults and
choices; a service made with copier is the service made with cookiecutter, plus the
answers file that lets copier update it; a wrong answer stops copier with the hook's
line and leaves no directory.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ANSWERS, TEMPLATE, commit_tree, differences, git
from matrix import MATRIX, Combination

COPIER = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
QUESTIONS = {
    name: question
    for name, question in COPIER.items()
    if not name.startswith("_") and name != "cookiecutter"
}
#: Combinations that change what copier renders: conditional files, a skipped question.
COMPARED = ["defaults", "py311-rabbitmq-quorum-beat-one-queue"]


def test_copier_asks_what_cookiecutter_asks() -> None:
    public = {name for name in ANSWERS if not name.startswith("_")}

    assert set(QUESTIONS) == public


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_each_question_has_cookiecutters_default_and_choices(name: str) -> None:
    cookiecutter_answer = ANSWERS[name]
    question: dict[str, Any] = QUESTIONS[name]
    prompt = ANSWERS["__prompts__"][name]

    if isinstance(cookiecutter_answer, list):  # a choice: its first value is the default
        assert question["choices"] == {prompt[value]: value for value in cookiecutter_answer}
        assert question["default"] == cookiecutter_answer[0]
        assert prompt["__prompt__"].startswith(question["help"])
    else:
        default = cookiecutter_answer.replace("cookiecutter.", "")
        assert question["default"] == default
        assert question["help"] == prompt


def copier_copy(
    destination: Path, answers: dict[str, str], template: Path = TEMPLATE
) -> subprocess.CompletedProcess[str]:
    data = [f"--data={name}={value}" for name, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet",
         *data, str(template), str(destination)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def committed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a git repository (copier records the commit it copied)."""
    clone = tmp_path_factory.mktemp("template") / "template"
    return commit_tree(TEMPLATE, clone, "the working tree")


@pytest.mark.parametrize(
    "combination", [c for c in MATRIX if c.id in COMPARED], ids=lambda combination: combination.id
)
def test_copier_makes_the_service_cookiecutter_makes(
    combination: Combination,
    committed_template: Path,
    render: Callable[[Combination], Path],
    tmp_path: Path,
) -> None:
    made_by_cookiecutter = render(combination)
    made_by_copier = tmp_path / "copier" / made_by_cookiecutter.name

    result = copier_copy(made_by_copier, combination.answers, committed_template)

    assert result.returncode == 0, result.stderr[-3000:]
    assert differences(filecmp.dircmp(made_by_cookiecutter, made_by_copier)) == [
        ".copier-answers.yml"
    ]
    recorded = yaml.safe_load((made_by_copier / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == git("rev-parse", "--short", "HEAD", cwd=committed_template)
    assert {name: recorded[name] for name in combination.answers} == combination.answers


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "class"}, "package_name: 'class' is a Python keyword"),
        ({"queues": "email,critical"}, "queues: 'critical' always exists"),
    ],
    ids=["keyword", "reserved-queue"],
)
def test_a_wrong_answer_stops_copier_with_its_line_and_no_directory(
    committed_template: Path, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "service"

    result = copier_copy(destination, answers, committed_template)

    assert result.returncode != 0
    assert f"ERROR: {message}" in result.stderr
    assert not destination.exists(), "copier left a half-made directory"
