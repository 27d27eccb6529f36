"""{{ cookiecutter.project_name }}: the service's Celery application and tasks.

Celery's ``-A`` option finds the application as this package's ``app``, as in
``celery -A {{ cookiecutter.package_name }} worker``. It is built on first use, from
the environment of that moment, so that importing a submodule (the settings, in a
test or a tool) does not read the environment before its caller has set it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .celery_app import app

__all__ = ["app", "probe"]


def __getattr__(name: str) -> Any:
    """Build the Celery application on first access to ``app``."""
    if name == "app":
        from .celery_app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def probe() -> int:
    """The probe command of the health checks (``{{ cookiecutter.project_slug }}-probe``).

    The kit's, on this service's health marks: it imports no Celery (README, "Health
    probes").
    """
    from celery_service_kit.health.probe import main

    return main(package=__name__)
