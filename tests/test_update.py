"""A service made at the previous version, with its team's first changes, takes this version.

As a team lives it: the service is generated at the previous version (from this
repository's history), its team makes its first changes and commits them, then
updates with the commands its README gives, with cruft and with copier. The update
must not conflict in a file the team owns; what it asks of the team beyond that is
the CHANGELOG's "Moving from" steps, which the test runs as written; then the
service installs, imports, passes its lint, type check and unit tests and starts
its worker groups as before, every change of the team intact.

The template the services are made from is a clone of this repository whose newest
commit is the working tree, tagged with its version (the update checks out that tag,
and the kit is installed from it, as from the template's real repository). The
previous version predates copier.yml, so copier takes it from a stored render: a
template commit holding that version's render, which copier copies as it is.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import KIT_REPOSITORY, TEMPLATE, VERSION, commit_tree, fetching_from, git
from cookiecutter.main import cookiecutter
from test_deploy_files import run

PREVIOUS = "0.8.0"
ANSWERS = {"project_name": "Fleet Sync", "queues": "gps", "ci": "none"}
SERVICE, PACKAGE = "fleet-sync", "fleet_sync"
#: What the team added: a queue with its task, written the previous version's way.
NEW_QUEUE = "reports"
NEW_TASK_MODULE = '''"""Tasks of the ``reports`` queue."""

from __future__ import annotations

from ..celery_app import app
from ..reliability import idempotent
from ..store import key, redis_client


@app.task
@idempotent("report-archive:{report_id}")
def archive(report_id: str) -> str:
    """Archive a report, once."""
    redis_client().set(key("archived", report_id), "yes")
    return report_id
'''
CHANGED_DEFAULT = ("retry_max_retries: NonNegativeInt = 3", "retry_max_retries: NonNegativeInt = 5")
ADDED_DEPENDENCY = "httpx>=0.27,<1"
README_INTRO = "Background jobs of the Fleet Sync service, run by Celery."
EDITED_INTRO = "Fleet Sync: the GPS fleet's background jobs (owned by the fleet team)."
#: The files a team owns (the kit's layout): an update must merge into them cleanly.
TEAM_OWNED = re.compile(
    r"^(src/[^/]+/(celery_app|settings|routing|schedule)\.py|src/[^/]+/tasks/.*|tests/.*"
    r"|README\.md|Makefile|Dockerfile|compose\.yaml|deploy/.*|\.env)$"
)


def commit_all(directory: Path, message: str) -> None:
    git("add", "--all", cwd=directory)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=directory)


def last_commit_of_previous() -> str:
    """The last commit of the previous version: the parent of the commit that changed it.

    HEAD while the change of version is not committed yet.
    """
    seen = False
    for commit in git("rev-list", "--reverse", "HEAD", "--", "cookiecutter.json").splitlines():
        version = json.loads(git("show", f"{commit}:cookiecutter.json"))["__template_version"]
        if version == PREVIOUS:
            seen = True
        elif seen:
            return git("rev-parse", f"{commit}^")
    assert seen, f"no commit of this repository is at {PREVIOUS}"
    return git("rev-parse", "HEAD")


@dataclass(frozen=True)
class Template:
    """A clone of this repository: the previous version, and the working tree as HEAD."""

    path: Path
    previous: str
    current: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("template") / "repository"
    git("clone", "--quiet", "--no-local", TEMPLATE, path)
    # The working tree, whatever is committed of it yet, as the newest commit.
    commit_tree(TEMPLATE, path, "the working tree", f"v{VERSION}")
    return Template(path, last_commit_of_previous(), git("rev-parse", "HEAD", cwd=path))


@pytest.fixture(scope="module")
def kit_from_the_template(template: Template) -> dict[str, str]:
    """The environment in which the updated service installs the kit from ``template``."""
    return fetching_from(template.path)


def make_first_changes(service: Path) -> None:
    """A team's first changes, made the way the previous version's README says."""
    package = service / "src" / PACKAGE
    routing = package / "routing.py"
    text = routing.read_text(encoding="utf-8")
    declaration = 'DOMAIN_QUEUES: tuple[str, ...] = ("gps",)'
    assert declaration in text
    routing.write_text(text.replace(declaration, f'{declaration[:-2]}, "{NEW_QUEUE}")'))
    (package / "tasks" / f"{NEW_QUEUE}.py").write_text(NEW_TASK_MODULE, encoding="utf-8")
    base = package / "config" / "base.py"
    text = base.read_text(encoding="utf-8")
    assert CHANGED_DEFAULT[0] in text
    base.write_text(text.replace(*CHANGED_DEFAULT), encoding="utf-8")
    pyproject = service / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace(
            '    "python-json-logger>=3.1,<5",\n',
            f'    "python-json-logger>=3.1,<5",\n    "{ADDED_DEPENDENCY}",\n',
        ),
        encoding="utf-8",
    )
    readme = service / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert README_INTRO in text
    readme.write_text(text.replace(README_INTRO, EDITED_INTRO), encoding="utf-8")
    for example in ("default", "critical", "gps"):
        (package / "tasks" / f"{example}.py").unlink()
    commit_all(service, "Our first changes")


def changelog_steps(after: str) -> list[str]:
    """The commands of the CHANGELOG's steps from the previous version following ``after``."""
    text = (TEMPLATE / "CHANGELOG.md").read_text(encoding="utf-8")
    section = text.split(f"### Moving from {PREVIOUS}", 1)[1].split("\n## ", 1)[0]
    block = re.search(rf"{after}[^\n]*:\n\n```console\n(.*?)```", section, re.DOTALL)
    assert block, f"the CHANGELOG gives no commands {after} for moving from {PREVIOUS}"
    return [
        line.replace("<package>", PACKAGE)
        for line in block.group(1).splitlines()
        if line and not line.startswith("#")
    ]


