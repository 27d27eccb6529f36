"""``make bench``'s report: ratios, and whether each target is met (no timing here)."""

from __future__ import annotations

from typing import Any

from bench.report import TARGETS, report


def results(pattern: float, safety: float, fairness: float) -> dict[str, Any]:
    bare = 1000.0
    return {
        "cpus": 2,
        "throughput": {
            "noop/recommended": bare * pattern,
            "bare_noop/recommended": bare,
            "noop/celery-defaults": bare * pattern / safety,
            "noop/recommended-without-events": bare,
            "bare_noop/celery-defaults": bare,
        },
        "throughput_10ms": {"recommended": 180.0, "celery-defaults": 190.0},
        "latency_ms": {"p50": 4.0, "p99": 9.0},
        "fairness": {"recommended": fairness, "celery-defaults": 1.6},
        "concurrency": {"io": {"1": 40.0, "2": 80.0}, "cpu": {"1": 40.0, "2": 75.0}},
    }


def test_targets_met_are_reported_met() -> None:
    table = report({"Redis": results(pattern=0.97, safety=0.93, fairness=1.10)})

    assert "| Redis | ServiceTask / bare task throughput | 0.970 | ≥ 0.95: met |" in table
    assert "| Redis | recommended / Celery defaults throughput | 0.930 | ≥ 0.90: met |" in table
    assert "| 1.10 | ≤ 1.15: met |" in table
    assert "MISSED" not in table


def test_targets_missed_are_reported_missed() -> None:
    table = report({"Redis": results(pattern=0.90, safety=0.50, fairness=1.30)})

    assert table.count("MISSED") == 3


def test_the_safety_target_applies_to_redis_only() -> None:
    table = report({"RabbitMQ": results(pattern=0.99, safety=0.50, fairness=1.0)})

    assert "MISSED" not in table
    assert TARGETS["safety"] == 0.90
