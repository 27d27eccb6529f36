"""Tasks of the ``__queue__`` queue.

An example to replace with the queue's real work: it records a fingerprint of
each job's payload, once per job id, the shape of most "process this item" tasks.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from celery.utils.log import get_task_logger
from celery_service_kit import PermanentError, idempotent, key, redis_client

from ..celery_app import app

logger = get_task_logger(__name__)


@app.task
@idempotent("__queue__-job:{job_id}")
def process_job(job_id: str, payload: dict[str, Any]) -> str:
    """Process one job of this queue; returns the payload's SHA-256 fingerprint."""
    if not isinstance(payload, dict):
        raise PermanentError(f"payload must be a JSON object, got {type(payload).__name__}")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    redis_client().hset(key("__queue__", "jobs"), job_id, fingerprint)
    logger.info("job %s processed (%s)", job_id, fingerprint[:12])
    return fingerprint
