"""``idempotent``: a business key's effect happens once, however often the task runs.

Brokers deliver at least once: a redelivered message (a lost worker, a Redis
visibility timeout) or a caller sending twice runs the task again, on Redis even
at the same time as the first run. An ``exists()`` check before the work would
be a race: the key is *claimed* atomically first (``SET NX`` with a TTL), and the
result is recorded when the work is done:

* a duplicate of a finished key returns the recorded result without running;
* a duplicate arriving while another run holds the claim raises
  :class:`AlreadyRunningError`, a transient error: it retries later and then finds the
  recorded result;
* a run that fails releases its claim, so its retry can run the work;
* a run whose process dies has its claim released by the worker's main process
  (see ``guards.py``); failing that, the claim expires after the hard time limit.

Results are recorded as JSON (the service's serializer, kombu's, which also
takes dates, times, decimals and UUIDs) for ``IDEMPOTENCY_TTL`` seconds:
duplicates arriving later than that run again. A result that JSON cannot hold
does not undo the effect: the key is recorded as done without a result, the run
fails with a :class:`PermanentError` saying so, and so does every duplicate, so
that the effect still happens at most once.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from celery.utils.log import get_task_logger
from kombu.utils.json import dumps, loads

from ..service import current_service
from ..store import Store
from .errors import AlreadyRunningError, PermanentError
from .guards import add_guard, hard_time_limit, outlasting, run_token
from .keys import ArgumentKey, KeySpec

P = ParamSpec("P")
R = TypeVar("R")

logger = get_task_logger(__name__)

RUNNING = "running:"
DONE = "done:"
# Done, but the result could not be recorded: the value says why.
DONE_WITHOUT_RESULT = "done-without-result:"

# Records the result only while the run still holds its claim.
_COMPLETE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


def claim_key(store: Store, name: str) -> str:
    """The Redis key of the idempotency claim named ``name``."""
    return store.key("idempotency", name)


class _ClaimGuard:
    def __init__(self, key_of: ArgumentKey) -> None:
        self.key_of = key_of

    def release_abandoned(
        self, store: Store, token: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        name = self.key_of.render(args, kwargs)
        if store.release_if_owner(claim_key(store, name), RUNNING + token):
            logger.warning("released claim %r of run %s, whose process died", name, token)

    def validate_time_limit(self, time_limit: float) -> None:
        """Claims always outlast the hard time limit: nothing to refuse."""


def _recorded(claim_name: str, value: bytes | str | None) -> tuple[bool, Any]:
    """Whether the claim's work is done, and its result; raises if the result was lost."""
    if isinstance(value, str) and value.startswith(DONE):
        return True, loads(value.removeprefix(DONE))
    if isinstance(value, str) and value.startswith(DONE_WITHOUT_RESULT):
        raise PermanentError(
            f"{claim_name!r} was done once already, but its result could not be recorded "
            f"({value.removeprefix(DONE_WITHOUT_RESULT)}): not running it again"
        )
    return False, None


def _record_of(claim_name: str, result: Any) -> tuple[str, PermanentError | None]:
    """What to record for a finished run, and the error to raise if it lacks the result."""
    try:
        return DONE + dumps(result), None
    except (TypeError, ValueError) as error:
        reason = f"the result, a {type(result).__name__}, is not JSON: {error}"
        return DONE_WITHOUT_RESULT + reason, PermanentError(
            f"{claim_name!r} is done, but {reason}; return JSON values from idempotent "
            "tasks (a duplicate will not run it again)"
        )


def idempotent(
    name: KeySpec, *, ttl: int | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated task body once per key; duplicates get the recorded result.

    ``name`` is a format string over the task's parameters (``"charge:{order_id}"``)
    or a callable taking the task's arguments: the *business* key of the effect,
    not the task id, so that two sends of the same request are recognised. The
    result is recorded for ``ttl`` seconds (default: ``IDEMPOTENCY_TTL``). Place it
    below ``@app.task``::

        @app.task
        @idempotent("charge:{order_id}")
        def charge(order_id: str, amount_cents: int) -> dict[str, str]: ...
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        key_of = ArgumentKey(name, func)

        @functools.wraps(func)
        def run_once(*args: P.args, **kwargs: P.kwargs) -> R:
            service = current_service()
            store = service.store
            claim_name = key_of.render_call(args, kwargs)
            claim = claim_key(store, claim_name)
            running = RUNNING + (run_token() or uuid.uuid4().hex)  # the task id, in a worker
            client = store.client
            if not client.set(claim, running, nx=True, ex=outlasting(hard_time_limit())):
                done, result = _recorded(claim_name, client.get(claim))
                if done:
                    logger.info("duplicate of %r: returning the recorded result", claim_name)
                    return cast(R, result)
                raise AlreadyRunningError(
                    f"{claim_name!r} is being processed by another run",
                    retry_after=store.wait_if_owner(claim, running),
                )
            try:
                result = func(*args, **kwargs)
            except BaseException:
                store.release_if_owner(claim, running)
                raise
            record, unrecordable = _record_of(claim_name, result)
            record_ttl = ttl or service.settings.idempotency_ttl
            if not client.eval(_COMPLETE_IF_OWNER, 1, claim, running, record, record_ttl):
                logger.warning("claim %r expired during its run; result not recorded", claim_name)
            if unrecordable is not None:
                raise unrecordable
            return result

        add_guard(run_once, func, _ClaimGuard(key_of))
        return run_once

    return decorate
