"""The service's commands, run as an operator runs them: ``celery -A <package> ...``."""

from __future__ import annotations

import os
import subprocess
import sys

from . import under_test


def celery_argv() -> list[str]:
    """``celery -A <package>`` with this interpreter, as the argument list of a process."""
    return [sys.executable, "-m", "celery", "-A", under_test().package]


def celery(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``celery -A <package> <arguments>`` to its end, with ``variables`` set."""
    return subprocess.run(
        [*celery_argv(), *arguments],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
