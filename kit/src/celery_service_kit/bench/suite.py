"""The measurements against one broker (``CELERY_BROKER_URL``), as JSON on stdout.

Run by ``python -m celery_service_kit.bench``, once per broker, with ``BENCH_APP``.
Workers are real ``celery worker`` processes (prefork) with the service's production
settings, or with Celery's defaults for the settings the service changes; tasks are
published before the
workers consume, and timings come from the tasks' own records in Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from celery.app.trace import build_tracer
from kombu import Exchange, Queue

from ..service import redis_client
from ..settings import available_cpus
from . import service_app, tasks

QUEUE = "default"
IDLE_QUEUE = "critical"  # consumed while waiting, so that a start does not consume early
#: The fairness burst's long tasks, routed: a queue with workers of its own.
LONG_QUEUE = "bench-long"
LONG_TASK_SECONDS, SHORT_TASK_SECONDS = 1.0, 0.01

#: Celery's own defaults for the settings the service's bundle changes.
CELERY_DEFAULTS = {
    "CELERY_TASK_ACKS_LATE": "false",
    # Celery's prefetch multiplier, 4, through the profile that sets it.
    "WORKER_PROFILE": "short-tasks",
    "SHORT_TASKS_PREFETCH_MULTIPLIER": "4",
    "CELERY_TASK_REJECT_ON_WORKER_LOST": "false",
    "CELERY_TASK_RETRY_ON_WORKER_LOST": "false",
    "CELERY_WORKER_SEND_TASK_EVENTS": "false",
    "CELERY_TASK_SEND_SENT_EVENT": "false",
    "CELERY_WORKER_MAX_TASKS_PER_CHILD": "",
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD": "",
    # kombu's own Redis client handling (a plain Celery project's).
    "REDIS_SHARED_CLIENT": "false",
}
#: The recommended settings with the short-tasks worker profile (the general group's).
SHORT_TASKS = {"WORKER_PROFILE": "short-tasks"}
#: The recommended settings under each worker profile, and Celery's defaults.
VARIANTS: dict[str, Mapping[str, str]] = {
    "recommended": {},
    "recommended-short-tasks": SHORT_TASKS,
    "celery-defaults": CELERY_DEFAULTS,
}
#: The recommended settings without task events (what they cost is monitoring, not safety).
WITHOUT_EVENTS = {"CELERY_WORKER_SEND_TASK_EVENTS": "false"}
#: Redis: kombu's own client handling, a new client object per publish, event and ack.
PER_CALL_CLIENTS = {"REDIS_SHARED_CLIENT": "false"}


@contextmanager
def workers(count: int, concurrency: int, environment: Mapping[str, str]) -> Iterator[list[str]]:
    """Start ``count`` workers on the idle queue; yield their node names; stop them."""
    app = service_app()
    names = [f"bench{n}-{uuid.uuid4().hex[:6]}@bench" for n in range(count)]
    processes = []
    for name in names:
        command = [
            sys.executable, "-m", "celery", "-A", app.main, "worker", "--hostname", name,
            "--queues", IDLE_QUEUE, "--concurrency", str(concurrency), "--pool", "prefork",
            "--loglevel", "INFO", "--include", tasks.__name__, "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        processes.append(
            subprocess.Popen(
                command,
                env={**os.environ, **environment},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(destination=names, timeout=0.5) or []) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark workers did not start")
        yield names
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def consume(names: list[str]) -> None:
    """Let the workers take the queue, all at the same moment."""
    app = service_app()
    app.control.add_consumer(QUEUE, destination=names, reply=True)


def consume_staggered(names: list[str], delay: float) -> None:
    """Let the first worker take the queue, and the others ``delay`` seconds later."""
    app = service_app()
    app.control.add_consumer(QUEUE, destination=names[:1], reply=True)
    time.sleep(delay)
    app.control.add_consumer(QUEUE, destination=names[1:], reply=True)


def bench_queue(name: str) -> Queue:
    """A queue of the service, or one the benchmark adds, declared as a worker would."""
    app = service_app()
    if name not in app.amqp.queues:  # as `celery control add_consumer` declares it
        app.amqp.queues.add(Queue(name, Exchange(name, type="direct"), routing_key=name))
    queue: Queue = app.amqp.queues[name]
    return queue


def purge(name: str = QUEUE) -> None:
    """Empty a benchmark queue (declared first: on a new RabbitMQ it does not exist yet)."""
    app = service_app()
    with app.connection_for_write() as connection:
        queue = bench_queue(name)(connection.default_channel)
        queue.declare()
        queue.purge()


def delete(name: str) -> None:
    """Delete a queue the benchmark declared for itself."""
    app = service_app()
    with app.connection_for_write() as connection:
        bench_queue(name)(connection.default_channel).delete()


def recorded(run: str, field: str) -> list[float]:
    """What the tasks of a run recorded."""
    return [float(value) for value in redis_client().lrange(tasks.bench_key(run, field), 0, -1)]


def wait_for(run: str, count: int, timeout: float = 300) -> None:
    """Wait until ``count`` tasks of the run have ended."""
    deadline = time.monotonic() + timeout
    key = tasks.bench_key(run, "ended")
    while int(redis_client().llen(key)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {redis_client().llen(key)} of {count} tasks ended")
        time.sleep(0.02)


def span(run: str) -> float:
    """Seconds from the first task's start to the last task's end."""
    return max(recorded(run, "ended")) - min(recorded(run, "started"))


def publish(signatures: list[Any]) -> None:
    """Send many tasks over one connection."""
    app = service_app()
    with app.producer_or_acquire() as producer:
        for signature in signatures:
            signature.apply_async(producer=producer)


def throughput(task: Any, environment: Mapping[str, str], concurrency: int, count: int) -> float:
    """Tasks per second through ``concurrency`` processes, from a full queue."""
    run = uuid.uuid4().hex
    purge()
    with workers(1, concurrency, environment) as names:
        publish([task.s(run, time.time()) for _ in range(count)])
        consume(names)
        wait_for(run, count)
    return count / span(run)


def work_throughput(
    task: Any,
    seconds: float,
    concurrency: int,
    count: int,
    environment: Mapping[str, str] | None = None,
) -> float:
    """Tasks per second of a task doing ``seconds`` of work (the service's settings by default)."""
    run = uuid.uuid4().hex
    purge()
    with workers(1, concurrency, environment or {}) as names:
        publish([task.s(run, time.time(), seconds) for _ in range(count)])
        consume(names)
        wait_for(run, count)
    return count / span(run)


def latency(rate: float, seconds: float) -> dict[str, float]:
    """Publish-to-start latency at a steady rate below saturation: p50 and p99 in ms."""
    app = service_app()
    run = uuid.uuid4().hex
    purge()
    count = int(rate * seconds)
    with workers(1, available_cpus(), {}) as names:
        consume(names)
        time.sleep(1)
        with app.producer_or_acquire() as producer:
            start = time.monotonic()
            for n in range(count):
                time.sleep(max(0.0, start + n / rate - time.monotonic()))
                tasks.noop.s(run, time.time()).apply_async(producer=producer)
        wait_for(run, count)
    delays = sorted(value * 1000 for value in recorded(run, "latency"))
    return {"p50": percentile(delays, 50), "p99": percentile(delays, 99)}


def burst(long_tasks: int, short_tasks: int, seed: int) -> list[float]:
    """The durations of a burst of a few long tasks among many short ones, shuffled."""
    durations = [LONG_TASK_SECONDS] * long_tasks + [SHORT_TASK_SECONDS] * short_tasks
    random.Random(seed).shuffle(durations)
    return durations


def burst_outcome(run: str, durations: list[float], concurrency: int) -> dict[str, float]:
    """Makespan / ideal (two workers), and the seconds until every short task had ended."""
    started = min(recorded(run, "started") + recorded(f"{run}-short", "started"))
    ideal = sum(durations) / (2 * concurrency)
    return {
        "makespan": (max(recorded(run, "ended") + recorded(f"{run}-short", "ended")) - started)
        / ideal,
        "short_done": max(recorded(f"{run}-short", "ended")) - started,
    }


def fairness(
    environment: Mapping[str, str], long_tasks: int, short_tasks: int, seed: int
) -> dict[str, float]:
    """A burst of a few long tasks among many short ones on two workers, one queue.

    The second worker starts consuming 0.2 s after the first, as when a worker is
    added or restarted: with prefetching, the first one has already reserved work
    that the second could have started.
    """
    run, concurrency = uuid.uuid4().hex, 2
    durations = burst(long_tasks, short_tasks, seed)
    purge()
    with workers(2, concurrency, environment) as names:
        publish([tasks.sleep.s(label(run, s), time.time(), s) for s in durations])
        consume_staggered(names, 0.2)
        wait_for(run, long_tasks)
        wait_for(f"{run}-short", short_tasks)
    return burst_outcome(run, durations, concurrency)


def fairness_routed(long_tasks: int, short_tasks: int, seed: int) -> dict[str, float]:
    """The same burst, the long tasks routed to a queue of their own.

    As README's "Worker profiles" advises: a long-tasks worker for that queue, a
    short-tasks worker for the rest, started 0.2 s apart. The makespan grows (a
    worker idles once its queue is empty), the short tasks no longer wait.
    """
    app = service_app()
    run, concurrency = uuid.uuid4().hex, 2
    durations = burst(long_tasks, short_tasks, seed)
    purge()
    purge(LONG_QUEUE)
    try:
        with (
            workers(1, concurrency, {}) as long_worker,
            workers(1, concurrency, SHORT_TASKS) as short_worker,
        ):
            publish(
                [
                    tasks.sleep.s(label(run, s), time.time(), s).set(
                        queue=LONG_QUEUE if s == LONG_TASK_SECONDS else QUEUE
                    )
                    for s in durations
                ]
            )
            app.control.add_consumer(LONG_QUEUE, destination=long_worker, reply=True)
            time.sleep(0.2)
            app.control.add_consumer(QUEUE, destination=short_worker, reply=True)
            wait_for(run, long_tasks)
            wait_for(f"{run}-short", short_tasks)
    finally:
        delete(LONG_QUEUE)
    return burst_outcome(run, durations, concurrency)


def label(run: str, seconds: float) -> str:
    """Where a task of a burst records itself: short tasks apart from long ones."""
    return run if seconds == LONG_TASK_SECONDS else f"{run}-short"


def run_cost_us(rounds: int, calls: int) -> dict[str, float]:
    """Microseconds per run through Celery's tracer, in this process: ServiceTask and bare.

    The same code path as in a pool process (signals included), without the broker:
    the pattern's own cost, which the throughput measure cannot resolve on a noisy
    machine. The fastest round of each counts (the least disturbed, as timeit does).
    """
    app = service_app()
    costs: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, task in (("service", tasks.empty), ("bare", tasks.bare_empty)):
            trace = build_tracer(task.name, task, app=app, hostname="bench", eager=False)
            request = {"id": "bench", "delivery_info": {"routing_key": QUEUE}}
            started = time.perf_counter()
            for _ in range(calls):
                trace("bench", [], {}, request)
            costs.setdefault(name, []).append((time.perf_counter() - started) / calls * 1e6)
    return {name: min(values) for name, values in costs.items()}


def percentile(values: list[float], percent: float) -> float:
    """The ``percent`` percentile of sorted ``values`` (nearest rank)."""
    rank = max(0, min(len(values) - 1, round(percent / 100 * len(values)) - 1))
    return values[rank]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of ``runs`` measurements."""
    return statistics.median(measure() for _ in range(runs))


def measure(runs: int, quick: bool) -> dict[str, Any]:
    """Every measurement against the configured broker."""
    cpus = available_cpus()
    count = 300 if quick else 1500
    results: dict[str, Any] = {"cpus": cpus, "runs": runs, "tasks": count}
    # Variants alternate within each round, so that drift in the machine hits all.
    measured = [
        ("noop/recommended", tasks.noop, {}),
        ("noop/recommended-short-tasks", tasks.noop, SHORT_TASKS),
        ("bare_noop/recommended", tasks.bare_noop, {}),
        ("noop/recommended-without-events", tasks.noop, WITHOUT_EVENTS),
        ("noop/celery-defaults", tasks.noop, CELERY_DEFAULTS),
    ]
    if service_app().settings.broker_is_redis:
        measured.append(("noop/recommended-per-call-clients", tasks.noop, PER_CALL_CLIENTS))
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, task, environment in measured:
            samples.setdefault(name, []).append(throughput(task, environment, cpus, count))
    results["throughput"] = {name: statistics.median(values) for name, values in samples.items()}
    # Each round's values, for ratios taken within a round (the machine's drift cancels).
    results["throughput_rounds"] = samples
    results["run_cost_us"] = run_cost_us(rounds=5, calls=2000 if quick else 20000)
    # The same comparison with 10 ms of (I/O) work per task: closer to a real task.
    results["throughput_10ms"] = {
        variant: median_of(
            runs, partial(work_throughput, tasks.sleep, 0.01, cpus, count // 4, environment)
        )
        for variant, environment in VARIANTS.items()
    }
    results["latency_ms"] = latency(rate=20 if quick else 50, seconds=3 if quick else 6)
    long_tasks, short_tasks = (6, 60) if quick else (12, 120)
    bursts: dict[str, list[dict[str, float]]] = {variant: [] for variant in (*VARIANTS, "routed")}
    for seed in range(runs):  # variants alternate within each round, as above
        for variant, variables in VARIANTS.items():
            bursts[variant].append(fairness(variables, long_tasks, short_tasks, seed))
        bursts["routed"].append(fairness_routed(long_tasks, short_tasks, seed))
    results["fairness"] = {
        variant: statistics.median(outcome["makespan"] for outcome in outcomes)
        for variant, outcomes in bursts.items()
    }
    results["short_tasks_done_s"] = {
        variant: statistics.median(outcome["short_done"] for outcome in outcomes)
        for variant, outcomes in bursts.items()
    }
    sweep_runs = 1 if quick else 2
    results["concurrency"] = {
        kind: {
            str(c): median_of(sweep_runs, partial(work_throughput, task, 0.02, c, 25 * c))
            for c in (1, 2, 4, 8)
        }
        for kind, task in (("io", tasks.sleep), ("cpu", tasks.spin))
    }
    return results


def main() -> None:
    """Measure against CELERY_BROKER_URL and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    print(json.dumps(measure(arguments.runs, arguments.quick)))


if __name__ == "__main__":
    main()
