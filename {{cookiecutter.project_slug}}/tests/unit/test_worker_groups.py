"""Every deploy file starts the worker groups alike, and none lists the domain queues.

The general group consumes every queue except ``critical`` (Celery's
``--exclude-queues``), so that a queue added to ``routing.py`` needs no change
in any deploy file; ``tests/worker/test_adding_a_queue.py`` proves it. Each group
runs the worker profile the Makefile names for it.
"""

from __future__ import annotations

from typing import get_args

import pytest
from celery_service_kit.routing import CRITICAL_QUEUE
from celery_service_kit.settings import WorkerProfile
from celery_service_kit.testing.worker_groups import (
    GROUPS,
    compose_command,
    compose_environment,
    dockerfile_command,
    dockerfile_environment,
    profile,
    queue_options,
    queue_options_in,
    systemd_environment,
    systemd_queue_options,
)

COMPOSE_SERVICES = {"general": "worker", "critical": "worker-critical"}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_compose_and_systemd_start_each_group_as_the_makefile_does(group: str) -> None:
    expected = queue_options(group)

    assert queue_options_in(compose_command(COMPOSE_SERVICES[group])) == expected
    assert systemd_queue_options(group) == expected


def test_the_image_runs_the_general_group() -> None:
    assert queue_options_in(dockerfile_command()) == queue_options("general")
    assert dockerfile_environment()["WORKER_PROFILE"] == profile("general")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_compose_and_systemd_give_each_group_the_makefiles_profile(group: str) -> None:
    expected = profile(group)

    assert expected in get_args(WorkerProfile)
    assert compose_environment(COMPOSE_SERVICES[group])["WORKER_PROFILE"] == expected
    assert systemd_environment(group)["WORKER_PROFILE"] == expected


def test_urgent_work_never_waits_behind_a_reserved_message() -> None:
    assert profile("critical") == "long-tasks"


def test_the_groups_name_only_the_critical_queue() -> None:
    general, critical = queue_options("general"), queue_options("critical")

    assert general == ["--exclude-queues", CRITICAL_QUEUE]
    assert critical == ["--queues", CRITICAL_QUEUE]
