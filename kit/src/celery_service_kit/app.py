"""``ServiceApp``: a service's Celery application, built once from its settings and queues.

Everything generic is wired here, so that a service's ``celery_app.py`` only says
what is its own (its package, settings and queues, and the options it chose)::

    settings = load_settings(ENVIRONMENTS)
    app = ServiceApp(__package__, settings, domain_queues=routing.DOMAIN_QUEUES)

Invariants: every process that imports the app (workers, beat, Flower, the code
that sends tasks) has the same configuration, so publisher-side settings and the
routes hold wherever a task is sent from; the settings are read from the
environment once, where the app is built, and handed down from there
(``app.service``), never read again by the kit's code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from celery import Celery, Task, signals

from . import upstream
from .celery_config import celery_config
from .health.worker import Heartbeat
from .observability import configure_logging
from .ops.flower import guard_flower
from .reliability.dead_letters import DeadLetters
from .reliability.task import ServiceTask, release_if_process_died
from .routing import PriorityLevels, priority_levels, queue_names
from .service import Service, service_of, spool_dir
from .settings import Settings
from .store import Store

__all__ = ["ServiceApp"]


class ServiceApp(Celery[Any]):
    """Celery, with the kit's production set-up for the service in ``package``.

    * its configuration is ``celery_config.py``'s, from ``settings``: queues
      ``default``, ``critical`` and ``domain_queues``, routed by task module;
    * every task is a :class:`~.reliability.task.ServiceTask` (the retry policy of
      the ``RETRY_*`` settings, logging, soft-limit cleanup, masked arguments);
    * task messages are built by ``upstream.AMQP``, which refuses what the broker
      cannot keep safely (``publishing.py``); ``redis://`` brokers use the kit's
      transport (``redis_transport.py``);
    * a task that fails for good becomes a dead letter and what its dead pool
      process held in Redis is freed; a starting worker adds the dead letters
      spooled while Redis did not answer;
    * the worker keeps liveness and readiness marks (``health/``), logs as
      ``LOG_FORMAT`` says, and Flower holds its production rules.
    """

    def __init__(
        self,
        package: str,
        settings: Settings,
        *,
        domain_queues: Sequence[str] = (),
        **options: Any,
    ) -> None:
        # A queue item that is not a message is rejected and recorded (redis_transport.py)
        # instead of stopping the worker.
        upstream.use_for_redis_urls()
        super().__init__(package, task_cls=ServiceTask, amqp=upstream.AMQP, **options)
        queues = queue_names(domain_queues)
        store = Store(settings, namespace=package)
        #: What the kit's code needs of the service at run time (``service.py``).
        self.service = Service(
            package=package,
            settings=settings,
            queues=queues,
            store=store,
            dead_letters=DeadLetters(store, settings, spool_dir(settings, package)),
        )
        #: The options the service chose: ``beat``, ``tracing``, ``error-tracking``.
        self.features: set[str] = set()
        self.config_from_object(celery_config(settings, package, queues))
        _connect_signal_handlers()
        self.steps["consumer"].add(Heartbeat)
        configure_logging(settings.log_format, settings.log_max_chars)
        if settings.log_format == "json":
            signals.celeryd_init.connect(upstream.worker_writes_json_only, weak=False)
        guard_flower(settings)

    @property
    def settings(self) -> Settings:
        """The settings the app was built with."""
        return self.service.settings

    @property
    def priority(self) -> PriorityLevels:
        """``high``/``normal``/``low`` on the broker's scale, for ``apply_async(priority=...)``."""
        return priority_levels(self.settings.broker_is_redis, self.settings.quorum_queues)

    # The options, each with a library of its own (an extra of the kit's), imported
    # only by the services that chose it.

    def use_schedule(self, schedule: Mapping[str, Mapping[str, Any]]) -> None:
        """Run periodic tasks: RedBeat's scheduler on the service's Redis, sending ``schedule``."""
        from .beat import beat_config

        self.conf.update(beat_config(self.service, schedule))
        self.features.add("beat")

    def trace_tasks(self, service_name: str) -> None:
        """Trace every task this process sends or runs with OpenTelemetry (``tracing.py``)."""
        from .tracing import trace_tasks

        trace_tasks(service_name)
        self.features.add("tracing")

    def report_errors(self) -> None:
        """Report the tasks that fail for good to Sentry (``error_tracking.py``)."""
        from .error_tracking import report_errors

        report_errors(self)
        self.features.add("error-tracking")


def _connect_signal_handlers() -> None:
    """Connect the kit's handlers, once per process whatever the number of apps."""
    signals.task_failure.connect(record_final_failure, weak=False)
    signals.task_failure.connect(release_after_final_failure, weak=False)
    signals.worker_ready.connect(flush_spool_at_start, weak=False)


def record_final_failure(
    sender: Task[Any, Any],
    task_id: str,
    exception: BaseException,
    args: Any,
    kwargs: Any,
    traceback: TracebackType | None = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    """Record a task that failed for good as a dead letter (``task_failure``).

    The one hook that fires for every final failure (``Task.on_failure`` is not
    called for a lost worker), in whichever process reports it.
    """
    if isinstance(sender.app, ServiceApp):
        service_of(sender.app).dead_letters.record(
            sender, task_id, args, kwargs, exception, getattr(einfo, "traceback", None) or traceback
        )


def release_after_final_failure(
    sender: Task[Any, Any], task_id: str, exception: BaseException, args: Any, kwargs: Any, **_: Any
) -> None:
    """Free what a dead process held when Celery gives up on its task (``task_failure``)."""
    if isinstance(sender.app, ServiceApp):
        release_if_process_died(sender, exception, task_id, args, kwargs)


def flush_spool_at_start(sender: Any = None, **_: Any) -> None:
    """Add what this node spooled while Redis did not answer (``worker_ready``)."""
    app = getattr(sender, "app", None)
    if isinstance(app, ServiceApp):
        service_of(app).dead_letters.flush_spool()