def in_shell(line: str, cwd: Path, environment: dict[str, str] | None = None) -> str:
    return run("bash", "-c", line, cwd=cwd, timeout=600, environment=environment)


def conflicts(service: Path) -> dict[str, str]:
    """Files left with conflict markers or rejected hunks by the update: path -> how."""
    found = {}
    for path in service.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        relative = path.relative_to(service).as_posix()
        if relative.endswith(".rej"):
            found[relative.removesuffix(".rej")] = "rejected hunks"
        elif re.search(r"^<<<<<<< ", path.read_text(encoding="utf-8", errors="replace"), re.M):
            found[relative] = "conflict markers"
    return found


def check_the_updated_service(service: Path, environment: dict[str, str]) -> None:
    """What the updated service must still do, every change of its team intact."""
    run("uv", "sync", "--no-progress", cwd=service, timeout=600, environment=environment)
    loaded = run(
        "uv", "run", "--no-sync", "python", "-c",
        f"from {PACKAGE} import app; app.loader.import_default_modules(); "
        f"print(app.service.settings.retry_max_retries, sorted(app.tasks))",
        cwd=service, environment={"APP_ENV": "test"},
    )  # fmt: skip
    assert loaded.startswith("5 "), "the changed default is lost"
    assert f"{PACKAGE}.tasks.{NEW_QUEUE}.archive" in loaded
    assert f"{PACKAGE}.tasks.default.rebuild_report" not in loaded, "a deleted example is back"
    run("uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit",
        cwd=service)  # fmt: skip
    run("make", "lint", "typecheck", cwd=service, environment=environment)
    worker = run("make", "-n", "worker", cwd=service)
    assert "--exclude-queues critical" in worker
    assert "WORKER_PROFILE=short-tasks" in worker
    critical = run("make", "-n", "worker-critical", cwd=service)
    assert "--queues critical" in critical
    assert "WORKER_PROFILE=long-tasks" in critical
    assert EDITED_INTRO in (service / "README.md").read_text(encoding="utf-8")
    pyproject = tomllib.loads((service / "pyproject.toml").read_text(encoding="utf-8"))
    assert ADDED_DEPENDENCY in pyproject["project"]["dependencies"]
    source = pyproject["tool"]["uv"]["sources"]["celery-service-kit"]
    assert source["tag"] == f"v{VERSION}"


def readme_commands(tool: str) -> list[str]:
    """This version's update commands for ``tool``, as its README gives them."""
    readme = TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md"
    section = readme.read_text(encoding="utf-8").split("## Updating from the template", 1)[1]
    block = re.search(rf"With {tool}:\n\n```console\n(.*?)```", section, re.DOTALL)
    assert block, f"the README gives no {tool} commands"
    return [line.replace("<version>", VERSION) for line in block.group(1).splitlines() if line]


