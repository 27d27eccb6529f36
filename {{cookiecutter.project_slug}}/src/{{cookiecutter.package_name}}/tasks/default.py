"""Tasks of the ``default`` queue: ordinary background work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery.utils.log import get_task_logger
from celery_service_kit import key, redis_client, task_lock

from ..celery_app import app

logger = get_task_logger(__name__)


def discard_partial_report(task: Any, report_id: str) -> None:
    """Soft time limit cleanup: drop the half-built report so that no one reads it."""
    redis_client().delete(key("report", report_id, "partial"))


@app.task(on_soft_time_limit=discard_partial_report)
@task_lock("report:{report_id}")
def rebuild_report(report_id: str) -> int:
    """Rebuild report ``report_id``; returns how many times it has been built.

    The lock keeps two rebuilds of one report from interleaving; a rebuild that
    finds the lock busy retries later, so none is lost.
    """
    client = redis_client()
    partial = key("report", report_id, "partial")
    client.hset(partial, "started_at", datetime.now(UTC).isoformat())
    report = key("report", report_id)
    builds = client.hincrby(report, "builds", 1)
    client.hset(report, "built_at", datetime.now(UTC).isoformat())
    client.delete(partial)
    logger.info("report %s rebuilt (build %d)", report_id, builds)
    return builds
