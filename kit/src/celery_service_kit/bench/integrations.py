"""``python -m celery_service_kit.bench.integrations``: what tracing and error tracking cost.

Runs the no-op task's throughput (``bench.suite.throughput``, the service's settings;
``--work-ms`` for a task doing that much I/O work) with each integration the service
(``BENCH_APP``) has on, and with both off, the variants alternating within each round;
exports and reports go to the test harness's local receivers, so the cost includes
sending them. Prints the median tasks/s of each variant and its ratio to "off" within
rounds (median and range). Uses the broker of the environment (``CELERY_BROKER_URL``)
and purges its ``default`` queue.
"""

from __future__ import annotations

import argparse
import os
import statistics
from contextlib import ExitStack

from ..settings import available_cpus
from . import service_app, tasks
from .suite import throughput, work_throughput

OFF = {"OTEL_SDK_DISABLED": "true", "SENTRY_DSN": ""}


def variants(stack: ExitStack) -> dict[str, dict[str, str]]:
    """Both integrations off, and each one this service has, on (with its receiver)."""
    measured = {"off": OFF}
    features = service_app().features
    if "tracing" in features:
        from ..testing.otlp import otlp_receiver

        receiver = stack.enter_context(otlp_receiver())
        measured["opentelemetry"] = {
            **OFF,
            "OTEL_SDK_DISABLED": "false",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        }
    if "error-tracking" in features:
        from ..testing.sentry import sentry_receiver

        sentry = stack.enter_context(sentry_receiver())
        measured["sentry"] = {**OFF, "SENTRY_DSN": sentry.dsn}
    return measured


def measure(environment: dict[str, str], cpus: int, count: int, seconds: float) -> float:
    """Tasks per second of the no-op task, or of one doing ``seconds`` of work."""
    if seconds:
        return work_throughput(tasks.sleep, seconds, cpus, count, environment)
    return throughput(tasks.noop, environment, cpus, count)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1500)
    parser.add_argument("--work-ms", type=float, default=0, help="(I/O) work per task")
    arguments = parser.parse_args()
    cpus = available_cpus()
    os.environ.update(OFF)  # this process only sends: it exports and reports nothing
    with ExitStack() as stack:
        measured = variants(stack)
        rounds = [
            {
                name: measure(environment, cpus, arguments.tasks, arguments.work_ms / 1000)
                for name, environment in measured.items()
            }
            for _ in range(arguments.rounds)
        ]
    kind = f"{arguments.work_ms:g} ms tasks" if arguments.work_ms else "no-op tasks"
    print(f"{kind}, {arguments.tasks} per run, {cpus} processes, {arguments.rounds} rounds")
    print(f"{'variant':<15} {'tasks/s':>9} {'vs off (median, range)':>26}")
    for name in measured:
        ratios = [each[name] / each["off"] for each in rounds]
        median = statistics.median(each[name] for each in rounds)
        spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        print(f"{name:<15} {median:>9.0f} {spread:>26}")


if __name__ == "__main__":
    main()
