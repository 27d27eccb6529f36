"""The kit's test harness: a service's tests, and the kit's suites, against its own app.

The pytest plugin (``plugin.py``) reads which service it tests from two settings of
the service's ``pyproject.toml``::

    [tool.pytest.ini_options]
    addopts = ["-p", "celery_service_kit.testing.plugin"]
    celery_service_app = "orders_worker.celery_app:app"
    celery_service_environments = "orders_worker.settings:ENVIRONMENTS"

and :func:`under_test` hands the service to the harness's helpers: real ``celery``
processes (``processes.py``), the real services (``services.py``), a Redis of a
test's own (``redis_server.py``), polling (``polling.py``), the probe tasks
(``probes.py``) and the deploy files' worker groups (``worker_groups.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..app import ServiceApp
from ..health.probe import installed_command
from ..routing import STANDARD_QUEUES

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["ServiceUnderTest", "under_test"]


def import_object(reference: str) -> Any:
    """The object a ``module:attribute`` reference names."""
    module_name, _, attribute = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value


@dataclass(frozen=True, eq=False)
class ServiceUnderTest:
    """The service a test run is about: where its app and test settings are, and its files."""

    #: ``module:attribute`` of the service's app (imported on first use).
    app_reference: str
    #: The service's settings class of each ``APP_ENV``.
    environments: Mapping[str, type[Settings]]
    #: The service's project directory (its pyproject.toml, Makefile and deploy files).
    project: Path

    @property
    def settings_class(self) -> type[Settings]:
        """The settings class of ``APP_ENV=test``."""
        return self.environments["test"]

    @cached_property
    def app(self) -> ServiceApp:
        """The service's app, built from the test environment the plugin prepared."""
        app: ServiceApp = import_object(self.app_reference)
        return app

    @property
    def package(self) -> str:
        """The service's package (``celery -A <package>``)."""
        return self.app_reference.partition(":")[0].partition(".")[0]

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue of the service."""
        return self.app.service.queues

    @property
    def domain_queues(self) -> tuple[str, ...]:
        """The service's own queues, besides ``default`` and ``critical``."""
        return self.queues[len(STANDARD_QUEUES) :]

    def rebuilt_app(self) -> ServiceApp:
        """Another app of the service, from the environment of now; not the current app."""
        return ServiceApp(
            self.package,
            self.settings_class(),
            domain_queues=self.domain_queues,
            set_as_current=False,
        )

    @property
    def probe_command(self) -> Path:
        """The service's probe command (the console script running its ``probe``)."""
        return installed_command(self.package)


_under_test: ServiceUnderTest | None = None


def set_under_test(service: ServiceUnderTest) -> None:
    """Name the service of this run (the plugin does, from the ini settings)."""
    global _under_test
    _under_test = service


def under_test() -> ServiceUnderTest:
    """The service of this test run."""
    if _under_test is None:
        raise RuntimeError(
            "no service under test: enable the plugin (-p celery_service_kit.testing.plugin) "
            "and set celery_service_app and celery_service_environments in the pytest settings"
        )
    return _under_test
