"""``make bench``'s report: ratios, and whether each target is met (no timing here)."""

from __future__ import annotations

from typing import Any

from celery_service_kit.bench.report import TARGETS, report


def results(extra_us: float, safety: float, fairness: float) -> dict[str, Any]:
    """Results where a bare no-op task costs 2 000 µs (2 CPUs, 1 000 tasks/s)."""
    bare = 1000.0
    rounds = {
        "noop/recommended": [bare * 0.98, bare * 0.96, bare * 1.01],
        "noop/recommended-short-tasks": [bare * 1.2, bare * 1.1, bare * 1.3],
        "bare_noop/recommended": [bare, bare, bare],
        "noop/recommended-without-events": [bare, bare, bare],
    }
    short_tasks = rounds["noop/recommended-short-tasks"]
    rounds["noop/celery-defaults"] = [value / safety for value in short_tasks]
    return {
        "cpus": 2,
        "throughput": {name: sorted(values)[1] for name, values in rounds.items()},
        "throughput_rounds": rounds,
        "run_cost_us": {"service": 100.0 + extra_us, "bare": 100.0},
        "throughput_10ms": {
            "recommended": 180.0,
            "recommended-short-tasks": 188.0,
            "celery-defaults": 190.0,
        },
        "latency_ms": {"p50": 4.0, "p99": 9.0},
        "fairness": {
            "recommended": fairness,
            "recommended-short-tasks": 1.4,
            "celery-defaults": 1.6,
            "routed": 1.8,
        },
        "short_tasks_done_s": {
            "recommended": 3.1,
            "recommended-short-tasks": 3.3,
            "celery-defaults": 3.4,
            "routed": 0.7,
        },
        "concurrency": {"io": {"1": 40.0, "2": 80.0}, "cpu": {"1": 40.0, "2": 75.0}},
    }


def test_targets_met_are_reported_met() -> None:
    table = report({"Redis": results(extra_us=20.0, safety=0.93, fairness=1.10)})

    assert "| +20.0 µs, 1.00% | ≤ 5%: met |" in table
    safety = "| recommended, short-tasks / Celery defaults throughput | 0.930 (0.93-0.93) |"
    assert f"{safety} ≥ 0.90: met |" in table
    assert "| 1.10 | ≤ 1.15: met |" in table
    assert "MISSED" not in table


def test_ratios_are_taken_round_by_round_with_their_range() -> None:
    table = report({"Redis": results(extra_us=20.0, safety=0.93, fairness=1.10)})

    row = "| ServiceTask / bare task throughput, median of rounds (range) | 0.980 (0.96-1.01) |"
    assert row in table


def test_targets_missed_are_reported_missed() -> None:
    table = report({"Redis": results(extra_us=150.0, safety=0.50, fairness=1.30)})

    assert "| +150.0 µs, 7.50% | ≤ 5%: MISSED |" in table
    assert table.count("MISSED") == 3


def test_the_safety_target_applies_to_redis_only() -> None:
    table = report({"RabbitMQ": results(extra_us=1.0, safety=0.50, fairness=1.0)})

    assert "MISSED" not in table
    assert TARGETS["safety"] == 0.90


def test_the_shared_redis_client_is_compared_with_kombus_where_measured() -> None:
    measured = results(extra_us=20.0, safety=0.93, fairness=1.10)
    kombus = [value / 1.25 for value in measured["throughput_rounds"]["noop/recommended"]]
    measured["throughput_rounds"]["noop/recommended-per-call-clients"] = kombus

    row = "| one Redis client per channel / kombu's client per call, recommended | 1.250 "
    assert row in report({"Redis": measured})
    assert "kombu's client per call" not in report({"RabbitMQ": results(1.0, 0.9, 1.0)})


def test_the_routed_burst_is_reported_beside_the_single_queue_ones() -> None:
    table = report({"Redis": results(extra_us=20.0, safety=0.93, fairness=1.10)})

    routed = "| burst, long tasks routed to their own worker: makespan / ideal; "
    assert f"{routed}short tasks all ended after | 1.80; 0.70 s | |" in table
    assert "| burst, one queue, long-tasks: makespan / ideal; short tasks all ended after" in table
