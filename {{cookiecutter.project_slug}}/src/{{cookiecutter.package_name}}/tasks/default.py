"""Tasks of the ``default`` queue: ordinary background work."""

from __future__ import annotations

from datetime import UTC, datetime

from celery.utils.log import get_task_logger

from ..celery_app import app
from ..store import key, redis_client

logger = get_task_logger(__name__)


@app.task
def rebuild_report(report_id: str) -> int:
    """Rebuild the report ``report_id``; returns how many times it has been built."""
    report = key("report", report_id)
    client = redis_client()
    builds = client.hincrby(report, "builds", 1)
    client.hset(report, "built_at", datetime.now(UTC).isoformat())
    logger.info("report %s rebuilt (build %d)", report_id, builds)
    return builds
