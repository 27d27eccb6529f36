"""The Celery configuration of a service, built from its :class:`~.settings.Settings`.

Every setting says why it has its value, with the link to its entry in the
Celery documentation. Names are Celery 5 lowercase settings; Celery ignores
unknown names silently, so nothing here is spelled from memory:
``suite/unit/test_celery_config.py`` checks each name against Celery's own list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import routing
from .settings import BROKER_CONNECT_TIMEOUT, Settings

# Log formats: the process, and for task records the task's name and id.
WORKER_LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"
TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s][%(task_name)s(%(task_id)s)] %(message)s"
)


def celery_config(settings: Settings, package: str, queues: Sequence[str]) -> dict[str, Any]:
    """The Celery settings of the service whose tasks live in ``package``, with ``queues``."""
    priorities = routing.priority_levels(settings.broker_is_redis, settings.quorum_queues)
    limits = settings.worker_limits
    config: dict[str, Any] = {
        # --- Broker connection ---------------------------------------------
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_url
        "broker_url": settings.celery_broker_url,
        # Retry at start-up too: the broker may come up after the worker.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_connection_retry_on_startup
        "broker_connection_retry_on_startup": True,
        # Reconnect after a lost connection instead of exiting at once.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_connection_retry
        "broker_connection_retry": True,
        # kombu waits 2, 4, 6 ... (capped at 30) s between attempts: 10 attempts is about
        # 110 s, then the worker exits and its supervisor restarts it (0 = forever).
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_connection_max_retries
        "broker_connection_max_retries": settings.celery_broker_connection_max_retries,
        # A connection attempt that gets no answer fails after this many seconds and is
        # retried (the worker stays live meanwhile, health/worker.py). RabbitMQ; Redis
        # has socket_connect_timeout below.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_connection_timeout
        "broker_connection_timeout": BROKER_CONNECT_TIMEOUT,
        # --- Serialization -------------------------------------------------
        # JSON only: pickle would run code from anyone who can publish to the broker.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-accept_content
        "accept_content": ["json"],
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_serializer
        "task_serializer": "json",
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-result_serializer
        "result_serializer": "json",
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-result_accept_content
        "result_accept_content": ["json"],
        # --- Queues and routing (see routing.py) ---------------------------
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_queues
        "task_queues": routing.task_queues(queues, settings.quorum_queues),
        # Unrouted tasks go to "default", never to Celery's implicit "celery" queue.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_default_queue
        "task_default_queue": routing.DEFAULT_QUEUE,
        # A task routed to an undeclared queue fails at once instead of piling up in a
        # queue that no worker consumes.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_create_missing_queues
        "task_create_missing_queues": False,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_routes
        "task_routes": routing.task_routes(package, queues, priorities.normal),
        # Every module of <package>.tasks, found on disk.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-imports
        "imports": routing.task_modules(package),
        # Unprioritised messages sit in the middle of the scale; on Redis they would
        # otherwise get 0, which is the highest priority there.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_default_priority
        "task_default_priority": priorities.normal,
        # --- Delivery guarantees -------------------------------------------
        # Acknowledge after the task ran: a worker that dies mid-task leaves the message
        # to be delivered again. acks_late does not retry tasks that raise.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_acks_late
        "task_acks_late": settings.celery_task_acks_late,
        # Messages each process reserves, by the worker's profile (WORKER_PROFILE): one
        # for long tasks, so that they do not hoard work other workers could start; a
        # few for short tasks, whose limit bounds the wait. With acks_late a worker
        # reserves exactly `concurrency` x this many.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_prefetch_multiplier
        "worker_prefetch_multiplier": limits.prefetch_multiplier,
        # A pool child killed mid-task (OOM, segfault) sends the task again as a counted
        # retry, so a message that always kills its child ends as a dead letter instead of
        # looping forever (Celery 5.7).
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_retry_on_worker_lost
        "task_retry_on_worker_lost": settings.celery_task_retry_on_worker_lost,
        # Fallback for the above if re-sending fails: requeue rather than acknowledge.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_reject_on_worker_lost
        "task_reject_on_worker_lost": settings.celery_task_reject_on_worker_lost,
        # On a lost broker connection the unacknowledged messages are delivered again
        # anyway: cancel their running copies so that two never run at once.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_cancel_long_running_tasks_on_connection_loss
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # A message the worker cannot run is rejected and recorded as a dead letter
        # instead of stopping the worker (consumer.py; the class overrides Celery's
        # private methods, so it lives in upstream.py).
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_consumer
        "worker_consumer": "celery_service_kit.upstream:Consumer",
        # --- Time limits ---------------------------------------------------
        # The pool child running a task is killed after this many seconds (the
        # profile's: CELERY_TASK_TIME_LIMIT, or SHORT_TASKS_TIME_LIMIT).
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_time_limit
        "task_time_limit": limits.time_limit,
        # SoftTimeLimitExceeded is raised first, leaving time to clean up.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_soft_time_limit
        "task_soft_time_limit": limits.soft_time_limit,
        # --- Worker processes ----------------------------------------------
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_concurrency
        "worker_concurrency": settings.celery_worker_concurrency,
        # Replace each child after this many tasks: bounds slow leaks in task code.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_max_tasks_per_child
        "worker_max_tasks_per_child": settings.celery_worker_max_tasks_per_child,
        # KiB of *peak* RSS, checked after each task, including pages inherited from the
        # parent: it must sit well above an idle child's footprint or every child is
        # replaced after every task (prefork pool only). Measured for this template: an
        # idle child ~57 MiB, the main process ~69 MiB; `preflight` measures it again.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_max_memory_per_child
        "worker_max_memory_per_child": settings.celery_worker_max_memory_per_child,
        # On SIGQUIT (or SIGTERM with REMAP_SIGTERM=SIGQUIT) give running tasks this long,
        # then requeue them unacknowledged; plain SIGTERM stays Celery's warm shutdown.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_soft_shutdown_timeout
        "worker_soft_shutdown_timeout": settings.celery_worker_soft_shutdown_timeout,
        # A countdown or ETA task is reserved at once and raises the worker's prefetch
        # by one until it is due: a flood of them would all sit in the worker's memory.
        # 1000 held messages are a few MiB (a message is a few KiB; TASK_MAX_PAYLOAD_BYTES
        # bounds the worst); the rest waits on the broker. It must stay above
        # concurrency x prefetch, or held countdown tasks would block every other task.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_eta_task_limit
        "worker_eta_task_limit": settings.celery_worker_eta_task_limit,
        # --- Monitoring ----------------------------------------------------
        # Task events feed Flower and its Prometheus metrics.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_send_task_events
        "worker_send_task_events": settings.celery_worker_send_task_events,
        # Read by the *publisher*: every process that imports this app sends it.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_send_sent_event
        "task_send_sent_event": settings.celery_task_send_sent_event,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_log_format
        "worker_log_format": WORKER_LOG_FORMAT,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_task_log_format
        "worker_task_log_format": TASK_LOG_FORMAT,
        # --- Results -------------------------------------------------------
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-result_backend
        "result_backend": settings.celery_result_backend,
        # The same dead-peer timeouts as the broker's (Celery waits 120 s by default).
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-redis_socket_timeout
        "redis_socket_timeout": settings.redis_socket_timeout,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-redis_socket_connect_timeout
        "redis_socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-redis_socket_keepalive
        "redis_socket_keepalive": True,
        # Store results only for tasks that opt in with ignore_result=False.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_ignore_result
        "task_ignore_result": True,
        # Stored results expire; Redis would otherwise keep them forever.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-result_expires
        "result_expires": settings.celery_result_expires,
        # Chord state outlives result_expires, so a chord longer than an hour still joins.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-result_chord_expires
        "result_chord_expires": settings.celery_result_chord_expires,
        # --- Time ----------------------------------------------------------
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-timezone
        "timezone": "UTC",
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-enable_utc
        "enable_utc": True,
    }
    config.update(broker_specific_settings(settings))
    return config


def redis_connection_options(settings: Settings) -> dict[str, Any]:
    """Options that make a Redis connection notice a dead or frozen peer.

    The broker's (kombu) and the service's store (redis-py, ``store.py``) take them alike.
    """
    return {
        "socket_timeout": settings.redis_socket_timeout,
        "socket_keepalive": True,
        "health_check_interval": settings.redis_health_check_interval,
    }


def broker_specific_settings(settings: Settings) -> dict[str, Any]:
    """Settings that differ between Redis and RabbitMQ."""
    if settings.broker_is_redis:
        return {
            # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_transport_options
            "broker_transport_options": {
                # Redis redelivers a reserved message after this many seconds, *also*
                # while it still runs or waits for its countdown: above the hard time
                # limit plus the longest retry delay (see Settings.visibility_timeout).
                # https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
                "visibility_timeout": settings.visibility_timeout,
                # Workers look for such messages every unacked_restore_interval seconds
                # (one indexed Redis query); a hundredth of the timeout keeps the extra
                # delay in proportion, where kombu's default (10 s x a throttle of 10)
                # adds up to ~100 s whatever the timeout.
                "unacked_restore_interval": max(1, settings.visibility_timeout // 100),
                "unacked_restore_throttle": 1,
                # One redis-py client per channel for publishes, events and acks, where
                # kombu builds a new client object per call (redis_transport.py).
                "shared_client": settings.redis_shared_client,
                # One list per priority level, see routing.py.
                # https://docs.celeryq.dev/en/stable/userguide/routing.html#redis-message-priorities
                "priority_steps": routing.REDIS_PRIORITY_STEPS,
                # Readable priority list names in redis-cli: "email:9" (level 0 is "email").
                "sep": ":",
                # Take turns between queues a worker consumes (priority still wins
                # within each turn); urgent work has its own workers on "critical",
                # so strict queue order would only starve the other queues.
                "queue_order_strategy": "round_robin",
                # A connection attempt that gets no answer fails, and is retried, after
                # this many seconds (kombu's default waits as long as the OS does).
                "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
                # A Redis that stops answering without closing the connection: a command
                # fails after socket_timeout instead of waiting forever, a consumer's
                # BRPOP overdue by health_check_interval + 1 s is reconnected, and TCP
                # keepalive notices a peer that vanished (see redis_connection_options).
                **redis_connection_options(settings),
            },
        }
    confirmed = {
        "broker_transport_options": {
            # Wait for RabbitMQ to confirm each published message, so that a task
            # acknowledged to the caller is on the broker.
            # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_transport_options
            "confirm_publish": True,
        },
    }
    if settings.quorum_queues:
        return {
            **confirmed,
            # The queues are quorum queues (routing.task_queues); so is any queue Celery
            # declares by itself. Quorum queues take no x-max-priority.
            # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_default_queue_type
            "task_default_queue_type": "quorum",
            # Quorum queues have no global QoS: Celery then sets the prefetch limit per
            # consumer, and starts native delayed delivery, which holds countdowns and
            # retries in RabbitMQ (celery_delayed_* queues) instead of in the worker.
            # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-worker_detect_quorum_queues
            "worker_detect_quorum_queues": True,
            # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-broker_native_delayed_delivery_queue_type
            "broker_native_delayed_delivery_queue_type": "quorum",
        }
    return {
        **confirmed,
        # Declares every queue with x-max-priority: RabbitMQ then orders by priority.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-task_queue_max_priority
        "task_queue_max_priority": routing.AMQP_MAX_PRIORITY,
    }
