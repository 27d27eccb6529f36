"""The probe command: is the local worker live or ready, is beat live?

    {{ cookiecutter.project_slug }}-probe worker live      # liveness and start-up probes
    {{ cookiecutter.project_slug }}-probe worker ready     # readiness probe
    {{ cookiecutter.project_slug }}-probe beat live        # beat's liveness probe

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


def worker_marks(node: str | None) -> Marks | str:
    """The marks of the worker to check, or why there is none to check."""
    directory = health_dir()
    if node is not None:
        return Marks(directory, worker_mark_name(node.replace("%h", socket.gethostname())))
    nodes = worker_nodes(directory)
    if len(nodes) == 1:
        return Marks(directory, worker_mark_name(nodes[0]))
    if not nodes:
        return f"no worker heartbeat in {directory} (starting, or never started)"
    return f"the marks of several workers are in {directory} ({', '.join(nodes)}): use --node"


def problem(process: str, check: str, node: str | None = None) -> str | None:
    """Why the check fails, or None when it passes."""
    if process == "beat":
        if check != "live":
            return "beat has a liveness check only"
        return Marks(health_dir(), BEAT).liveness_problem()
    marks = worker_marks(node)
    if isinstance(marks, str):
        return marks
    return marks.liveness_problem() if check == "live" else marks.readiness_problem()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one check; print its outcome in one line."""
    arguments = parser().parse_args(argv)
    reason = problem(arguments.process, arguments.check, arguments.node)
    if reason is None:
        print(f"{arguments.process} {arguments.check}")
        return 0
    print(f"{arguments.process} not {arguments.check}: {reason}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
