"""The rules of ``preflight``: each finds one configuration mistake an operator can make.

A rule looks at a :class:`Subject` (the effective Celery configuration, the
service's settings, the environment and the tasks) and yields a :class:`Finding`
for each problem: what is wrong, why it matters and how to fix it. A rule exists
only for a mistake the environment or a task's own options can make: what the
settings refuse at start-up, or what no variable can change, needs none.

A service adds rules of its own with the :func:`rule` decorator, in a module it
names as an entry point of the group :data:`ENTRY_POINT_GROUP` in its
``pyproject.toml``; ``preflight`` loads those modules before it runs the rules.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import SimpleNamespace
from typing import Any, Literal

from celery import Task

from ..reliability.guards import guards_of
from ..settings import RABBITMQ_CONSUMER_TIMEOUT, Settings, longest_reservation
from .flower import flower_problems

Severity = Literal["error", "warning"]

# Not Celery settings, however often they are written as if they were.
NOT_CELERY_SETTINGS = {
    "CELERY_TASK_MAX_RETRIES": "RETRY_MAX_RETRIES",
    "CELERY_TASK_DEFAULT_RETRY_DELAY": "RETRY_BACKOFF_BASE",
}


@dataclass(frozen=True)
class Finding:
    """One problem found: what, why, and how to fix it."""

    rule: str
    severity: Severity
    problem: str
    why: str
    fix: str


@dataclass(frozen=True)
class Subject:
    """What the rules look at: the effective configuration and its surroundings."""

    conf: Mapping[str, Any]
    settings: Settings
    environ: Mapping[str, str]
    tasks: Sequence[Task[Any, Any]]
    known_variables: frozenset[str]
    cpus: int
    baseline_kib: int
    #: Whether the environment is Flower's (its rules apply there only).
    for_flower: bool = False

    def time_limit(self, task: Task[Any, Any]) -> float | None:
        """The hard time limit a task runs with."""
        limit = task.time_limit or self.conf.get("task_time_limit")
        return float(limit) if limit else None

    def soft_time_limit(self, task: Task[Any, Any]) -> float | None:
        """The soft time limit a task runs with."""
        limit = task.soft_time_limit or self.conf.get("task_soft_time_limit")
        return float(limit) if limit else None

    def longest_time_limit(self) -> float:
        """The longest hard time limit of any task (or the app's)."""
        limits = [self.time_limit(task) or 0.0 for task in self.tasks]
        return max([float(self.conf.get("task_time_limit") or 0), *limits])

    @property
    def broker_is_redis(self) -> bool:
        """Whether the broker is Redis."""
        return self.settings.broker_is_redis


Rule = Callable[[Subject], Iterable[Finding]]
RULES: list[Rule] = []
#: The entry-point group naming the modules of a service's own rules.
ENTRY_POINT_GROUP = "celery_service_kit.preflight_rules"


def rule(check: Rule) -> Rule:
    """Register a rule (rules run in the order they are registered)."""
    if check not in RULES:
        RULES.append(check)
    return check


def load_service_rules() -> list[str]:
    """Import the modules of the installed services' rules (:data:`ENTRY_POINT_GROUP`).

    Importing a module registers its rules; returns the entry points' names.
    """
    found = entry_points(group=ENTRY_POINT_GROUP)
    for entry_point in found:
        entry_point.load()
    return sorted(entry_point.name for entry_point in found)


@rule
def prefetch_with_long_tasks(subject: Subject) -> Iterable[Finding]:
    """Prefetching several messages per process when tasks may run long."""
    multiplier = subject.conf.get("worker_prefetch_multiplier") or 1
    limit = subject.longest_time_limit()
    short = subject.settings.short_tasks_time_limit
    if multiplier > 1 and limit > short:
        yield Finding(
            "prefetch-with-long-tasks",
            "warning",
            f"worker_prefetch_multiplier is {multiplier}; tasks may run {limit:g} s, "
            f"more than SHORT_TASKS_TIME_LIMIT ({short} s)",
            "each process reserves that many messages; behind a long task they wait while "
            "other workers stand idle",
            "run the workers of long tasks with WORKER_PROFILE=long-tasks (prefetch 1)",
        )


@rule
def prefetch_without_acks_late(subject: Subject) -> Iterable[Finding]:
    """Prefetching without late acknowledgement."""
    multiplier = subject.conf.get("worker_prefetch_multiplier") or 0
    if multiplier != 1 and not subject.conf.get("task_acks_late"):
        yield Finding(
            "prefetch-without-acks-late",
            "warning",
            f"worker_prefetch_multiplier is {multiplier} without task_acks_late",
            "with early acknowledgement a started task no longer counts against the prefetch: "
            "each process holds its running task and that many more, and loses the running one "
            "if it dies",
            "set CELERY_TASK_ACKS_LATE=true; WORKER_PROFILE=long-tasks reserves one per process",
        )


@rule
def acks_early(subject: Subject) -> Iterable[Finding]:
    """Acknowledging messages before the task ran."""
    if not subject.conf.get("task_acks_late"):
        yield Finding(
            "acks-early",
            "warning",
            "task_acks_late is off",
            "the message is acknowledged when the task starts: a worker that dies mid-task "
            "loses the task",
            "set CELERY_TASK_ACKS_LATE=true and make tasks idempotent (see reliability)",
        )


@rule
def acks_late_without_worker_lost(subject: Subject) -> Iterable[Finding]:
    """Late acknowledgement that still acknowledges a task whose process was killed."""
    conf = subject.conf
    lost_handled = conf.get("task_reject_on_worker_lost") or conf.get("task_retry_on_worker_lost")
    if conf.get("task_acks_late") and not lost_handled:
        yield Finding(
            "acks-late-without-worker-lost",
            "error",
            "task_acks_late without task_retry_on_worker_lost or task_reject_on_worker_lost",
            "a pool process killed mid-task (out of memory, SIGKILL) gets its task acknowledged "
            "as failed: it never runs again",
            "set CELERY_TASK_RETRY_ON_WORKER_LOST=true (and _REJECT_ON_WORKER_LOST=true)",
        )


@rule
def reject_without_retry(subject: Subject) -> Iterable[Finding]:
    """Requeueing a killed task with no bound on how often."""
    conf = subject.conf
    if conf.get("task_reject_on_worker_lost") and not conf.get("task_retry_on_worker_lost"):
        yield Finding(
            "worker-lost-requeue-loop",
            "warning",
            "task_reject_on_worker_lost without task_retry_on_worker_lost",
            "a message that kills its process is requeued at once, forever: a poison message "
            "loops through every worker",
            "set CELERY_TASK_RETRY_ON_WORKER_LOST=true: the re-send counts as a retry",
        )


@rule
def soft_not_below_hard(subject: Subject) -> Iterable[Finding]:
    """A task's soft time limit that cannot fire before its hard one."""
    for task in subject.tasks:  # the settings refuse such limits for the service
        soft, hard = subject.soft_time_limit(task), subject.time_limit(task)
        if soft is not None and hard is not None and soft >= hard:
            yield Finding(
                "soft-limit-not-below-hard",
                "error",
                f"{task.name}: soft time limit {soft} s is not below the hard limit {hard} s",
                "the process is killed before SoftTimeLimitExceeded can let the task clean up",
                "make the soft limit lower, e.g. 90% of the hard limit",
            )


@rule
def visibility_timeout_too_short(subject: Subject) -> Iterable[Finding]:
    """Redis: a visibility timeout that redelivers tasks still running or waiting."""
    if not subject.broker_is_redis:
        return
    options = subject.conf.get("broker_transport_options") or {}
    visibility = float(options.get("visibility_timeout", 3600))
    prefetch = int(subject.conf.get("worker_prefetch_multiplier") or 1)
    needed = longest_reservation(
        subject.longest_time_limit(), prefetch, subject.settings.retry_backoff_max
    )
    if visibility < needed:
        yield Finding(
            "visibility-timeout-too-short",
            "error",
            f"Redis visibility_timeout is {visibility:.0f} s; tasks need {needed:.0f} s "
            f"(prefetch {prefetch} x the longest hard time limit with the lock margin, plus "
            "the longest retry delay)",
            "Redis delivers a reserved message again after this long, even while it runs or "
            "waits for its countdown: the task runs twice, at the same time",
            f"unset BROKER_VISIBILITY_TIMEOUT (derived) or set it above {needed:.0f}",
        )


@rule
def rabbitmq_consumer_timeout(subject: Subject) -> Iterable[Finding]:
    """RabbitMQ: messages held longer than its consumer_timeout."""
    if subject.broker_is_redis:
        return
    held = subject.longest_time_limit()
    # On quorum queues a retry's delay waits in RabbitMQ, not in a worker.
    delay = 0.0 if subject.settings.quorum_queues else subject.settings.retry_backoff_max
    if held + delay >= RABBITMQ_CONSUMER_TIMEOUT:
        yield Finding(
            "rabbitmq-consumer-timeout",
            "warning",
            f"a message may stay unacknowledged {held + delay:.0f} s (time limit + retry delay)",
            "RabbitMQ closes the channel of a message unacknowledged past consumer_timeout "
            f"(default {RABBITMQ_CONSUMER_TIMEOUT} s) and delivers it again",
            "shorten the limits, or raise consumer_timeout in rabbitmq.conf above that",
        )


@rule
def retry_delay_beyond_countdown_limit(subject: Subject) -> Iterable[Finding]:
    """Tasks whose retries wait longer than the broker holds a waiting message."""
    longest = subject.settings.longest_countdown
    for task in subject.tasks:
        delay = getattr(task, "retry_backoff_max", None)
        if isinstance(delay, int | float) and delay > longest:
            yield Finding(
                "retry-delay-beyond-countdown-limit",
                "error",
                f"{task.name}: retries wait up to {delay:g} s (retry_backoff_max), the broker "
                f"holds a waiting message {longest} s at most",
                "the broker takes the message back while it waits, so the retry is sent "
                "twice; the service refuses such a countdown when it is sent",
                f"lower the task's retry_backoff_max to {longest} s or less, or raise "
                "BROKER_VISIBILITY_TIMEOUT (Redis)",
            )


@rule
def rate_limit_per_worker(subject: Subject) -> Iterable[Finding]:
    """Celery's rate_limit, which each worker applies on its own (celery#5732)."""
    for task in subject.tasks:
        if not task.rate_limit:
            continue
        yield Finding(
            "rate-limit-per-worker",
            "warning",
            f"{task.name}: rate_limit={task.rate_limit!r} holds per worker, not for the service",
            "every worker (and each restart) gets the whole rate: ten workers call a "
            "dependency ten times as often",
            "use @rate_limited(dependency, limit) from reliability, shared through Redis",
        )


@rule
def priority_on_quorum_queues(subject: Subject) -> Iterable[Finding]:
    """A task priority on quorum queues, which have none: each send would be refused."""
    if not subject.settings.quorum_queues:
        return
    for task in subject.tasks:
        if task.priority:
            yield Finding(
                "priority-on-quorum-queues",
                "error",
                f"{task.name}: priority={task.priority} on quorum queues",
                "quorum queues do not order messages by priority; the service refuses a "
                "message sent with one (PriorityNotSupportedError)",
                "remove the task's priority; send urgent work to the critical queue",
            )


@rule
def lock_timeout_not_above_limit(subject: Subject) -> Iterable[Finding]:
    """Locks that could expire while their task still runs."""
    for task in subject.tasks:
        limit = subject.time_limit(task)
        for guard in guards_of(task.run):
            timeout = getattr(guard, "timeout", None)
            if timeout is not None and limit is not None and timeout <= limit:
                yield Finding(
                    "lock-timeout-not-above-limit",
                    "error",
                    f"{task.name}: lock timeout {timeout} s is not above its hard limit {limit} s",
                    "the lock can expire while the task runs, and a second run takes it",
                    "leave task_lock's timeout unset (derived) or raise it above the limit",
                )


@rule
def chords_without_expiry(subject: Subject) -> Iterable[Finding]:
    """Chord state that expires with the results."""
    conf = subject.conf
    chord_expires = conf.get("result_chord_expires") or 0
    if conf.get("result_backend") and chord_expires <= (conf.get("result_expires") or 0):
        yield Finding(
            "chords-without-expiry",
            "warning",
            "result_chord_expires is not above result_expires",
            "a chord running longer than result_expires loses its state and never calls back",
            "set CELERY_RESULT_CHORD_EXPIRES above the longest chord",
        )


@rule
def flower_open_in_production(subject: Subject) -> Iterable[Finding]:
    """Flower in production without authentication or a cookie secret."""
    if not subject.for_flower:
        return
    environ = subject.environ
    # As Flower reads them: FLOWER_BASIC_AUTH is a comma-separated list of user:password.
    basic_auth = environ.get("FLOWER_BASIC_AUTH")
    options = SimpleNamespace(
        basic_auth=basic_auth.split(",") if basic_auth else None, auth=environ.get("FLOWER_AUTH")
    )
    for problem in flower_problems(subject.settings, options, environ):
        yield Finding(
            "flower-open-in-production",
            "error",
            problem.split(":")[0],
            problem,
            "set the FLOWER_* variables in Flower's environment (see .env.example)",
        )


@rule
def memory_limit_below_baseline(subject: Subject) -> Iterable[Finding]:
    """A memory bound that an idle pool process already exceeds."""
    limit = subject.conf.get("worker_max_memory_per_child")
    if limit and limit < 2 * subject.baseline_kib:
        yield Finding(
            "memory-limit-below-baseline",
            "error" if limit <= subject.baseline_kib else "warning",
            f"worker_max_memory_per_child is {limit} KiB; a pool process starts at about "
            f"{subject.baseline_kib} KiB (measured here)",
            "the bound is peak resident memory including what a process inherits: below "
            "twice the start it replaces processes after almost every task",
            f"set CELERY_WORKER_MAX_MEMORY_PER_CHILD well above {subject.baseline_kib} (KiB)",
        )


@rule
def concurrency_out_of_range(subject: Subject) -> Iterable[Finding]:
    """Concurrency far from cores-1 ... cores x 2, the range that suits CPU-bound tasks."""
    concurrency = subject.conf.get("worker_concurrency") or subject.cpus
    low, high = max(1, subject.cpus - 1), subject.cpus * 2
    if not low <= concurrency <= high:
        yield Finding(
            "concurrency-out-of-range",
            "warning",
            f"worker_concurrency is {concurrency} on {subject.cpus} CPUs (expected {low}-{high})",
            "too many processes thrash and run out of memory; too few leave queues growing",
            "size CELERY_WORKER_CONCURRENCY by measurement (make bench); more only for I/O",
        )


@rule
def unknown_celery_variables(subject: Subject) -> Iterable[Finding]:
    """CELERY_* variables that nothing reads (Celery ignores them silently)."""
    for name in sorted(subject.environ):
        if not name.startswith("CELERY") or name in subject.known_variables:
            continue
        if name in NOT_CELERY_SETTINGS:
            fix = f"use {NOT_CELERY_SETTINGS[name]} (applied by ServiceTask)"
        elif close := difflib.get_close_matches(name, subject.known_variables, n=1, cutoff=0.8):
            fix = f"did you mean {close[0]}?"
        else:
            fix = "remove it, or add the setting to the service's settings.py"
        yield Finding(
            "unknown-celery-variable",
            "error",
            f"{name} is not a setting of this service or of Celery",
            "Celery ignores unknown names silently: the value you meant is not in effect",
            fix,
        )


@rule
def events_off(subject: Subject) -> Iterable[Finding]:
    """Task events that monitoring needs."""
    conf = subject.conf
    off = [n for n in ("worker_send_task_events", "task_send_sent_event") if not conf.get(n)]
    if off:
        yield Finding(
            "task-events-off",
            "warning",
            f"{', '.join(off)} off",
            "Flower and its Prometheus metrics see nothing of tasks without events",
            "set CELERY_WORKER_SEND_TASK_EVENTS=true and CELERY_TASK_SEND_SENT_EVENT=true",
        )


@rule
def no_recycling(subject: Subject) -> Iterable[Finding]:
    """Pool processes that live forever."""
    if not subject.conf.get("worker_max_tasks_per_child"):
        yield Finding(
            "no-recycling",
            "warning",
            "worker_max_tasks_per_child is not set",
            "a slow leak in task code grows until the machine swaps",
            "set CELERY_WORKER_MAX_TASKS_PER_CHILD (500-2000)",
        )


def preflight(subject: Subject) -> list[Finding]:
    """Run every rule."""
    return [finding for check in RULES for finding in check(subject)]
