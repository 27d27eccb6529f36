"""{{ cookiecutter.project_name }}: the service's Celery application and tasks.

Celery's ``-A`` option finds the application as this package's ``app``, as in
``celery -A {{ cookiecutter.package_name }} worker``.

The application is built on first use, from the environment of that moment, so
that importing a submodule (the settings, in a test or a tool) does not read the
environment before its caller has set it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .celery_app import app, priority, settings

__all__ = ["app", "priority", "settings"]


def __getattr__(name: str) -> Any:
    """Build the Celery application on first access to ``app``, ``priority`` or ``settings``."""
    if name in __all__:
        from . import celery_app

        return getattr(celery_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
