"""The probe command: is the local worker live or ready, is beat live?

    <slug>-probe worker live      # liveness and start-up probes
    <slug>-probe worker ready     # readiness probe
    <slug>-probe beat live        # beat's liveness probe

A service's probe command is :func:`main` for its package (the service's
``probe`` function, a console script of its ``pyproject.toml``).

It reads the marks in ``HEALTH_DIR`` (``marks.py``) and exits 0, or 1 with a
one-line reason; 2 for a usage error. It imports neither Celery nor the service's
settings and never touches the broker: a probe every few seconds costs a Python
start-up, not an app import and a broker round trip (README, "Health probes").
A directory with the marks of several workers needs ``--node`` (``%h`` stands for
this host's name, as in Celery's ``--hostname``).
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from .marks import BEAT, Marks, health_dir, worker_mark_name, worker_nodes

CHECKS = ("live", "ready")


def parser() -> argparse.ArgumentParser:
    """The command line."""
    command = argparse.ArgumentParser(
        description="Check the liveness or readiness of this host's worker, or beat's liveness."
    )
    command.add_argument("process", choices=("worker", "beat"))
    command.add_argument("check", choices=CHECKS)
    command.add_argument(
        "--node", help="the worker's node name (e.g. worker@%%h) when several share HEALTH_DIR"
    )
    return command


def worker_marks(directory: Path, node: str | None) -> Marks | str:
    """The marks of the worker to check, or why there is none to check."""
    if node is not None:
        return Marks(directory, worker_mark_name(node.replace("%h", socket.gethostname())))
    nodes = worker_nodes(directory)
    if len(nodes) == 1:
        return Marks(directory, worker_mark_name(nodes[0]))
    if not nodes:
        return f"no worker heartbeat in {directory} (starting, or never started)"
    return f"the marks of several workers are in {directory} ({', '.join(nodes)}): use --node"


def problem(directory: Path, process: str, check: str, node: str | None = None) -> str | None:
    """Why the check fails, or None when it passes."""
    if process == "beat":
        if check != "live":
            return "beat has a liveness check only"
        return Marks(directory, BEAT).liveness_problem()
    marks = worker_marks(directory, node)
    if isinstance(marks, str):
        return marks
    return marks.liveness_problem() if check == "live" else marks.readiness_problem()


def main(package: str, argv: Sequence[str] | None = None) -> int:
    """Run one check on the marks of ``package``'s service; print its outcome in one line."""
    arguments = parser().parse_args(argv)
    reason = problem(health_dir(package), arguments.process, arguments.check, arguments.node)
    if reason is None:
        print(f"{arguments.process} {arguments.check}")
        return 0
    print(f"{arguments.process} not {arguments.check}: {reason}")
    return 1


def installed_command(package: str) -> Path:
    """The probe command of ``package``'s service: its console script, beside this Python."""
    for script in entry_points(group="console_scripts"):
        if script.value == f"{package}:probe":
            return Path(sys.executable).with_name(script.name)
    raise LookupError(f"no console script runs {package}:probe (the service's pyproject.toml)")
