"""``ServiceTask``: the app's task class, the recommended task pattern for every task.

Invariants: only transient errors are retried, a bounded number of times, after a
capped and jittered delay; anything else fails once and becomes a dead letter;
waiting for a busy key spends no retry; what a dead pool process held is released.

Celery has no global setting for retry counts or delays
(``CELERY_TASK_MAX_RETRIES`` would be ignored silently): they are this class's
attributes, set from the app's ``RETRY_*`` settings when a task is bound to its app
(:meth:`ServiceTask.bind`), unless the task or a base class of the service's sets
its own.
"""

from __future__ import annotations

from typing import Any

from billiard.einfo import ExceptionInfo
from celery import Task
from celery.exceptions import (
    Ignore,
    Reject,
    Retry,
    SoftTimeLimitExceeded,
    TimeLimitExceeded,
    WorkerLostError,
)
from celery.result import AsyncResult
from celery.utils.log import get_task_logger
from pydantic import ValidationError
from redis.exceptions import LockError

from ..routing import uses_quorum_queues
from ..service import service_of
from ..settings import Settings
from .backoff import retry_countdown
from .errors import (
    TRANSIENT_ERRORS,
    BusyError,
    PermanentError,
    RateLimitedError,
    TransientError,
    invalid_arguments,
)
from .guards import guards_of

logger = get_task_logger(__name__)

DEFAULTS = Settings.model_fields

# Never retried, whatever a task lists as transient: Celery's own control flow,
# permanent errors, the soft time limit, and lock release problems (which only
# happen after the work is done).
NEVER_RETRIED: tuple[type[BaseException], ...] = (
    Retry,
    Ignore,
    Reject,
    PermanentError,
    SoftTimeLimitExceeded,
    LockError,
)
#: Header counting a run's waits for a busy key (they are not retries of a failure).
BUSY_WAITS = "busy_waits"
#: First wait for a busy key (s), at most: short holders are the common case.
FIRST_BUSY_WAIT_SECONDS = 1.0
# Failures reported by the worker's main process after the pool process died:
# nothing in that process released what the run held.
PROCESS_DIED: tuple[type[BaseException], ...] = (TimeLimitExceeded, WorkerLostError)


def retry_policy(settings: Settings) -> dict[str, float | int | None]:
    """The ``RETRY_*`` settings as the task attributes Celery and ServiceTask read."""
    return {
        "max_retries": settings.retry_max_retries,
        "default_retry_delay": settings.retry_backoff_base,
        "retry_backoff_max": settings.retry_backoff_max,
    }


