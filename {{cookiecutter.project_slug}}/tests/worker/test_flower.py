"""Flower, a real process on the real broker: safe in production, or it does not start."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.processes import FlowerProcess, StartWorker

CREDENTIALS = "ops:correct-horse-battery"
PRODUCTION = {
    "APP_ENV": "production",
    "FLOWER_BASIC_AUTH": CREDENTIALS,
    "FLOWER_COOKIE_SECRET": "x" * 64,
}


def test_production_flower_without_auth_refuses_to_start(
    start_flower: Callable[..., FlowerProcess],
) -> None:
    flower = start_flower(environment={"APP_ENV": "production"}, wait=False)
    flower.start_process()

    assert flower.wait(timeout=60) != 0
    log = flower.log_text()
    assert "Flower refuses to start" in log
    assert "FLOWER_BASIC_AUTH" in log
    assert "FLOWER_COOKIE_SECRET is not set" in log


def test_flower_with_auth_answers_401_without_credentials_and_lists_the_live_worker(
    start_worker: StartWorker, start_flower: Callable[..., FlowerProcess]
) -> None:
    worker = start_worker("watched")
    flower = start_flower(environment=PRODUCTION)

    assert flower.get("/api/workers")[0] == 401
    assert flower.get("/api/workers", "ops:wrong")[0] == 401
    status, body = flower.get("/api/workers?refresh=1", CREDENTIALS)
    assert status == 200
    assert worker.nodename in json.loads(body)
    assert flower.get("/metrics")[0] == 401, "metrics open without a deliberate choice"
    status, metrics = flower.get("/metrics", CREDENTIALS)
    assert status == 200
    assert "flower_" in metrics


def test_metrics_without_auth_is_a_deliberate_setting(
    start_flower: Callable[..., FlowerProcess],
) -> None:
    flower = start_flower(environment={**PRODUCTION, "METRICS_WITHOUT_AUTH": "true"})

    assert flower.get("/metrics")[0] == 200
    assert flower.get("/api/workers")[0] == 401
