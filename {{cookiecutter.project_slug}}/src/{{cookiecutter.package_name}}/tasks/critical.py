"""Tasks of the ``critical`` queue: urgent work with workers of its own."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from ..celery_app import app
from ..reliability import PermanentError, idempotent
from ..store import key, redis_client

logger = get_task_logger(__name__)


@app.task
@idempotent("payment:{order_id}")
def capture_payment(order_id: str, amount_cents: int) -> dict[str, int | str]:
    """Capture an order's payment, once, however often the task is delivered.

    The ledger (a Redis hash of order -> cents) stands in for the payment
    provider. A non-positive amount is a bad payload: a permanent error, never
    retried, recorded as a dead letter.
    """
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise PermanentError(f"amount_cents must be a positive integer, got {amount_cents!r}")
    redis_client().hincrby(key("payments"), order_id, amount_cents)
    logger.info("captured %d cents for order %s", amount_cents, order_id)
    return {"order_id": order_id, "captured_cents": amount_cents}
