"""The marks a process leaves for the probe command: heartbeats and a readiness mark.

A heartbeat file holds the instant (on the system's monotonic clock, which every
process of the host shares and no clock adjustment moves) until which its
process counts as live; the writer sets it to its next heartbeat plus the
liveness window, so the probe needs no configuration of its own. A readiness mark
is a file that exists while its worker consumes. Files are replaced atomically:
the probe never reads half a mark.

Only the standard library: the probe command imports this module.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The variable naming the directory, read by the service's settings and by the probe.
DIR_VARIABLE = "HEALTH_DIR"
WORKER_PREFIX = "worker-"
ALIVE = ".alive"
READY = ".ready"
BEAT = "beat"
# Every write has a temporary file of its own: a write from a signal handler may
# interrupt another one in the same process.
_writes = itertools.count()


def default_dir(package: str) -> Path:
    """Where a service's marks live unless ``HEALTH_DIR`` says otherwise.

    A writable directory: with a read-only root filesystem, a volume such as an
    ``emptyDir`` mounted there. The service's settings take the same default.
    """
    return Path(tempfile.gettempdir()) / f"{package}-health"


def health_dir(package: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The marks directory the environment names (``HEALTH_DIR``), or the package's default."""
    return Path(environ.get(DIR_VARIABLE) or default_dir(package))


def worker_mark_name(node: str) -> str:
    """The file name stem of the worker with node name ``node``: ``worker-worker@host``."""
    return f"{WORKER_PREFIX}{node}"


@dataclass(frozen=True)
class Marks:
    """The marks of one process (a worker node, or beat) in ``directory``."""

    directory: Path
    name: str

    @property
    def alive_path(self) -> Path:
        """The heartbeat file."""
        return self.directory / f"{self.name}{ALIVE}"

    @property
    def ready_path(self) -> Path:
        """The readiness mark."""
        return self.directory / f"{self.name}{READY}"

    def heartbeat(self, alive_for: float) -> None:
        """Count as live for ``alive_for`` more seconds."""
        self.directory.mkdir(parents=True, exist_ok=True)
        content = {"alive_until": time.monotonic() + alive_for, "pid": os.getpid()}
        temporary = self.directory / f".{self.alive_path.name}.{os.getpid()}.{next(_writes)}"
        temporary.write_text(json.dumps(content), encoding="utf-8")
        temporary.replace(self.alive_path)

    def set_ready(self) -> None:
        """Mark the process ready."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ready_path.touch()

    def withdraw_ready(self) -> None:
        """Mark the process not ready."""
        self.ready_path.unlink(missing_ok=True)

    def liveness_problem(self) -> str | None:
        """Why the process is not live, or None if it is."""
        try:
            content = json.loads(self.alive_path.read_text(encoding="utf-8"))
            alive_until = float(content["alive_until"])
        except FileNotFoundError:
            return f"no heartbeat yet in {self.alive_path} (starting, or never started)"
        except (OSError, ValueError, KeyError, TypeError) as error:
            return f"unreadable heartbeat file {self.alive_path}: {error}"
        late = time.monotonic() - alive_until
        if late > 0:
            return f"heartbeat overdue by {late:.1f} s (pid {content.get('pid')})"
        return None

    def readiness_problem(self) -> str | None:
        """Why the process is not ready (not live, or no readiness mark), or None if it is."""
        problem = self.liveness_problem()
        if problem is not None:
            return problem
        if not self.ready_path.exists():
            return "not consuming: starting, reconnecting to the broker, or shutting down"
        return None


def worker_nodes(directory: Path) -> list[str]:
    """The node names of the workers whose heartbeats are in ``directory``."""
    stems = (path.name.removesuffix(ALIVE) for path in directory.glob(f"{WORKER_PREFIX}*{ALIVE}"))
    return sorted(stem.removeprefix(WORKER_PREFIX) for stem in stems)
