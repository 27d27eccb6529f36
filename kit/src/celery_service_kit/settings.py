"""The settings base of a service: production-safe defaults and the formulas between them.

A service subclasses :class:`Settings` once per environment (its own defaults and
variables, see the service's ``settings.py``); :func:`~.environments.load_settings`
picks the class ``APP_ENV`` names. Every field is read from the environment
variable of the same name in upper case: ``celery_task_time_limit`` is
``CELERY_TASK_TIME_LIMIT``. Fields named ``celery_<setting>`` set Celery's
``<setting>`` (see ``celery_config.py``); the others are the kit's own. A value that
does not validate, or contradicts another, stops the service at start-up with a
message naming the variable. The derived values (visibility timeout, longest
countdown, shutdown allowance, memory bound) have one home each: the properties
below, which the Celery configuration, preflight and the deploy-file tests read.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Self, get_args
from urllib.parse import urlsplit

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

AppEnv = Literal["development", "production", "test"]
# Seconds: a number, and a finite one ("inf" and "nan" parse as floats).
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeSeconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
LogFormat = Literal["text", "json"]
WorkerProfile = Literal["long-tasks", "short-tasks"]
QueueType = Literal["classic", "quorum"]

REDIS_SCHEMES = frozenset({"redis", "rediss"})
AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})

# Seconds a broker connection attempt may take (kombu's socket_connect_timeout on
# Redis, Celery's broker_connection_timeout on RabbitMQ): a broker that does not
# answer is a failed attempt, retried, not a worker hanging in connect().
BROKER_CONNECT_TIMEOUT = 4.0

# RabbitMQ's consumer_timeout (rabbitmq.conf; 30 minutes unless changed there): a
# message unacknowledged for longer is taken back and its channel closed.
RABBITMQ_CONSUMER_TIMEOUT = 1800

# Seconds RabbitMQ can hold a countdown with Celery's native delayed delivery (quorum
# queues): 28 levels of binary delay, about 8.5 years.
NATIVE_DELAYED_DELIVERY_MAX_SECONDS = 2**28 - 1

# KiB of resident memory a worker's main process is allowed for: measured at about
# 69 MiB with this template's app (config/celery_config.py), with room to grow.
MAIN_PROCESS_KIB = 131_072

# Celery's command line reads it as --prefetch-multiplier; the worker profile sets it.
PREFETCH_VARIABLE = "CELERY_WORKER_PREFETCH_MULTIPLIER"

# Room between the hard time limit plus the longest retry delay and the Redis
# visibility timeout: covers kombu's restore sweep and clock differences.
VISIBILITY_MARGIN_SECONDS = 300


def available_cpus() -> int:
    """CPUs this process may run on (respects CPU affinity, e.g. ``taskset``/cpusets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def outlasting(time_limit: float) -> int:
    """Seconds a lock or claim lives to outlast a run limited to ``time_limit``.

    The hard time limit ends the run, so the key never expires under a live run;
    the margin covers the moments between taking the key and the limit's start.
    """
    return int(time_limit + max(5.0, time_limit / 10))


def longest_reservation(time_limit: float, prefetch_multiplier: int, retry_delay: float) -> int:
    """Seconds a worker with late acks may hold a message before it acknowledges it.

    A process reserves ``prefetch_multiplier`` messages: the last waits for the runs
    of the others, then runs itself, each ending by the hard time limit (its keys
    outlasting it, :func:`outlasting`); a retry is reserved at once and waits its
    countdown, at most ``retry_delay``, first. The Redis visibility timeout must
    exceed it, or Redis delivers the message again while it waits or runs.
    """
    return prefetch_multiplier * outlasting(time_limit) + math.ceil(retry_delay)


class ProfileLimits(NamedTuple):
    """How many messages a worker process reserves, and how long each may run."""

    prefetch_multiplier: int
    soft_time_limit: int
    time_limit: int


def url_scheme(url: str) -> str:
    """The scheme of a broker or Redis URL, e.g. ``redis`` or ``amqp``."""
    return urlsplit(url).scheme.lower()


def checked_url(url: str, schemes: frozenset[str], expected: str) -> str:
    """``url`` if it has one of ``schemes`` and a host and port that parse; else ValueError."""
    if url_scheme(url) not in schemes:
        raise ValueError(f"use {expected}")
    try:
        urlsplit(url).port  # noqa: B018 - parsing it raises for a port that is not a number
    except ValueError as error:
        raise ValueError(f"the port is not a number from 0 to 65535 ({error})") from None
    return url


class Settings(BaseSettings):
    """A service's configuration: production defaults, overridable per variable.

    Subclass it to change a default (a field with a new default value) or to add a
    setting of the service's own (a new field): the formulas and checks below apply
    to the subclass's values.
    """

    model_config = SettingsConfigDict(case_sensitive=False, frozen=True, extra="ignore")

    app_env: AppEnv = "production"

    # --- Connections -------------------------------------------------------
    celery_broker_url: str = "redis://localhost:6379/0"
    # Results live in their own Redis database, apart from the broker's keys.
    celery_result_backend: str | None = "redis://localhost:6379/1"
    # Locks, idempotency claims and dead letters (always Redis, whatever the broker).
    redis_url: str = "redis://localhost:6379/2"
    celery_broker_connection_max_retries: NonNegativeInt = 10
    # Seconds a Redis command (broker, results, the service's store) may wait for its
    # reply: a Redis that stops answering without closing the connection (a network
    # partition, a frozen host) fails the command instead of hanging the worker.
    redis_socket_timeout: PositiveSeconds = 10.0
    # Seconds between checks of idle Redis connections (redis-py's health check, and
    # kombu's of a consumer's BRPOP: one overdue by this plus 1 s is reconnected).
    redis_health_check_interval: PositiveInt = 25

    # --- Worker ------------------------------------------------------------
    celery_worker_concurrency: PositiveInt = Field(default_factory=available_cpus)
    celery_worker_max_tasks_per_child: PositiveInt | None = 1000
    # KiB of peak resident memory per pool child; see celery_config.py.
    celery_worker_max_memory_per_child: PositiveInt | None = 200_000
    celery_worker_soft_shutdown_timeout: NonNegativeSeconds = 60.0
    # Messages a worker may hold at once, countdown and ETA tasks included (each such
    # task raises its prefetch by one until it starts); see celery_config.py.
    celery_worker_eta_task_limit: PositiveInt | None = 1000
    celery_worker_send_task_events: bool = True

    # --- Tasks -------------------------------------------------------------
    celery_task_acks_late: bool = True
    celery_task_reject_on_worker_lost: bool = True
    celery_task_retry_on_worker_lost: bool = True
    celery_task_time_limit: PositiveInt = 300
    celery_task_soft_time_limit: PositiveInt = 270
    celery_task_send_sent_event: bool = True

    # --- Worker profiles (set per worker group in the deploy files) ----------
    # long-tasks: each process reserves one message, so no task waits behind another
    # while a worker is free; tasks run up to CELERY_TASK_TIME_LIMIT.
    # short-tasks: each process reserves SHORT_TASKS_PREFETCH_MULTIPLIER messages
    # (late acks still on: a dead worker's reserved messages are all delivered again),
    # and its tasks run up to SHORT_TASKS_TIME_LIMIT, which bounds how long a reserved
    # message waits. See Settings.profiles and the visibility timeout derived from both.
    worker_profile: WorkerProfile = "long-tasks"
    short_tasks_prefetch_multiplier: PositiveInt = 4
    short_tasks_time_limit: PositiveInt = 60
    short_tasks_soft_time_limit: PositiveInt = 54

    # --- Results -----------------------------------------------------------
    celery_result_expires: PositiveInt = 3600
    celery_result_chord_expires: PositiveInt = 86_400

    # --- Redis broker ------------------------------------------------------
    # Unset: derived from the time limit and the longest retry delay.
    broker_visibility_timeout: PositiveInt | None = None
    # One redis-py client per channel for publishes, events and acks instead of a new
    # one per call (redis_transport.py); false restores kombu's behaviour.
    redis_shared_client: bool = True

    # --- RabbitMQ broker ---------------------------------------------------
    # classic, or quorum: replicated, durable queues (see routing.py). Quorum queues
    # need a RabbitMQ broker, and an existing queue keeps the type it was declared with.
    rabbitmq_queue_type: QueueType = "classic"

    # --- Retries of transient errors (Celery has no global setting for them) -
    retry_max_retries: NonNegativeInt = 3
    retry_backoff_base: PositiveSeconds = 60.0
    retry_backoff_max: PositiveSeconds = 600.0

    # --- Sending ------------------------------------------------------------
    # A task whose serialized arguments are larger is refused when sent (publishing.py).
    task_max_payload_bytes: PositiveInt = 1_048_576

    # --- Idempotency and dead letters (reliability/) ------------------------
    # Seconds a finished key's result is kept: duplicates within it get the result.
    idempotency_ttl: PositiveInt = 7 * 24 * 3600
    # Dead letters kept in the stream: the newest this many, none older than this.
    dead_letter_maxlen: PositiveInt = 10_000
    dead_letter_max_age_days: PositiveInt = 30
    # Each field of a dead letter (arguments, traceback, a rejected body) is cut here.
    dead_letter_max_field_chars: PositiveInt = 16_384
    # Where dead letters wait while the service's Redis does not answer (unset: a
    # directory named after the package in the system's temporary directory).
    dead_letter_spool_dir: Path | None = None

    # --- Flower ------------------------------------------------------------
    # Serve Flower's and the exporter's /metrics without authentication (a deliberate choice).
    metrics_without_auth: bool = False

    # --- Queue metrics exporter (ops/exporter.py) ---------------------------
    # Every interface: in a container the scraper comes from outside.
    exporter_address: str = "0.0.0.0"
    exporter_port: Annotated[int, Field(ge=0, le=65_535)] = 9808
    # user:password that /metrics asks for; required in production (see the exporter).
    exporter_basic_auth: SecretStr | None = None
    # Seconds each scrape waits for the broker and for Redis.
    exporter_scrape_timeout: PositiveSeconds = 5.0

    # --- Health marks (health/) -------------------------------------------
    # Where the worker and beat leave the marks the probe command reads: a writable
    # directory (with a read-only root filesystem, a volume mounted there). Unset: a
    # directory named after the package in the system's temporary directory.
    health_dir: Path | None = None
    # Seconds between heartbeats of a running worker.
    health_heartbeat_interval: PositiveSeconds = 10.0
    # Seconds a heartbeat may be late before the probe reports the process not live.
    health_liveness_window: PositiveSeconds = 30.0

    # --- Logging -----------------------------------------------------------
    log_format: LogFormat = "json"
    # Each log record's message, traceback and task arguments are cut here.
    log_max_chars: PositiveInt = 16_384

    @field_validator("*", mode="before")
    @classmethod
    def _empty_means_none(cls, value: Any, info: ValidationInfo) -> Any:
        # CELERY_WORKER_MAX_TASKS_PER_CHILD= (empty) turns an optional setting off.
        annotation = cls.model_fields[info.field_name or ""].annotation
        if value == "" and type(None) in get_args(annotation):
            return None
        return value

    @field_validator("celery_broker_url")
    @classmethod
    def _known_broker(cls, url: str) -> str:
        expected = "a redis://, rediss://, amqp:// or amqps:// URL"
        return checked_url(url, REDIS_SCHEMES | AMQP_SCHEMES, expected)

    @field_validator("celery_result_backend")
    @classmethod
    def _redis_results(cls, url: str | None) -> str | None:
        expected = "a redis:// or rediss:// URL, or leave it empty for no results"
        return url if url is None else checked_url(url, REDIS_SCHEMES, expected)

    @field_validator("redis_url")
    @classmethod
    def _redis_store(cls, url: str) -> str:
        return checked_url(url, REDIS_SCHEMES, "a redis:// or rediss:// URL")

    @model_validator(mode="after")
    def _prefetch_by_profile(self) -> Self:
        # Celery's command line reads this variable itself (click's name for
        # --prefetch-multiplier): it would override the profile's prefetch unseen.
        if os.environ.get(PREFETCH_VARIABLE):
            raise ValueError(
                f"{PREFETCH_VARIABLE} is not used: set WORKER_PROFILE instead (long-tasks: 1, "
                "short-tasks: SHORT_TASKS_PREFETCH_MULTIPLIER); the visibility timeout is "
                "derived from the profiles"
            )
        return self

    @model_validator(mode="after")
    def _limits_are_consistent(self) -> Self:
        if self.celery_task_soft_time_limit >= self.celery_task_time_limit:
            raise ValueError(
                "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT, "
                "or the cleanup that the soft limit allows never gets to run"
            )
        if self.short_tasks_soft_time_limit >= self.short_tasks_time_limit:
            raise ValueError(
                "SHORT_TASKS_SOFT_TIME_LIMIT must be below SHORT_TASKS_TIME_LIMIT, "
                "or the cleanup that the soft limit allows never gets to run"
            )
        if self.short_tasks_time_limit > self.celery_task_time_limit:
            raise ValueError(
                "SHORT_TASKS_TIME_LIMIT must not exceed CELERY_TASK_TIME_LIMIT: the stop "
                "grace periods and locks are sized by the longer limit"
            )
        longest_wait = max(BROKER_CONNECT_TIMEOUT, self.redis_socket_timeout)
        if self.health_liveness_window <= longest_wait:
            raise ValueError(
                f"HEALTH_LIVENESS_WINDOW must be above {longest_wait:g} s, the longest a "
                "connection attempt or a Redis command waits (REDIS_SOCKET_TIMEOUT): an "
                "outage must not make the worker look dead"
            )
        held = self.celery_worker_concurrency * self.worker_limits.prefetch_multiplier
        eta_limit = self.celery_worker_eta_task_limit
        if eta_limit is not None and eta_limit <= held:
            raise ValueError(
                f"CELERY_WORKER_ETA_TASK_LIMIT must be above {held} (concurrency x prefetch "
                "multiplier): at or below it, a worker holding countdown tasks takes no other"
            )
        if self.rabbitmq_queue_type == "quorum" and self.broker_is_redis:
            raise ValueError(
                "RABBITMQ_QUEUE_TYPE=quorum needs a RabbitMQ broker: CELERY_BROKER_URL is a "
                "Redis URL, and Redis has no queue types"
            )
        if self.retry_backoff_base > self.retry_backoff_max:
            raise ValueError("RETRY_BACKOFF_BASE must not exceed RETRY_BACKOFF_MAX")
        if (
            self.broker_visibility_timeout is not None
            and self.broker_visibility_timeout < self.minimum_visibility_timeout
        ):
            raise ValueError(
                f"BROKER_VISIBILITY_TIMEOUT must be at least {self.minimum_visibility_timeout} s "
                "(CELERY_TASK_TIME_LIMIT, or SHORT_TASKS_PREFETCH_MULTIPLIER x "
                "SHORT_TASKS_TIME_LIMIT, with the margin of locks and claims, plus "
                "RETRY_BACKOFF_MAX): Redis redelivers a task still waiting, running or "
                "counting down after this many seconds"
            )
        return self

    @property
    def broker_is_redis(self) -> bool:
        """Whether the broker is Redis (rather than RabbitMQ)."""
        return url_scheme(self.celery_broker_url) in REDIS_SCHEMES

    @property
    def quorum_queues(self) -> bool:
        """Whether the queues are RabbitMQ quorum queues."""
        return self.rabbitmq_queue_type == "quorum"

    @property
    def profiles(self) -> dict[WorkerProfile, ProfileLimits]:
        """What each worker profile reserves and allows a task (one home for both)."""
        return {
            "long-tasks": ProfileLimits(
                prefetch_multiplier=1,
                soft_time_limit=self.celery_task_soft_time_limit,
                time_limit=self.celery_task_time_limit,
            ),
            "short-tasks": ProfileLimits(
                prefetch_multiplier=self.short_tasks_prefetch_multiplier,
                soft_time_limit=self.short_tasks_soft_time_limit,
                time_limit=self.short_tasks_time_limit,
            ),
        }

    @property
    def worker_limits(self) -> ProfileLimits:
        """The prefetch and time limits of this process's profile (WORKER_PROFILE)."""
        return self.profiles[self.worker_profile]

    @property
    def shutdown_allowance(self) -> float:
        """Seconds a worker's shutdown may take: the hard time limit, then the soft shutdown.

        Stop grace periods (compose, systemd, Kubernetes) must exceed it, and the
        worker stays live this long once its shutdown started (health/worker.py).
        """
        return self.celery_task_time_limit + self.celery_worker_soft_shutdown_timeout

    @property
    def longest_countdown(self) -> int:
        """Seconds a countdown or ETA may be: the task must start and end in time.

        The broker takes a reserved message back (Redis after the visibility timeout,
        RabbitMQ after its ``consumer_timeout``), counted from when a worker reserves
        it, at once for a countdown task; a run outlasts the hard time limit. On
        quorum queues the broker holds a countdown task itself until it is due.
        """
        if self.quorum_queues:  # RabbitMQ holds it until due: native delayed delivery
            return NATIVE_DELAYED_DELIVERY_MAX_SECONDS
        held = self.visibility_timeout if self.broker_is_redis else RABBITMQ_CONSUMER_TIMEOUT
        return held - outlasting(self.celery_task_time_limit)

    @property
    def memory_bound_kib(self) -> int | None:
        """KiB a worker stays under while its pool processes recycle at their bound.

        The main process plus every pool process at CELERY_WORKER_MAX_MEMORY_PER_CHILD
        (a process past it is replaced after its task). A container's memory limit must
        exceed it, or the OOM killer comes before recycling. None without the bound.
        """
        if self.celery_worker_max_memory_per_child is None:
            return None
        pool = self.celery_worker_concurrency * self.celery_worker_max_memory_per_child
        return MAIN_PROCESS_KIB + pool

    @property
    def minimum_visibility_timeout(self) -> int:
        """The longest a message may stay reserved under any profile (:func:`longest_reservation`).

        Counting the margin of locks and claims too means a message redelivered after
        its worker died finds what that worker held already expired. Every worker on
        one Redis broker must derive the same value, whatever its own profile: it is
        each worker's kombu that takes back the messages reserved longer than that,
        whoever reserved them.
        """
        return max(
            longest_reservation(
                limits.time_limit, limits.prefetch_multiplier, self.retry_backoff_max
            )
            for limits in self.profiles.values()
        )

    @property
    def visibility_timeout(self) -> int:
        """The Redis visibility timeout in effect (explicit, or derived with a margin)."""
        if self.broker_visibility_timeout is not None:
            return self.broker_visibility_timeout
        return self.minimum_visibility_timeout + VISIBILITY_MARGIN_SECONDS


class SentrySettings(BaseSettings):
    """The settings of error tracking with Sentry (``error_tracking.py``).

    A mixin for a service that reports to Sentry: ``class Settings(SentrySettings,
    kit.Settings)``. Only such a service reads (and documents) these variables.
    """

    # Where failures are reported (Settings > Client Keys in Sentry); unset: nowhere.
    sentry_dsn: SecretStr | None = None
    # The environment reports are filed under; unset: APP_ENV.
    sentry_environment: str | None = None
    # Send task arguments and local variables with reports (they may be personal data).
    sentry_send_task_arguments: bool = False
