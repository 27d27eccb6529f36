"""The benchmark's report: a Markdown table with the targets' outcomes, and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = {
    "overhead": 0.05,  # the pattern costs at most 5% of a bare task's throughput
    "safety": 0.90,  # the recommended settings keep 90% of the defaults' (Redis)
    "fairness": 1.15,  # makespan at most 15% above ideal, recommended settings
}


def broker_name(url: str) -> str:
    """Redis or RabbitMQ."""
    return "Redis" if url.startswith("redis") else "RabbitMQ"


def verdict(passed: bool) -> str:
    """A target's outcome."""
    return "met" if passed else "MISSED"


def report(results: dict[str, dict[str, Any]]) -> str:
    """The results as a Markdown table, with the targets' outcomes."""
    lines = [
        "| Broker | Measure | Value | Target |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        throughput = result["throughput"]
        pattern = throughput["noop/recommended"] / throughput["bare_noop/recommended"]
        safety = throughput["noop/recommended"] / throughput["noop/celery-defaults"]
        without_events = throughput["noop/recommended-without-events"]
        delivery = without_events / throughput["noop/celery-defaults"]
        ten_ms = result["throughput_10ms"]
        safety_10ms = ten_ms["recommended"] / ten_ms["celery-defaults"]
        fair = result["fairness"]
        latency = result["latency_ms"]
        lines += [
            f"| {name} | no-op tasks/s, ServiceTask, recommended settings "
            f"| {throughput['noop/recommended']:.0f} | |",
            f"| {name} | ServiceTask / bare task throughput | {pattern:.3f} "
            f"| ≥ {1 - TARGETS['overhead']:.2f}: {verdict(pattern >= 1 - TARGETS['overhead'])} |",
            f"| {name} | recommended / Celery defaults throughput | {safety:.3f} "
            + (
                f"| ≥ {TARGETS['safety']:.2f}: {verdict(safety >= TARGETS['safety'])} |"
                if name == "Redis"
                else "| |"
            ),
            f"| {name} | the same without task events (delivery settings only) "
            f"| {delivery:.3f} | |",
            f"| {name} | recommended / Celery defaults throughput, 10 ms tasks "
            f"| {safety_10ms:.3f} | |",
            f"| {name} | publish-to-start latency p50 / p99 | {latency['p50']:.1f} / "
            f"{latency['p99']:.1f} ms | |",
            f"| {name} | fairness (makespan / ideal, 2nd worker 0.2 s late), recommended | "
            f"{fair['recommended']:.2f} | ≤ {TARGETS['fairness']:.2f}: "
            f"{verdict(fair['recommended'] <= TARGETS['fairness'])} |",
            f"| {name} | fairness (makespan / ideal), Celery defaults | "
            f"{fair['celery-defaults']:.2f} | |",
        ]
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
    sweep.set(xlabel="processes (--concurrency)", ylabel="tasks / s", xscale="log")
    sweep.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
    sweep.set_title(f"Concurrency sweep ({next(iter(results.values()))['cpus']} CPUs)")
    sweep.legend()
    names = list(results)
    for offset, variant in ((-0.2, "recommended"), (0.2, "celery-defaults")):
        values = [results[name]["fairness"][variant] for name in names]
        fair.bar([n + offset for n in range(len(names))], values, width=0.4, label=variant)
    fair.axhline(TARGETS["fairness"], color="grey", linestyle="--", label="target")
    fair.set(xticks=range(len(names)), xticklabels=names, ylabel="makespan / ideal")
    fair.set_title("Long tasks among short ones, 2 workers")
    fair.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
