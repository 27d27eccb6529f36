"""The worker groups as the shipped files start them.

The Makefile names each group's queue options once (``GENERAL_QUEUES``,
``CRITICAL_QUEUES``); compose.yaml, the Dockerfile and the systemd env files
must say the same, and the tests start workers with exactly these options
instead of rebuilding them from ``routing.py``.
"""

from __future__ import annotations

import itertools
import json
import re

from .processes import PROJECT

#: Group name -> the Makefile variable holding its queue options.
GROUPS = {"general": "GENERAL_QUEUES", "critical": "CRITICAL_QUEUES"}


def queue_options(group: str) -> list[str]:
    """The ``celery worker`` options that choose the queues of ``group``, from the Makefile."""
    variable = GROUPS[group]
    for line in (PROJECT / "Makefile").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":=")
        if name.strip() == variable:
            return split_options(value.split())
    raise LookupError(f"the Makefile does not define {variable}")


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


def compose_command(service: str) -> list[str]:
    """The ``command:`` list of a compose.yaml service (a block list of plain items)."""
    lines = (PROJECT / "compose.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"  {service}:")
    command_line = next(n for n in range(start, len(lines)) if lines[n].strip() == "command:")
    items = []
    for line in lines[command_line + 1 :]:
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if not stripped.startswith("- "):
            break
        items.append(stripped.removeprefix("- "))
    return items


def dockerfile_command() -> list[str]:
    """The Dockerfile's ``CMD`` (exec form)."""
    for line in (PROJECT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("CMD "):
            command: list[str] = json.loads(line.removeprefix("CMD "))
            return command
    raise LookupError("the Dockerfile has no CMD")


def systemd_queue_options(group: str) -> list[str]:
    """``QUEUE_OPTIONS`` of ``deploy/systemd/worker-<group>.env``."""
    text = (PROJECT / "deploy" / "systemd" / f"worker-{group}.env").read_text(encoding="utf-8")
    match = re.search(r"^QUEUE_OPTIONS=(.*)$", text, re.MULTILINE)
    if match is None:
        raise LookupError(f"worker-{group}.env has no QUEUE_OPTIONS")
    return split_options(match.group(1).split())