class ServiceTask(Task[Any, Any]):
    """Base class of every task of the service (the app's ``task_cls``).

    Every ``@app.task`` of the service gets, without writing it each time:

    * retries of transient errors only (``TRANSIENT_ERRORS``, extendable per task with
      the ``transient_errors`` option), after an exponential, capped, jittered delay,
      at most ``RETRY_MAX_RETRIES`` times; then the task fails and becomes a dead letter;
    * waits for a key another run holds (:class:`BusyError`: a busy lock, a claim being
      worked on) that spend none of those retries: the delay starts at a second and
      grows to the same cap, so a waiter follows a short holder closely and a long one
      without a storm of messages; a run over a shared rate limit waits exactly until
      its reserved slot (``rate_limits.py``), also without spending a retry;
    * no retry, ever, for :class:`PermanentError`, ``SoftTimeLimitExceeded``, or any
      error not named transient (a validation error fails once, not ten times);
      arguments that break a task's contract (``pydantic=True``) fail once with a
      :class:`PermanentError` naming each field, without the values;
    * sensitive arguments (``sensitive=("card_token",)``) masked wherever arguments
      are shown (``sensitive.py``);
    * ``.get()`` on the result of a task that does not store it raises
      :class:`ResultIgnoredError` instead of returning ``None``;
    * logs with the task's name and id: the start (DEBUG), each retry with its delay,
      and the final failure; Celery itself logs each success with its runtime (the
      ``duration`` field of JSON logs, see ``observability.py``), so the pattern does
      not write that line twice per task (``make bench`` measured what it costs);
    * a cleanup hook when the soft time limit fires: pass
      ``on_soft_time_limit=cleanup`` to ``@app.task``, where ``cleanup(task, *args,
      **kwargs)`` gets the task's arguments;
    * release of the locks and claims of a run whose pool process died.
    """

    # The RETRY_* settings of the app a task is bound to (bind()); until then their
    # defaults.
    #: Retries of transient errors; after that the task fails (a dead letter).
    max_retries: int | None = DEFAULTS["retry_max_retries"].default
    #: First retry delay. Celery also uses it to re-send a task whose process died.
    #: (celery-types declares it int; Celery takes any number of seconds.)
    default_retry_delay: float = DEFAULTS["retry_backoff_base"].default  # type: ignore[assignment]
    #: Cap on any retry delay.
    retry_backoff_max: float = DEFAULTS["retry_backoff_max"].default
    #: What is worth retrying; override per task with ``@app.task(transient_errors=...)``.
    transient_errors: tuple[type[Exception], ...] = TRANSIENT_ERRORS
    #: Arguments (or fields inside them) to mask wherever arguments are shown.
    sensitive: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, when a task is made, a lock that could expire while it runs.

        Celery makes a task's class with its app and options: the hard time limit is
        the task's own or its app's (``task_time_limit``).
        """
        super().__init_subclass__(**kwargs)
        run, app = cls.__dict__.get("run"), cls.__dict__.get("app")
        limit = cls.__dict__.get("time_limit") or getattr(
            getattr(app, "conf", None), "task_time_limit", None
        )
        if run is not None and limit is not None:
            for guard in guards_of(getattr(run, "__func__", run)):
                guard.validate_time_limit(float(limit))

    @classmethod
    def bind(cls, app: Any) -> Any:
        """Bind the task to ``app``, with the app's retry policy.

        The policy is the app's ``RETRY_*`` settings where neither the task (its
        ``@app.task`` options) nor a base class between it and ServiceTask sets its
        own.
        """
        bound = super().bind(app)
        settings = getattr(getattr(app, "service", None), "settings", None)
        if settings is not None:
            for attribute, value in retry_policy(settings).items():
                if _defined_by(cls, attribute) in (ServiceTask, *ServiceTask.__mro__):
                    setattr(cls, attribute, value)
        return bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task body with the retry policy (Celery calls this in the worker)."""
        logger.debug("started (attempt %d)", self.request.retries + 1)
        try:
            return self.run(*args, **kwargs)
        except ValidationError as error:  # the values stay out of logs and dead letters
            raise invalid_arguments(error) from None
        except NEVER_RETRIED as error:
            if isinstance(error, SoftTimeLimitExceeded):
                self._clean_up_after_soft_time_limit(args, kwargs)
            raise
        except BusyError as error:
            raise self._wait_for_holder(error) from error
        except self.transient_errors as error:
            if self._out_of_retries(error):
                raise
            raise self._retry_later(error) from error

    def apply_async(self, *args: Any, **options: Any) -> Any:
        """Send the task, as Celery's; on quorum queues a countdown under a second is a second.

        Celery's native delayed delivery (quorum queues) counts whole seconds and
        refuses a countdown that truncates to 0 (``Celery.send_task``).
        """
        countdown = options.get("countdown")
        if uses_quorum_queues(self.app.conf) and countdown is not None and 0 < countdown < 1:
            options["countdown"] = 1
        return super().apply_async(*args, **options)

    def AsyncResult(self, task_id: str, **kwargs: Any) -> ServiceResult:  # noqa: N802 (Celery's name)
        """The result of a run of this task, as ``delay``/``apply_async`` return it."""
        return ServiceResult(task_id, task=self.name, backend=self.backend, app=self.app, **kwargs)

    def _busy_waits(self) -> int:
        return int(getattr(self.request, BUSY_WAITS, None) or 0)

    def _failure_retries(self) -> int:
        """Retries spent on failures: Celery counts the waits for busy keys too."""
        return self.request.retries - self._busy_waits()

    def _out_of_retries(self, error: Exception) -> bool:
        retries = self._failure_retries()
        if self.max_retries is None or retries < self.max_retries:
            return False
        logger.error("giving up after %d retries: %r", retries, error, extra={"retries": retries})
        return True

    def _retry_later(self, error: Exception) -> Retry:
        retries = self._failure_retries()
        countdown = retry_countdown(retries, self.default_retry_delay, self.retry_backoff_max)
        if isinstance(error, TransientError) and error.retry_after is not None:
            countdown = max(countdown, error.retry_after)
        logger.warning(
            "retry %d of %s in %.2f s: %r",
            retries + 1,
            self.max_retries,
            countdown,
            error,
            extra={"retries": retries, "countdown": countdown},
        )
        max_retries = None if self.max_retries is None else self.max_retries + self._busy_waits()
        return self.retry(exc=error, countdown=countdown, throw=False, max_retries=max_retries)

    def _wait_for_holder(self, error: BusyError) -> Retry:
        waits = self._busy_waits()
        first = min(FIRST_BUSY_WAIT_SECONDS, self.default_retry_delay)
        countdown = retry_countdown(waits, first, self.retry_backoff_max)
        if isinstance(error, RateLimitedError):  # a slot is reserved: exactly then
            countdown = error.retry_after or 0.0
        elif error.retry_after is not None:  # its own dead run's key: wait it out
            countdown = max(countdown, error.retry_after)
        logger.info("waiting %.3f s: %s", countdown, error, extra={"countdown": countdown})
        request = self.request
        return self.retry(
            exc=error,
            countdown=countdown,
            throw=False,
            max_retries=request.retries + 1,  # a wait is not a retry of a failure
            # Celery's own copy of the headers: without RabbitMQ's x-death, which would make
            # a second pass through a delayed-delivery queue look like a dead-letter cycle.
            headers={**request.as_execution_options()["headers"], BUSY_WAITS: str(waits + 1)},
        )

    def _clean_up_after_soft_time_limit(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        logger.warning("soft time limit exceeded: cleaning up")
        try:
            self.on_soft_time_limit(*args, **kwargs)
        except Exception:
            logger.exception("cleanup after the soft time limit failed")

    def on_soft_time_limit(self, *args: Any, **kwargs: Any) -> None:
        """Clean up after the soft time limit; the task then fails (no retry).

        Override it, or pass ``on_soft_time_limit=func`` to ``@app.task``.
        """

    def on_retry(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        """Release what a run held when Celery re-sends it after its process died."""
        release_if_process_died(self, exc, task_id, args, kwargs)

    def on_failure(
        self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: ExceptionInfo
    ) -> None:
        """Log the final failure; the dead letter is recorded from the task_failure signal."""
        kind = "permanent error" if isinstance(exc, PermanentError) else "failed"
        logger.error("%s: %r", kind, exc, extra={"retries": self.request.retries})


class ResultIgnoredError(RuntimeError):
    """``.get()`` on the result of a run that does not store its result."""


class ServiceResult(AsyncResult[Any]):
    """Celery's ``AsyncResult``; ``get()`` raises instead of returning ``None`` for an ignored one.

    Results are stored only by tasks that opt in (``task_ignore_result``); Celery
    returns ``None`` at once when asked for one that is not, which reads like a task
    that returned ``None``.
    """

    def __init__(self, id: str, *args: Any, task: str = "", **kwargs: Any) -> None:
        super().__init__(id, *args, **kwargs)
        #: The name of the task whose run this is (unknown once copied or unpickled).
        self.task = task or "this task"

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """Wait for the result, as Celery's ``get``; raise if the run does not store it."""
        if self.ignored:
            raise ResultIgnoredError(
                f"task {self.task} does not store its result: declare it with "
                "@app.task(ignore_result=False), or send it with ignore_result=False"
            )
        return super().get(*args, **kwargs)


def _defined_by(cls: type, attribute: str) -> type | None:
    """The first class in ``cls``'s MRO whose own namespace defines ``attribute``."""
    return next((klass for klass in cls.__mro__ if attribute in vars(klass)), None)


def release_if_process_died(
    task: Task[Any, Any], exc: BaseException, task_id: str, args: Any, kwargs: Any
) -> None:
    """Release the locks and claims of ``task_id`` if its pool process died during the run.

    Called from the worker's main process: ``on_retry`` when Celery re-sends the
    task (``task_retry_on_worker_lost``), and the ``task_failure`` signal when it
    gives up (after the hard time limit, or out of retries); ``on_failure`` is not
    called for a lost worker.
    """
    guards = guards_of(task.run)
    if isinstance(exc, PROCESS_DIED) and guards:
        store = service_of(task.app).store
        for guard in guards:
            guard.release_abandoned(store, task_id, tuple(args or ()), dict(kwargs or {}))
