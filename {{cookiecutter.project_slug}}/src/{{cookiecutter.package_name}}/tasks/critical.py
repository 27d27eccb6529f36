"""Tasks of the ``critical`` queue: urgent work with workers of its own."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from ..celery_app import app
from ..store import key, redis_client

logger = get_task_logger(__name__)


@app.task
def capture_payment(order_id: str, amount_cents: int) -> dict[str, int | str]:
    """Capture the payment of an order; the ledger is a Redis hash of order -> cents."""
    redis_client().hset(key("payments"), order_id, amount_cents)
    logger.info("captured %d cents for order %s", amount_cents, order_id)
    return {"order_id": order_id, "captured_cents": amount_cents}
