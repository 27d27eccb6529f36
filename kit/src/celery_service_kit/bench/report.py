"""The benchmark's report: a Markdown table with the targets' outcomes, and a plot."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

TARGETS = {
    "overhead": 0.05,  # the pattern costs at most 5% of a bare task's throughput
    # Each worker profile is held to what it is for: short-tasks to the throughput of
    # Celery's defaults on short tasks, long-tasks to fairness among long ones.
    "safety": 0.90,  # short-tasks keeps 90% of the defaults' no-op throughput (Redis)
    "fairness": 1.15,  # makespan at most 15% above ideal, long-tasks (the default profile)
}


#: The fairness burst's variants: one queue under each profile and Celery's defaults, and
#: the long tasks routed to a queue with a long-tasks worker of its own.
BURST_VARIANTS = {
    "recommended": "one queue, long-tasks",
    "recommended-short-tasks": "one queue, short-tasks",
    "celery-defaults": "one queue, Celery defaults",
    "routed": "long tasks routed to their own worker",
}


def broker_name(url: str) -> str:
    """Redis or RabbitMQ."""
    return "Redis" if url.startswith("redis") else "RabbitMQ"


def verdict(passed: bool) -> str:
    """A target's outcome."""
    return "met" if passed else "MISSED"


def round_ratios(result: dict[str, Any], numerator: str, denominator: str) -> list[float]:
    """``numerator / denominator`` throughput, round by round (measured minutes apart at most)."""
    rounds = result["throughput_rounds"]
    return [a / b for a, b in zip(rounds[numerator], rounds[denominator], strict=True)]


def median_and_range(values: list[float]) -> str:
    """The median, with the range when there are several values."""
    median = f"{statistics.median(values):.3f}"
    return f"{median} ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else median


def pattern_share(result: dict[str, Any]) -> tuple[float, float]:
    """ServiceTask's own cost per run (µs, in-process) and its share of a bare task's cost.

    A bare no-op task costs ``cpus / throughput`` seconds of the machine (the
    workers saturate every CPU); the pattern adds the in-process difference.
    """
    costs = result["run_cost_us"]
    extra = costs["service"] - costs["bare"]
    per_task = result["cpus"] * 1e6 / result["throughput"]["bare_noop/recommended"]
    return extra, extra / per_task


def report(results: dict[str, dict[str, Any]]) -> str:
    """The results as a Markdown table, with the targets' outcomes."""
    lines = [
        "| Broker | Measure | Value | Target |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        throughput = result["throughput"]
        pattern = round_ratios(result, "noop/recommended", "bare_noop/recommended")
        extra, share = pattern_share(result)
        safety = round_ratios(result, "noop/recommended-short-tasks", "noop/celery-defaults")
        safety_long = round_ratios(result, "noop/recommended", "noop/celery-defaults")
        delivery = round_ratios(result, "noop/recommended-without-events", "noop/celery-defaults")
        ten_ms = result["throughput_10ms"]
        safety_10ms = ten_ms["recommended-short-tasks"] / ten_ms["celery-defaults"]
        safety_10ms_long = ten_ms["recommended"] / ten_ms["celery-defaults"]
        fair, short_done = result["fairness"], result["short_tasks_done_s"]
        latency = result["latency_ms"]
        safety_met = verdict(statistics.median(safety) >= TARGETS["safety"])
        safety_target = f" ≥ {TARGETS['safety']:.2f}: {safety_met} " if name == "Redis" else " "
        lines += [
            f"| {name} | no-op tasks/s, ServiceTask, recommended settings "
            f"| {throughput['noop/recommended']:.0f} | |",
            f"| {name} | ServiceTask / bare task throughput, median of rounds (range) "
            f"| {median_and_range(pattern)} | |",
            f"| {name} | ServiceTask's own cost per run, share of a bare task's cost "
            f"| {extra:+.1f} µs, {share:.2%} "
            f"| ≤ {TARGETS['overhead']:.0%}: {verdict(share <= TARGETS['overhead'])} |",
            f"| {name} | recommended, short-tasks / Celery defaults throughput "
            f"| {median_and_range(safety)} |{safety_target}|",
            f"| {name} | recommended, long-tasks / Celery defaults throughput "
            f"| {median_and_range(safety_long)} | |",
            f"| {name} | long-tasks without task events (delivery settings only) "
            f"| {median_and_range(delivery)} | |",
            f"| {name} | short-tasks / Celery defaults throughput, 10 ms tasks "
            f"| {safety_10ms:.3f} | |",
            f"| {name} | long-tasks / Celery defaults throughput, 10 ms tasks "
            f"| {safety_10ms_long:.3f} | |",
            f"| {name} | publish-to-start latency p50 / p99 | {latency['p50']:.1f} / "
            f"{latency['p99']:.1f} ms | |",
            f"| {name} | fairness (makespan / ideal, 2nd worker 0.2 s late), long-tasks | "
            f"{fair['recommended']:.2f} | ≤ {TARGETS['fairness']:.2f}: "
            f"{verdict(fair['recommended'] <= TARGETS['fairness'])} |",
        ]
        for variant, label in BURST_VARIANTS.items():
            lines.append(
                f"| {name} | burst, {label}: makespan / ideal; short tasks all ended after "
                f"| {fair[variant]:.2f}; {short_done[variant]:.2f} s | |"
            )
        if "noop/recommended-per-call-clients" in result["throughput_rounds"]:
            shared = round_ratios(result, "noop/recommended", "noop/recommended-per-call-clients")
            lines.append(
                f"| {name} | one Redis client per channel / kombu's client per call, "
                f"recommended | {median_and_range(shared)} | |"
            )
        for kind, sweep in result["concurrency"].items():
            values = ", ".join(f"{c}: {rate:.0f}" for c, rate in sweep.items())
            label = "I/O-bound (sleep 20 ms)" if kind == "io" else "CPU-bound (20 ms)"
            lines.append(f"| {name} | {label} tasks/s by processes | {values} | |")
    return "\n".join(lines)


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    """The concurrency sweep and the fairness ratios, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (sweep, fair) = plt.subplots(1, 2, figsize=(11, 4))
    for name, result in results.items():
        for kind, marker in (("io", "o"), ("cpu", "s")):
            points = result["concurrency"][kind]
            label = f"{name}, {'I/O' if kind == 'io' else 'CPU'}-bound"
            sweep.plot([int(c) for c in points], list(points.values()), marker=marker, label=label)
    sweep.set(xlabel="processes (--concurrency)", ylabel="tasks / s")
    sweep.set_xscale("log", base=2)
    sweep.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
    sweep.minorticks_off()
    sweep.set_title(f"Concurrency sweep ({next(iter(results.values()))['cpus']} CPUs)")
    sweep.legend()
    names = list(results)
    width = 0.8 / len(BURST_VARIANTS)
    for index, (variant, label) in enumerate(BURST_VARIANTS.items()):
        values = [results[name]["fairness"][variant] for name in names]
        offset = (index - (len(BURST_VARIANTS) - 1) / 2) * width
        fair.bar([n + offset for n in range(len(names))], values, width=width, label=label)
    fair.axhline(TARGETS["fairness"], color="grey", linestyle="--", label="target")
    fair.set(xticks=range(len(names)), xticklabels=names, ylabel="makespan / ideal")
    fair.set_title("Long tasks among short ones, 2 workers")
    fair.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
