"""The worker groups as the shipped files start them.

The Makefile names each group's queue options and worker profile once
(``GENERAL_QUEUES``, ``GENERAL_PROFILE``, ...); compose.yaml, the Dockerfile,
the systemd env files and the Kubernetes manifests must say the same, and the
tests start workers with exactly these instead of rebuilding them.
"""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Iterable
from pathlib import Path

from . import under_test


def project_file(*parts: str) -> Path:
    """A file of the service's project."""
    return under_test().project.joinpath(*parts)


#: Group name -> the prefix of its Makefile variables (``<prefix>_QUEUES``, ``<prefix>_PROFILE``).
GROUPS = {"general": "GENERAL", "critical": "CRITICAL"}


def makefile_value(variable: str) -> str:
    """The value of a ``NAME := value`` line of the Makefile."""
    for line in project_file("Makefile").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":=")
        if name.strip() == variable:
            return value.strip()
    raise LookupError(f"the Makefile does not define {variable}")


def queue_options(group: str) -> list[str]:
    """The ``celery worker`` options that choose the queues of ``group``, from the Makefile."""
    return split_options(makefile_value(f"{GROUPS[group]}_QUEUES").split())


def profile(group: str) -> str:
    """The worker profile of ``group`` (``WORKER_PROFILE``), from the Makefile."""
    return makefile_value(f"{GROUPS[group]}_PROFILE")


def profile_environment(group: str) -> dict[str, str]:
    """The environment that gives a worker the profile of ``group``."""
    return {"WORKER_PROFILE": profile(group)}


def split_options(arguments: list[str]) -> list[str]:
    """``--option=value`` written as ``--option value``, so that spellings compare equal."""
    return [part for argument in arguments for part in argument.split("=", 1)]


def queue_options_in(arguments: list[str]) -> list[str]:
    """The queue-choosing options (``--queues``/``--exclude-queues`` and values) of a command."""
    arguments = split_options(arguments)
    chosen: list[str] = []
    for option, value in itertools.pairwise(arguments):
        if option in {"--queues", "-Q", "--exclude-queues", "-X"}:
            chosen += [option, value]
    return chosen


def compose_block(service: str, key: str) -> list[str]:
    """The lines under ``key:`` of a compose.yaml service, stripped, comments left out."""
    lines = project_file("compose.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"  {service}:")
    key_line = next(n for n in range(start, len(lines)) if lines[n].strip() == f"{key}:")
    indent = len(lines[key_line]) - len(lines[key_line].lstrip())
    block = []
    for line in lines[key_line + 1 :]:
        if line.strip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line.strip())
    return block


def compose_command(service: str) -> list[str]:
    """The ``command:`` list of a compose.yaml service (a block list of plain items)."""
    return [item.removeprefix("- ") for item in compose_block(service, "command")]


def compose_environment(service: str) -> dict[str, str]:
    """The variables a compose.yaml service sets itself (``environment:``, merges left out)."""
    pairs = (line.split(": ", 1) for line in compose_block(service, "environment"))
    return {name: value for name, value in pairs if name != "<<"}


def assignments(words: Iterable[str]) -> dict[str, str]:
    """``{"NAME": "value"}`` from ``NAME=value`` words."""
    return {name: value for name, _, value in (word.partition("=") for word in words)}


def dockerfile_instructions(keyword: str) -> list[str]:
    """The arguments of each of the Dockerfile's ``keyword`` instructions, lines joined."""
    text = project_file("Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [
        line.removeprefix(f"{keyword} ")
        for line in text.splitlines()
        if line.startswith(f"{keyword} ")
    ]


def dockerfile_command() -> list[str]:
    """The Dockerfile's ``CMD`` (exec form)."""
    command: list[str] = json.loads(dockerfile_instructions("CMD")[-1])
    return command


def dockerfile_environment() -> dict[str, str]:
    """The variables the image sets (``ENV name=value ...``)."""
    words = [word for line in dockerfile_instructions("ENV") for word in shlex.split(line)]
    return assignments(words)


def systemd_environment(group: str) -> dict[str, str]:
    """The variables of ``deploy/systemd/worker-<group>.env``."""
    text = project_file("deploy", "systemd", f"worker-{group}.env").read_text(encoding="utf-8")
    return assignments(line for line in text.splitlines() if line and not line.startswith("#"))


def systemd_queue_options(group: str) -> list[str]:
    """``QUEUE_OPTIONS`` of ``deploy/systemd/worker-<group>.env``."""
    return split_options(systemd_environment(group)["QUEUE_OPTIONS"].split())
