"""What the kit's code needs of a service at run time, made once where its app is built.

Invariant: one :class:`Service` per app (``app.service``), made from the settings
the app was built with. Code that runs under the app (a task, a signal handler, a
consumer step, a command) finds it through that app, never by reading the
environment again: through the app it was handed, or, inside a task's code, through
the running task's app (:func:`current_service`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from celery import current_app, current_task
from celery.exceptions import ImproperlyConfigured

from .health import marks
from .settings import Settings
from .store import Store

if TYPE_CHECKING:
    from .reliability.dead_letters import DeadLetters

__all__ = ["Service", "current_service", "key", "redis_client", "service_of"]


@dataclass(frozen=True, eq=False)
class Service:
    """A service as the kit sees it: its package, settings and queues, and what follows."""

    #: The package whose ``tasks`` modules hold the tasks; names and keys start with it.
    package: str
    settings: Settings
    #: Every queue of the service: ``default``, ``critical``, then its domain queues.
    queues: tuple[str, ...]
    #: The service's Redis (``REDIS_URL``) and its key namespace.
    store: Store
    #: The tasks that failed for good and the messages workers rejected.
    dead_letters: DeadLetters

    @property
    def health_dir(self) -> Path:
        """Where the worker and beat leave their health marks (``HEALTH_DIR``)."""
        return self.settings.health_dir or marks.default_dir(self.package)


def spool_dir(settings: Settings, package: str) -> Path:
    """Where dead letters wait while the store does not answer (``DEAD_LETTER_SPOOL_DIR``)."""
    default = Path(tempfile.gettempdir()) / f"{package}-dead-letters"
    return settings.dead_letter_spool_dir or default


def service_of(app: Any) -> Service:
    """The service of ``app``; ImproperlyConfigured if the app is not the kit's."""
    service = getattr(app, "service", None)
    if not isinstance(service, Service):
        raise ImproperlyConfigured(
            f"{app!r} is not a celery_service_kit.ServiceApp: build the service's app "
            "with ServiceApp(package, settings, domain_queues=...)"
        )
    return service


def current_service() -> Service:
    """The service of the running task's app, or of the process's current app."""
    task = current_task
    return service_of(task.app if task else current_app)


def redis_client() -> redis.Redis:
    """The current service's Redis client (``REDIS_URL``), for a task's own effects."""
    return current_service().store.client


def key(*parts: str) -> str:
    """A key in the current service's namespace, e.g. ``key("payments")``."""
    return current_service().store.key(*parts)