def take_the_update(service: Path, tool: str, environment: dict[str, str]) -> dict[str, str]:
    """Run the README's commands, then the CHANGELOG's steps as a team does; the conflicts met.

    Where the CHANGELOG asks for the team's own knowledge (which dependencies it
    added, which defaults it changed), the test does what the team would.
    """
    for line in readme_commands(tool):
        in_shell(line, service, environment)
    met = conflicts(service)
    owned = {path: how for path, how in met.items() if TEAM_OWNED.match(path)}
    assert not owned, f"the update conflicts in files the team owns: {owned}"
    for line in changelog_steps(f"After {tool}"):
        in_shell(line, service, environment)
    in_shell(f"uv add --no-sync '{ADDED_DEPENDENCY}'", service, environment)
    settings = service / "src" / PACKAGE / "settings.py"
    text = settings.read_text(encoding="utf-8")
    field = '    rabbitmq_queue_type: QueueType = "classic"\n'
    assert field in text
    settings.write_text(text.replace(field, f"{field}    retry_max_retries: int = 5\n"))
    for line in changelog_steps("Then, either way"):
        in_shell(line, service, environment)
    assert not conflicts(service), "the CHANGELOG's steps leave conflicts"
    return met


def test_a_service_made_with_cruft_takes_this_version(
    template: Template, kit_from_the_template: dict[str, str], tmp_path: Path
) -> None:
    run(
        "cruft", "create", str(template.path), "--checkout", template.previous, "--no-input",
        "--extra-context", json.dumps(ANSWERS), "--output-dir", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    service = tmp_path / SERVICE
    git("init", "--quiet", cwd=service)
    commit_all(service, "Generated")
    make_first_changes(service)

    met = take_the_update(service, "cruft", kit_from_the_template)

    recorded = json.loads((service / ".cruft.json").read_text(encoding="utf-8"))
    assert recorded["commit"] == template.current
    assert recorded["context"]["cookiecutter"]["__template_version"] == VERSION
    check_the_updated_service(service, kit_from_the_template)
    print(f"cruft: conflicts met outside the team's files: {met}")


def stored_render_template(template: Template, directory: Path) -> Path:
    """A copier template whose first commit is the previous version's render of ANSWERS.

    Copier copies that render as it is (its files are not templates), with the
    questions of this version; the second commit is this version, tagged.
    """
    repository = directory / "template"
    render = Path(
        cookiecutter(
            str(clone_at(template.path, template.previous, directory / "previous")),
            no_input=True,
            extra_context=ANSWERS,
            output_dir=str(directory / "render"),
        )
    )
    current = yaml.safe_load((template.path / "copier.yml").read_text(encoding="utf-8"))
    stored = {key: value for key, value in current.items() if key not in {"_tasks", "cookiecutter"}}
    stored.update(_subdirectory="render", _templates_suffix=".jinja")
    repository.mkdir()
    (repository / "copier.yml").write_text(yaml.safe_dump(stored, sort_keys=False))
    shutil.copytree(render, repository / "render")
    (repository / "render" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml -}}\n", encoding="utf-8"
    )
    git("init", "--quiet", cwd=repository)
    commit_all(repository, f"the render of {PREVIOUS}")
    git("tag", f"v{PREVIOUS}", cwd=repository)
    return commit_tree(template.path, repository, f"version {VERSION}", f"v{VERSION}")


def clone_at(repository: Path, commit: str, directory: Path) -> Path:
    git("clone", "--quiet", repository, directory)
    git("checkout", "--quiet", commit, cwd=directory)
    return directory


def test_a_service_made_with_copier_takes_this_version(
    template: Template, kit_from_the_template: dict[str, str], tmp_path: Path
) -> None:
    source = stored_render_template(template, tmp_path)
    service = tmp_path / SERVICE
    data = [f"--data={name}={value}" for name, value in ANSWERS.items()]
    run(
        "copier", "copy", "--trust", "--defaults", "--vcs-ref", f"v{PREVIOUS}", *data,
        str(source), str(service), cwd=tmp_path,
    )  # fmt: skip
    git("init", "--quiet", cwd=service)
    commit_all(service, "Generated")
    make_first_changes(service)

    kit_from_the_source = fetching_from(source)

    met = take_the_update(service, "copier", kit_from_the_source)

    answers = yaml.safe_load((service / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == f"v{VERSION}"
    check_the_updated_service(service, kit_from_the_source)
    print(f"copier: conflicts met outside the team's files: {met}")


def test_a_release_of_the_kit_alone_reaches_a_service_as_one_changed_line(
    tmp_path: Path,
) -> None:
    # The same service at this version and at a next one that changed only the kit.
    renders = [
        Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={**ANSWERS, "__template_version": version},
                output_dir=str(tmp_path / version),
            )
        )
        for version in (VERSION, "99.0.0")
    ]

    changed = subprocess.run(
        ["git", "diff", "--no-index", "--unified=0", "--no-color", *map(str, renders)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    lines = [
        line for line in changed.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    source = f'celery-service-kit = {{ git = "{KIT_REPOSITORY}", subdirectory = "kit", tag = '
    assert lines == [f'-{source}"v{VERSION}" }}', f'+{source}"v99.0.0" }}']
