"""The Celery service kit: the generic part of every service made from the template.

A service builds its app with :class:`ServiceApp` from its settings (a subclass of
:class:`Settings` per environment, loaded by :func:`load_settings`) and writes its
tasks with the pattern's names, all importable from here::

    from celery_service_kit import PermanentError, idempotent, key, redis_client, task_lock

The names are loaded on first use, so that importing a submodule stays cheap (the
probe command imports ``celery_service_kit.health`` without Celery).
"""

from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServiceApp
    from .environments import ConfigurationError, load_settings
    from .reliability import (
        TRANSIENT_ERRORS,
        AlreadyRunningError,
        BusyError,
        LockBusyError,
        PermanentError,
        RateLimitedError,
        ResultIgnoredError,
        ServiceTask,
        TransientError,
        extend_lock,
        hold_lock,
        idempotent,
        rate_limited,
        task_lock,
    )
    from .service import current_service, key, redis_client
    from .settings import SentrySettings, Settings

__all__ = [
    "TRANSIENT_ERRORS",
    "AlreadyRunningError",
    "BusyError",
    "ConfigurationError",
    "LockBusyError",
    "PermanentError",
    "RateLimitedError",
    "ResultIgnoredError",
    "SentrySettings",
    "ServiceApp",
    "ServiceTask",
    "Settings",
    "TransientError",
    "current_service",
    "extend_lock",
    "hold_lock",
    "idempotent",
    "key",
    "load_settings",
    "rate_limited",
    "redis_client",
    "task_lock",
]

#: The module of each public name that is not in ``reliability``.
_HOMES = {
    "ServiceApp": "app",
    "ConfigurationError": "environments",
    "load_settings": "environments",
    "Settings": "settings",
    "SentrySettings": "settings",
    "current_service": "service",
    "key": "service",
    "redis_client": "service",
}
__version__ = version("celery-service-kit")


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name in __all__:
        module = importlib.import_module(f".{_HOMES.get(name, 'reliability')}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
