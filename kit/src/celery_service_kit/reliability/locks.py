"""``task_lock``: one run at a time per resource, with a Redis lock.

Invariants:

* a lock outlives the hard time limit of its task (a shorter timeout is refused
  when the task is made): it never expires under a running task;
* a run that finds the lock busy waits and tries again (:class:`LockBusyError`),
  also when the holder is a dead run's leftover: no work is lost to a busy lock;
* releasing never raises (a lock that expired anyway is logged): finished work is
  never retried because of its lock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any, Literal, ParamSpec, TypeVar

from celery.utils.log import get_task_logger
from redis.exceptions import LockError
from redis.lock import Lock

from ..service import current_service
from ..store import Store
from .errors import LockBusyError
from .guards import add_guard, hard_time_limit, outlasting, run_token
from .keys import ArgumentKey, KeySpec

P = ParamSpec("P")
R = TypeVar("R")

logger = get_task_logger(__name__)

#: The locks held by the current run, innermost last (for :func:`extend_lock`).
_held: ContextVar[tuple[Lock, ...]] = ContextVar("held_locks", default=())


def lock_key(store: Store, name: str) -> str:
    """The Redis key of the lock named ``name``."""
    return store.key("lock", name)


@contextmanager
def hold_lock(name: str, timeout: float | None = None) -> Iterator[Lock]:
    """Hold the lock ``name`` for the enclosed block, or raise :class:`LockBusyError`.

    ``timeout`` (seconds) defaults to the running task's hard time limit plus a
    margin. Use :func:`extend_lock` (or the yielded lock's ``extend``) for work
    that may run longer.
    """
    store = current_service().store
    seconds = timeout or outlasting(hard_time_limit())
    lock = store.client.lock(lock_key(store, name), timeout=seconds, blocking=False)
    token = run_token()  # the task id; outside a worker, redis-py makes up one
    if not lock.acquire(token=token):
        raise LockBusyError(
            f"lock {name!r} is held by another run",
            retry_after=store.wait_if_owner(lock_key(store, name), token),
        )
    held = _held.set((*_held.get(), lock))
    try:
        yield lock
    finally:
        _held.reset(held)
        _release(lock, name)


def _release(lock: Lock, name: str) -> None:
    try:
        lock.release()
    except LockError:
        # The work is done; raising now would retry it. The lock expired (or was
        # taken) during the run: another run may have overlapped this one.
        logger.warning("lock %r expired before its run ended; extend it for long work", name)


def extend_lock(seconds: float) -> None:
    """Give the innermost lock held by this run ``seconds`` more to live."""
    held = _held.get()
    if not held:
        raise RuntimeError("extend_lock() called outside task_lock")
    held[-1].extend(seconds)


class _LockGuard:
    def __init__(self, key_of: ArgumentKey, timeout: float | None) -> None:
        self.key_of = key_of
        self.timeout = timeout

    def release_abandoned(
        self, store: Store, token: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        name = self.key_of.render(args, kwargs)
        if store.release_if_owner(lock_key(store, name), token):
            logger.warning("released lock %r of run %s, whose process died", name, token)

    def validate_time_limit(self, time_limit: float) -> None:
        if self.timeout is not None and self.timeout <= time_limit:
            raise ValueError(
                f"lock timeout {self.timeout} s must exceed the hard time limit "
                f"({time_limit} s), or the lock can expire while the task still runs"
            )


def task_lock(
    name: KeySpec,
    *,
    timeout: float | None = None,
    on_busy: Literal["retry", "skip"] = "retry",
) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """Run the decorated task body under a lock named after its arguments.

    ``name`` is a format string over the task's parameters (``"report:{report_id}"``)
    or a callable taking the task's arguments. When another run holds the lock the
    task retries later (``on_busy="retry"``, the default: no work is lost); with
    ``on_busy="skip"`` it returns ``None`` instead, for work the running holder
    makes redundant. ``timeout`` defaults to the hard time limit plus a margin;
    a timeout that does not exceed the task's hard time limit (its own, or its
    app's) is refused when the task is made. Place it below ``@app.task``::

        @app.task
        @task_lock("report:{report_id}")
        def rebuild_report(report_id: str) -> None: ...
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R | None]:
        key_of = ArgumentKey(name, func)
        guard = _LockGuard(key_of, timeout)

        @functools.wraps(func)
        def run_locked(*args: P.args, **kwargs: P.kwargs) -> R | None:
            lock_name = key_of.render_call(args, kwargs)
            with ExitStack() as stack:
                try:
                    stack.enter_context(hold_lock(lock_name, timeout))
                except LockBusyError:
                    if on_busy == "retry":
                        raise
                    logger.info("skipped: lock %r is held by another run", lock_name)
                    return None
                return func(*args, **kwargs)

        add_guard(run_locked, func, guard)
        return run_locked

    return decorate
