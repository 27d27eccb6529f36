"""The probe command, run as a health check would run it, and the settings that make it fast."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from . import under_test

#: A test-sized heartbeat: late by more than the window (the least allowed), a worker
#: is not live.
INTERVAL = 0.5
WINDOW = 5.0


def health_environment(directory: Path) -> dict[str, str]:
    """The variables that give a worker or beat its own marks directory and test timings."""
    return {
        "HEALTH_DIR": str(directory),
        "HEALTH_HEARTBEAT_INTERVAL": str(INTERVAL),
        "HEALTH_LIVENESS_WINDOW": str(WINDOW),
    }


def probe_path() -> Path:
    """The service's probe command, installed beside this interpreter."""
    return under_test().probe_command


def probe(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``<slug>-probe <arguments>`` on the marks in ``directory``."""
    return subprocess.run(
        [str(probe_path()), *arguments],
        env={**os.environ, "HEALTH_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def passes(directory: Path, *arguments: str) -> bool:
    """Whether the probe exits 0."""
    return probe(directory, *arguments).returncode == 0
