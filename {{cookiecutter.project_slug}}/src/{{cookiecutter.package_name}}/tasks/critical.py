"""Tasks of the ``critical`` queue: urgent work with workers of its own."""

from __future__ import annotations

from celery.utils.log import get_task_logger
from celery_service_kit import idempotent, key, redis_client
from pydantic import BaseModel, Field, PositiveInt

from ..celery_app import app

logger = get_task_logger(__name__)


class Payment(BaseModel):
    """What ``capture_payment`` takes: its contract, checked in the worker before it runs.

    New fields get defaults, so that a message sent before a deploy still passes;
    unknown fields are ignored (pydantic's default), so that a newer sender's message
    passes an older worker during a rolling deploy.
    """

    order_id: str = Field(min_length=1, max_length=64)
    amount_cents: PositiveInt
    #: The payment provider's token of the card: masked wherever arguments are shown.
    card_token: str = Field(min_length=1)


@app.task(pydantic=True, sensitive=("card_token",), ignore_result=False)
@idempotent("payment:{payment.order_id}")
def capture_payment(payment: Payment) -> dict[str, int | str]:
    """Capture an order's payment, once, however often the task is delivered.

    The ledger (a Redis hash of order -> cents) stands in for the payment provider.
    A payment that breaks the contract (a missing field, a non-positive amount) is
    a permanent error, never retried, recorded as a dead letter. The result is
    stored (with a result backend), so that a caller can wait for it:
    ``capture_payment.delay(payment).get(timeout=10)``.
    """
    redis_client().hincrby(key("payments"), payment.order_id, payment.amount_cents)
    logger.info("captured %d cents for order %s", payment.amount_cents, payment.order_id)
    return {"order_id": payment.order_id, "captured_cents": payment.amount_cents}
