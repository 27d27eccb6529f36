"""``python -m celery_service_kit.bench --app <package>`` (``make bench``): what it costs and buys.

For each broker (``--broker``, repeatable; default: Redis, and RabbitMQ if one answers
on localhost) it runs ``bench.suite`` on the service's app, in a process of its own,
and prints:

* the task pattern's overhead: ServiceTask vs a bare task, no-op throughput;
* the safety cost: the recommended settings under each worker profile vs Celery's
  defaults, no-op throughput, and again with 10 ms of work per task;
* publish-to-start latency (p50, p99) at a steady rate below saturation;
* fairness: a few long tasks among many short ones over 2 workers, on one queue under
  each profile and Celery's defaults, and routed (long tasks on a worker of their
  own): makespan / ideal, and when the last short task ended;
* a concurrency sweep (1, 2, 4, 8 processes) for I/O-bound and CPU-bound tasks.

Run it against a quiet broker: it purges the ``default`` queue of the broker it uses
(by default Redis database 13, and the service's Redis database 14).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import APP_VARIABLE
from .report import broker_name, plot, report

DEFAULT_BROKERS = ("redis://127.0.0.1:6379/13", "amqp://guest:guest@127.0.0.1:5672//")


def answers(url: str) -> bool:
    """Whether something listens at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 0.5):
            return True
    except OSError:
        return False


def run_suite(package: str, broker: str, runs: int, quick: bool) -> dict[str, Any]:
    """Measure ``package``'s app against one broker, in a process configured for it."""
    environment = {
        **os.environ,
        APP_VARIABLE: package,
        "APP_ENV": "production",
        "LOG_FORMAT": "json",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": "",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    }
    command = [sys.executable, "-m", f"{__package__}.suite", "--runs", str(runs)]
    command += ["--quick"] if quick else []
    # stdout carries the JSON; stderr (progress, and the traceback if it fails) shows.
    output = subprocess.run(
        command, env=environment, stdout=subprocess.PIPE, text=True, check=True, timeout=3600
    )
    results: dict[str, Any] = json.loads(output.stdout)
    return results


def main() -> None:
    """Run the benchmark and print (and optionally save) the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, help="the service's package (celery -A)")
    parser.add_argument("--broker", action="append", help="broker URL (repeatable)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure (median)")
    parser.add_argument("--quick", action="store_true", help="small counts, one run")
    parser.add_argument("--output", type=Path, help="write results.json, results.md, plot.png")
    arguments = parser.parse_args()
    brokers = arguments.broker or [url for url in DEFAULT_BROKERS if answers(url)]
    runs = 1 if arguments.quick else arguments.runs
    results = {
        broker_name(url): run_suite(arguments.app, url, runs, arguments.quick) for url in brokers
    }
    table = report(results)
    print(table)
    if arguments.output:
        arguments.output.mkdir(parents=True, exist_ok=True)
        (arguments.output / "results.json").write_text(json.dumps(results, indent=2))
        (arguments.output / "results.md").write_text(table + "\n")
        plot(results, arguments.output / "plot.png")


if __name__ == "__main__":
    main()
