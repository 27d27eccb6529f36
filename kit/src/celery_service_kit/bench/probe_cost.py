"""``python -m celery_service_kit.bench.probe_cost``: one health check's cost, probe vs ping.

Starts a worker of the service (``BENCH_APP``) on the broker of the environment
(``CELERY_BROKER_URL``), then runs each check ``--runs`` times, one after the other,
as a container runtime would: ``<slug>-probe worker live`` (reads the worker's
heartbeat file) and
``celery inspect ping --destination <worker>`` (imports the app, asks the worker
through the broker). Prints, per check, the median wall time and the CPU time
(user + system, of the check's process) per call, and their ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from ..health.probe import installed_command
from . import service_app
from .suite import workers


def cost(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds per call, and mean CPU seconds per call, over ``runs`` calls."""
    walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return statistics.median(walls), cpu / runs


def main() -> None:
    """Measure both checks against one live worker and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="calls of each check")
    arguments = parser.parse_args()
    package = service_app().main
    with tempfile.TemporaryDirectory() as marks:
        os.environ["HEALTH_DIR"] = marks
        with workers(1, 1, {"HEALTH_DIR": marks}) as (node,):
            checks = {
                "probe": [str(installed_command(package)), "worker", "live"],
                "inspect ping": [
                    sys.executable, "-m", "celery", "-A", package, "inspect", "ping",
                    "--destination", node, "--timeout", "10",
                ],
            }  # fmt: skip
            costs = {name: cost(command, arguments.runs) for name, command in checks.items()}
    (probe_wall, probe_cpu), (ping_wall, ping_cpu) = costs["probe"], costs["inspect ping"]
    print(f"{'check':<14} {'wall ms (median)':>17} {'CPU ms per call':>16}")
    for name, (wall, cpu) in costs.items():
        print(f"{name:<14} {wall * 1000:>17.1f} {cpu * 1000:>16.1f}")
    print(f"ping / probe:  wall {ping_wall / probe_wall:.1f}x, CPU {ping_cpu / probe_cpu:.1f}x")


if __name__ == "__main__":
    main()
