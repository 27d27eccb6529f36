"""``rate_limited``: a rate of calls to a dependency, shared by every worker of the service.

Celery's ``rate_limit`` task option holds per worker (celery#5732): ten workers
call a downstream ten times as often as it says. Here the rate lives in Redis:
each run of a decorated task takes the next free *slot* of the dependency's
schedule, one every ``period / count``, on Redis's clock (one clock for all
workers). A run whose slot is now goes ahead; a later slot is reserved for the
run's task id and the run raises :class:`RateLimitedError`, which ``ServiceTask``
turns into a retry with exactly that countdown. Nothing sleeps in a worker,
nothing is lost, and the wait spends none of the task's retries.

Precision: at most ``count`` runs take a slot in any ``period`` of Redis's clock:
the slots are spaced evenly (no bursts), and the starts are counted as well, so
that runs which started late (a worker whose processes were busy when their
retries fell due) never crowd a period; they delay the next ones instead. A run's
code starts a Redis round trip after it takes its slot. A slot is reserved at most
``Settings.longest_countdown`` ahead (what the broker holds a waiting message); a
run further back waits that long without a slot and tries again. A slot is taken
whether the run succeeds or not: a retry of a failure takes a new one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from ..service import current_service
from .errors import RateLimitedError
from .guards import run_token

P = ParamSpec("P")
R = TypeVar("R")

#: A slot this close (ms) is now: a retry due at its slot may start a little early.
EARLY_MS = 10.0
#: Seconds per unit of a limit, as Celery's ``rate_limit`` reads them.
PERIODS = {"s": 1, "m": 60, "h": 3600}

# KEYS: the dependency's next free slot (ms, Redis clock); the slot this task id
# reserved on an earlier attempt; the starts within the last period (a sorted set).
# ARGV: interval between slots, the period, how many starts a period holds, how far
# ahead a slot may be reserved, how early a slot may start (ms), the run's token.
# Returns the wait in ms: 0 to start now, > 0 until the slot reserved for this task
# id, < 0 to come back after that long without a slot.
_TAKE_SLOT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local interval, period, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local horizon, early = tonumber(ARGV[4]), tonumber(ARGV[5])

local function reserve(earliest)
    local slot = math.max(tonumber(redis.call('GET', KEYS[1])) or earliest, earliest)
    if slot - now > horizon then
        return nil
    end
    local next_slot = string.format('%.3f', slot + interval)
    redis.call('SET', KEYS[1], next_slot, 'PX', math.ceil(slot - now + interval))
    return slot
end

-- Starts are counted too, so that runs that started late never crowd a period.
local function start()
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - period)
    if redis.call('ZCARD', KEYS[3]) >= count then
        return false
    end
    redis.call('ZADD', KEYS[3], now, ARGV[6] .. '@' .. now)
    redis.call('PEXPIRE', KEYS[3], math.ceil(period))
    return true
end

local slot = tonumber(redis.call('GET', KEYS[2]))
if slot then
    if slot - now > early then
        return math.ceil(slot - now)
    end
    redis.call('DEL', KEYS[2])
else
    slot = reserve(now)
end
if slot and slot - now <= early then
    if start() then
        return 0
    end
    local oldest = tonumber(redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2])
    slot = reserve(oldest + period)
end
if not slot then
    return -math.ceil(horizon)
end
redis.call('SET', KEYS[2], string.format('%.3f', slot), 'PX', math.ceil(slot - now + horizon))
return math.ceil(slot - now)
"""


def rate_limited(name: str, limit: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Limit the runs of the decorated task to ``limit`` (``"100/m"``) for the dependency ``name``.

    ``limit`` is in Celery's format; ``name`` is shared by every task that calls it::

        @app.task
        @rate_limited("crm", "100/m")
        def sync_customer(customer_id: str) -> None: ...

    Put it innermost (next to the function), below ``idempotent`` and ``task_lock``,
    so that a duplicate answered from a recorded result takes no slot.
    """
    schedule = Schedule.parse(name, limit)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def limited(*args: P.args, **kwargs: P.kwargs) -> R:
            take_slot(schedule)
            return func(*args, **kwargs)

        return limited

    return decorate


@dataclass(frozen=True)
class Schedule:
    """``count`` starts per ``period`` seconds for the dependency ``name``."""

    name: str
    limit: str
    count: int
    period: int

    @classmethod
    def parse(cls, name: str, limit: str) -> Schedule:
        """The schedule of ``limit``: ``"<count>/<s|m|h>"``, or a count per second."""
        count, _, unit = limit.partition("/")
        if not count.isdigit() or int(count) <= 0 or (unit or "s") not in PERIODS:
            raise ValueError(f"rate limit {name!r}: {limit!r} is not a rate like '100/m'")
        return cls(name, limit, int(count), PERIODS[unit or "s"])

    @property
    def interval_ms(self) -> float:
        """The time between two slots."""
        return self.period * 1000 / self.count


def take_slot(schedule: Schedule) -> None:
    """Take the running task's slot of ``schedule``, or raise :class:`RateLimitedError` to wait."""
    service = current_service()
    store = service.store
    token = run_token() or "outside-a-worker"
    wait_ms = int(
        store.client.eval(
            _TAKE_SLOT,
            3,
            store.key("rate", schedule.name),
            store.key("rate", schedule.name, "reserved", token),
            store.key("rate", schedule.name, "starts"),
            schedule.interval_ms,
            schedule.period * 1000,
            schedule.count,
            service.settings.longest_countdown * 1000,
            min(EARLY_MS, schedule.interval_ms / 2),
            token,
        )
    )
    if wait_ms == 0:
        return
    seconds = abs(wait_ms) / 1000
    where = f"{schedule.name} at {schedule.limit}"
    if wait_ms > 0:
        raise RateLimitedError(f"{where}: slot in {seconds:.3f} s", retry_after=seconds)
    raise RateLimitedError(f"{where}: no slot within {seconds:.0f} s", retry_after=seconds)
