"""Flower, a real process on the real broker: safe in production, or it does not start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from celery_service_kit.testing import probes
from celery_service_kit.testing.processes import FlowerProcess, StartWorker

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


@pytest.mark.parametrize(
    ("name", "environment", "says"),
    [
        ("no authentication", {}, "no authentication"),
        ("empty password", {"FLOWER_BASIC_AUTH": "ops:"}, "empty user or password"),
        ("empty user and password", {"FLOWER_BASIC_AUTH": ":"}, "empty user or password"),
        (
            "one entry of two without a password",
            {"FLOWER_BASIC_AUTH": f"{CREDENTIALS},guest:"},
            "entry 'guest'",
        ),
        ("short cookie secret", {"FLOWER_COOKIE_SECRET": "secret"}, "has 6 characters"),
    ],
)
def test_production_flower_started_anywhere_refuses_unsafe_options(
    start_flower: Callable[..., FlowerProcess],
    tmp_path: Path,
    name: str,
    environment: dict[str, str],
    says: str,
) -> None:
    # Started outside the project, with a settings file of its own: no file of the
    # service's is read, and the rules still hold.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    conf = elsewhere / "other_flowerconfig.py"
    conf.write_text("max_tasks = 100\n", encoding="utf-8")
    unsafe = {**PRODUCTION, **environment}
    if name == "no authentication":
        del unsafe["FLOWER_BASIC_AUTH"]
    flower = start_flower(environment=unsafe, cwd=elsewhere, options=[f"--conf={conf}"], wait=False)
    flower.start_process()

    assert flower.wait(timeout=60) == 2, flower.log_tail()
    assert "Flower refuses to start" in flower.log_text()
    assert says in flower.log_text()
    assert flower.get("/healthcheck")[0] == 0, "it served"


def test_production_flower_started_elsewhere_serves_nothing_without_credentials(
    start_worker: StartWorker, start_flower: Callable[..., FlowerProcess], tmp_path: Path
) -> None:
    start_worker("watched-from-elsewhere")
    sent = probes.quick.delay("secret-argument")
    flower = start_flower(environment=PRODUCTION, cwd=tmp_path)

    for path in ("/", "/tasks", "/broker", "/metrics", f"/task/{sent.id}", "/api/workers"):
        status, body = flower.get(path)
        assert status in {401, 403}, f"{path} answered {status} without credentials"
        assert "secret-argument" not in body
    assert flower.get("/broker", CREDENTIALS)[0] == 200
    assert flower.get("/metrics", CREDENTIALS)[0] == 200
