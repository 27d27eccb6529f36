"""The recommended task pattern and its utilities.

* :class:`ServiceTask`: the app's task class (retries of transient errors only,
  backoff with jitter, logging, soft time limit cleanup);
* :func:`task_lock`: one run at a time per resource;
* :func:`idempotent`: a business key's effect happens once;
* :func:`rate_limited`: a rate of calls to a dependency, shared by all workers;
* :mod:`.dead_letters`: the tasks that finally failed, kept for inspection and replay.

The names a service's tasks use are also importable from ``celery_service_kit``.
"""

from .errors import (
    TRANSIENT_ERRORS,
    AlreadyRunningError,
    BusyError,
    LockBusyError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from .idempotency import idempotent
from .locks import extend_lock, hold_lock, task_lock
from .rate_limits import rate_limited
from .task import ResultIgnoredError, ServiceResult, ServiceTask

__all__ = [
    "TRANSIENT_ERRORS",
    "AlreadyRunningError",
    "BusyError",
    "LockBusyError",
    "PermanentError",
    "RateLimitedError",
    "ResultIgnoredError",
    "ServiceResult",
    "ServiceTask",
    "TransientError",
    "extend_lock",
    "hold_lock",
    "idempotent",
    "rate_limited",
    "task_lock",
]
