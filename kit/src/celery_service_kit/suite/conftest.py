"""The kit's suites: the modules of options the service did not choose are not collected.

Their libraries (OpenTelemetry, Sentry's SDK, RedBeat) come with the kit's extras
the service chose, so such a module is left out before it is imported; the tests
of the options it did choose run, and none is ever skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from celery_service_kit.testing import under_test
from celery_service_kit.testing.plugin import FEATURES

#: Modules that import an option's library, and the option.
OPTION_MODULES = {
    "test_beat.py": "beat",
    "test_tracing.py": "tracing",
    "test_error_tracking.py": "error-tracking",
}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out the module of an option the service does not have."""
    option = OPTION_MODULES.get(collection_path.name)
    if option is not None and not FEATURES[option](under_test().app):
        return True
    return None
