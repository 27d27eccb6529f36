"""Which failures a task retries, and which it never does.

A transient error is worth another try later: the network, a timeout, a busy
resource. A permanent one will fail the same way every time: a bad payload, a
validation error, a missing record: retrying it only makes a retry storm.
``ServiceTask`` retries only ``TRANSIENT_ERRORS``; anything else, and
``PermanentError`` above all, fails at once and becomes a dead letter.
"""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions
from pydantic import ValidationError


class TransientError(Exception):
    """A failure worth retrying later (raise it, or a subclass, from task code).

    ``retry_after`` (seconds) asks for at least that long a wait, like HTTP's
    ``Retry-After``: ``raise TransientError("rate limited", retry_after=30)``.
    """

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A failure that will not go away by retrying: never retried, straight to dead letters."""


def invalid_arguments(error: ValidationError) -> PermanentError:
    """The permanent error of a task whose arguments break its contract (``pydantic=True``).

    It names each field and what is wrong with it, never the value given: the
    message goes to logs and dead letters, and the value may be sensitive.
    """
    problems = "; ".join(
        f"{'.'.join(map(str, problem['loc'])) or 'value'}: {problem['msg']}"
        for problem in error.errors(include_url=False, include_input=False, include_context=False)
    )
    return PermanentError(f"invalid {error.title}: {problems}")


class BusyError(TransientError):
    """Another run holds the key this run needs: wait for it, then try again.

    Not a failure: ``ServiceTask`` waits without spending the retries meant for
    transient errors, however long the key stays held (a holder's key expires
    after its time limit, so the wait ends).
    """


class RateLimitedError(BusyError):
    """The dependency's rate is used up until this run's slot: start exactly then.

    ``retry_after`` is the wait until the slot, not a minimum (``rate_limits.py``).
    """


class LockBusyError(BusyError):
    """Another run holds the lock of this resource: wait for it, so no work is lost."""


class AlreadyRunningError(BusyError):
    """Another run holds the idempotency claim of this key: wait, then reuse its result."""


#: The errors ``ServiceTask`` retries by default. Extend it per task with the
#: ``transient_errors`` option, e.g. ``(*TRANSIENT_ERRORS, httpx.TransportError)``.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
