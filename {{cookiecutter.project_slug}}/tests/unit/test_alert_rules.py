"""The alert rules load in Prometheus, fire when they should, and watch real metrics."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from celery_service_kit.ops import exporter
from celery_service_kit.ops.queues import QueueStats

from {{ cookiecutter.package_name }} import app

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
ALERTS = RULES / "alerts.yml"


def promtool(*arguments: str) -> str:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.skip("promtool is not on PATH (Debian/Ubuntu: apt install prometheus)")
    result = subprocess.run(
        [executable, *arguments], cwd=RULES, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def alert_names(text: str, key: str) -> set[str]:
    return set(re.findall(rf"^\s*-?\s*{key}: (\w+)$", text, flags=re.MULTILINE))


def test_the_rules_load_and_their_tests_pass() -> None:
    promtool("check", "rules", ALERTS.name)
    promtool("test", "rules", "alerts.test.yml")


def test_every_alert_has_a_test() -> None:
    alerts = alert_names(ALERTS.read_text(encoding="utf-8"), "alert")
    tested = alert_names((RULES / "alerts.test.yml").read_text(encoding="utf-8"), "alertname")

    assert len(alerts) == 5
    assert alerts == tested


def test_the_rules_use_only_metrics_the_exporter_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every source answers, with every figure either broker can give.
    everything = {"default": QueueStats(ready=1, unacked=1, consumers=1)}
    monkeypatch.setattr(exporter, "queue_stats", lambda *_: everything)
    monkeypatch.setattr(app.service.dead_letters, "totals", lambda *_: (1, 1))
    collector = exporter.QueueCollector(app, app.service)
    served = {sample.name for family in collector.collect() for sample in family.samples}

    used = set(re.findall(r"\bcelery_[a-z_]+", ALERTS.read_text(encoding="utf-8")))
    assert used
    assert used <= served, used - served
    scrape = (RULES / "scrape.example.yml").read_text(encoding="utf-8")
    job = re.search(r"job_name: (\S+)", scrape)
    assert job is not None
    assert 'up{job="' + job.group(1) + '"}' in ALERTS.read_text(encoding="utf-8")
