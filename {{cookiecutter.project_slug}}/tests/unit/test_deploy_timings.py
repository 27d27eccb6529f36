"""Stop grace periods in the deploy files outlast a worker's longest shutdown.

A supervisor that kills a worker before its shutdown ends kills tasks mid-run. The
longest shutdown comes from the settings (``Settings.shutdown_allowance``: the hard
time limit, then the soft shutdown timeout); raise a time limit and these tests say
which file to change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]


def seconds(path: str, pattern: str) -> int:
    (file,) = PROJECT.glob(path)
    match = re.search(pattern, file.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{path}: no {pattern}"
    return int(match.group(1))


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("compose.yaml", r"stop_grace_period: (\d+)s$"),
        ("deploy/systemd/*-worker@.service", r"^TimeoutStopSec=(\d+)$"),
    ],
)
def test_the_stop_grace_period_outlasts_the_longest_shutdown(
    environment: pytest.MonkeyPatch, path: str, pattern: str
) -> None:
    allowance = Settings().shutdown_allowance

    assert seconds(path, pattern) > allowance, (
        f"{path}: raise it above {allowance:g} s (CELERY_TASK_TIME_LIMIT + "
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT)"
    )
