"""The private parts of Celery, kombu and Flower the kit touches are those it was written for.

Each function the kit copies, replaces or wraps (``upstream.py``) is fingerprinted;
an installed Celery, kombu or Flower whose function differs fails here, naming it,
before a worker meets the difference.
"""

from __future__ import annotations

from importlib.metadata import requires, version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from celery_service_kit import upstream


@pytest.mark.parametrize("name", sorted(upstream.WRITTEN_AGAINST))
def test_what_the_kit_copies_or_replaces_is_unchanged_upstream(name: str) -> None:
    installed = upstream.fingerprint(upstream.resolve(name))

    assert installed == upstream.WRITTEN_AGAINST[name], (
        f"{name} is not the one celery_service_kit.upstream was written against: review "
        "the kit's use of it, then record `python -m celery_service_kit.upstream`"
    )


def test_a_changed_function_is_named() -> None:
    def replaced() -> int:
        return 2

    assert upstream.fingerprint(replaced) != upstream.fingerprint(lambda: 2)


@pytest.mark.parametrize("distribution", ["celery", "kombu", "flower"])
def test_the_libraries_it_touches_are_pinned_to_one_minor_version(distribution: str) -> None:
    [pin] = [
        requirement
        for requirement in map(Requirement, requires("celery-service-kit") or [])
        if requirement.name == distribution and not requirement.marker
    ]
    lower = Version(next(spec.version for spec in pin.specifier if spec.operator == ">="))
    upper = Version(next(spec.version for spec in pin.specifier if spec.operator == "<"))

    assert (upper.major, upper.minor) == (lower.major, lower.minor + 1), str(pin)
    assert pin.specifier.contains(version(distribution))
