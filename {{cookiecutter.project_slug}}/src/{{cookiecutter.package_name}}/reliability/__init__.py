"""The recommended task pattern and its utilities.

::

    from {{ cookiecutter.package_name }}.reliability import (
        PermanentError, ServiceTask, TransientError, idempotent, task_lock,
    )

* :class:`ServiceTask`: the app's task class (retries of transient errors only,
  backoff with jitter, logging, soft time limit cleanup);
* :func:`task_lock`: one run at a time per resource;
* :func:`idempotent`: a business key's effect happens once;
* :func:`rate_limited`: a rate of calls to a dependency, shared by all workers;
* :mod:`.dead_letters`: the tasks that finally failed, kept for inspection and replay.
"""

from . import dead_letters
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
from .task import ServiceTask

__all__ = [
    "TRANSIENT_ERRORS",
    "AlreadyRunningError",
    "BusyError",
    "LockBusyError",
    "PermanentError",
    "RateLimitedError",
    "ServiceTask",
    "TransientError",
    "dead_letters",
    "extend_lock",
    "hold_lock",
    "idempotent",
    "rate_limited",
    "task_lock",
]
