"""Unit tests: no broker, no Redis; each test starts from a clean environment."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.config.base import Settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Unset every variable the settings read, then let the test set its own."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch
