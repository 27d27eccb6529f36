"""The kit's pytest plugin: a service's tests, and the kit's suites, against its own app.

Enabled by ``-p celery_service_kit.testing.plugin`` (the service's pytest settings,
which also name its app and test settings: see the package's docstring). It:

* prepares the environment before any test module imports the service: the real
  Redis and broker of this run (``services.py``), ``APP_ENV=test``, and no
  OpenTelemetry export or Sentry report but to the tests' own receivers;
* provides Celery's pytest fixtures (``celery.contrib.pytest``) bound to the
  service's app: ``celery_app`` and ``celery_session_app`` are the service's app,
  ``celery_worker`` Celery's in-process worker on every queue of the service;
* provides the harness's fixtures: ``services``, ``store``, ``empty_queues``,
  ``worker``, ``recorder``, ``start_worker`` (real worker processes),
  ``worker_profile``, ``start_flower``, ``environment``;
* marks tests by directory (``integration``, ``worker``) and leaves out the tests
  of options the service did not choose (``@pytest.mark.requires("beat")``):
  deselected, never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import pytest
import redis
from celery import Task, signals
from celery.contrib.pytest import (
    celery_config,
    celery_enable_logging,
    celery_includes,
    celery_parameters,
    use_celery_app_trap,
)
from celery.contrib.testing.worker import start_worker as start_in_process_worker
from celery.worker import WorkController

from ..app import ServiceApp
from ..settings import WorkerProfile
from . import ServiceUnderTest, import_object, set_under_test, under_test
from .processes import CeleryProcess, FlowerProcess, StartWorker, WorkerProcess, processes_of_a_test
from .queues import empty_service_queues
from .recording import Recorder, WorkerFactory
from .services import TestServices, for_this_run, service_stores_results

# Celery's fixtures this plugin keeps as they are (the others are redefined below).
__all__ = [
    "celery_config",
    "celery_enable_logging",
    "celery_includes",
    "celery_parameters",
    "use_celery_app_trap",
]

APP_SETTING = "celery_service_app"
ENVIRONMENTS_SETTING = "celery_service_environments"

#: What a ``requires`` marker may name, and whether the service under test has it.
FEATURES: dict[str, Callable[[ServiceApp], bool]] = {
    "redis-broker": lambda app: app.settings.broker_is_redis,
    "rabbitmq": lambda app: not app.settings.broker_is_redis,
    "quorum-queues": lambda app: app.settings.quorum_queues,
    "priorities": lambda app: not app.settings.quorum_queues,
    "results": lambda app: app.settings.celery_result_backend is not None,
    "beat": lambda app: "beat" in app.features,
    "tracing": lambda app: "tracing" in app.features,
    "error-tracking": lambda app: "error-tracking" in app.features,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The two settings that name the service under test."""
    parser.addini(APP_SETTING, "module:attribute of the service's Celery app")
    parser.addini(
        ENVIRONMENTS_SETTING, "module:attribute of the service's settings class per APP_ENV"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Name the service and prepare its environment before any conftest imports it."""
    app_reference = str(early_config.getini(APP_SETTING) or "")
    environments_reference = str(early_config.getini(ENVIRONMENTS_SETTING) or "")
    if not (app_reference and environments_reference):
        raise pytest.UsageError(
            f"celery_service_kit.testing.plugin needs {APP_SETTING} and {ENVIRONMENTS_SETTING} "
            "in the pytest settings (pyproject.toml, [tool.pytest.ini_options])"
        )
    environments = import_object(environments_reference)
    service = ServiceUnderTest(app_reference, environments, Path(early_config.rootpath))
    set_under_test(service)
    prepare_environment(service)


def prepare_environment(service: ServiceUnderTest) -> None:
    """Point the service at this run's services, with the test settings."""
    services = for_this_run(service.settings_class)
    os.environ["APP_ENV"] = "test"
    os.environ["CELERY_BROKER_URL"] = services.broker_url
    os.environ["REDIS_URL"] = services.store_url
    if service_stores_results(service.settings_class):
        os.environ["CELERY_RESULT_BACKEND"] = services.results_url
    # The test process exports no spans and reports nothing (no collector or Sentry
    # here); the tests of those start workers that send to local receivers.
    os.environ["OTEL_SDK_DISABLED"] = "true"
    os.environ.pop("SENTRY_DSN", None)


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers the harness uses."""
    config.addinivalue_line(
        "markers", "integration: needs the real broker and Redis (an in-process worker)"
    )
    config.addinivalue_line("markers", "worker: starts real `celery worker` processes")
    config.addinivalue_line(
        "markers", f"requires(feature): only for a service with it ({', '.join(FEATURES)})"
    )
    config.addinivalue_line("markers", "celery(**overrides): Celery's per-test app settings")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by directory; leave out those of options the service did not choose."""
    app = under_test().app
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        kind = Path(item.path).parent.name
        if kind in {"integration", "worker", "faults"}:
            item.add_marker("worker" if kind == "faults" else kind)
        needed = [marker.args[0] for marker in item.iter_markers("requires")]
        unknown = [feature for feature in needed if feature not in FEATURES]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown requires({unknown[0]!r})")
        (kept if all(FEATURES[feature](app) for feature in needed) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# --- Services ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def services() -> TestServices:
    """The real services, or a failure (a skip for RabbitMQ outside CI) saying how to get them."""
    found = for_this_run(under_test().settings_class)
    if found.missing and found.skippable:
        pytest.skip(found.missing)
    if found.missing:
        pytest.fail(found.missing)
    return found


@pytest.fixture
def store(services: TestServices) -> Iterator[redis.Redis]:
    """The service's Redis database, empty at the start of each test."""
    client = redis.Redis.from_url(services.store_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def empty_queues(services: TestServices) -> None:
    """Every queue of the service empty on the broker, so that no leftover is consumed."""
    empty_service_queues()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Unset every variable the settings read, then let the test set its own."""
    for name in under_test().settings_class.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


# --- Celery's fixtures, bound to the service's app ----------------------------------


@pytest.fixture(scope="session")
def celery_session_app() -> ServiceApp:
    """The service's own app (Celery's fixture would build a test app of its own)."""
    return under_test().app


@pytest.fixture
def celery_app() -> ServiceApp:
    """The service's own app (Celery's fixture would build a test app of its own)."""
    return under_test().app


@pytest.fixture(scope="session")
def celery_worker_pool() -> str:
    """Threads: with one, tasks run one at a time, in order.

    (The solo pool stalls between RabbitMQ deliveries until the loop's next timer.)
    """
    return "threads"


@pytest.fixture(scope="session")
def celery_worker_parameters() -> dict[str, Any]:
    """Every queue of the service, one thread, and a prompt stop."""
    return {
        "queues": list(under_test().queues),
        "concurrency": 1,
        "perform_ping_check": False,
        "shutdown_timeout": 30,
        # Worker heartbeats wake the event loop every 2 s, so that it notices the
        # stop request; without them an idle RabbitMQ consumer sleeps 10 s first.
        "without_heartbeat": False,
    }


@pytest.fixture
def worker(
    empty_queues: None,
    celery_app: ServiceApp,
    celery_worker_pool: str,
    celery_worker_parameters: dict[str, Any],
) -> WorkerFactory:
    """Start ``celery_worker`` later in a test, or with other parameters.

    ``with worker(queues=(...), concurrency=3):`` starts on empty queues, like it;
    what is not given is ``celery_worker_parameters``'.
    """

    @contextmanager
    def start(**overrides: Any) -> Iterator[WorkController]:
        parameters = {**celery_worker_parameters, **overrides}
        parameters["queues"] = list(parameters["queues"])
        with start_in_process_worker(celery_app, pool=celery_worker_pool, **parameters) as worker:
            yield worker

    return start


@pytest.fixture
def celery_worker(worker: WorkerFactory) -> Iterator[WorkController]:
    """An in-process worker for the test, started on empty queues (all of the service's)."""
    with worker() as controller:
        yield controller


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Records every task run that ends (task_postrun) and every retry (task_retry)."""
    recorder = Recorder()

    def on_postrun(
        sender: Task[Any, Any],
        task_id: str,
        args: tuple[Any, ...],
        state: str,
        retval: Any,
        **_: Any,
    ) -> None:
        recorder.record_run(sender, task_id, args, state, retval)

    def on_retry(request: Any, reason: Any, **_: Any) -> None:
        recorder.record_retry(request.id, float(reason.when))

    signals.task_postrun.connect(on_postrun, weak=False)
    signals.task_retry.connect(on_retry, weak=False)
    yield recorder
    signals.task_postrun.disconnect(on_postrun)
    signals.task_retry.disconnect(on_retry)


# --- Real processes ------------------------------------------------------------------


@pytest.fixture
def started() -> Iterator[list[CeleryProcess]]:
    """The processes of this test, killed when it ends."""
    with processes_of_a_test() as processes:
        yield processes


@pytest.fixture
def start_worker(empty_queues: None, started: list[CeleryProcess], tmp_path: Path) -> StartWorker:
    """Start real workers: ``start_worker("name", queues=..., concurrency=..., environment=...)``.

    They start on empty queues (all of the service's, unless ``queues`` says otherwise).
    """

    def start(name: str = "worker", **options: Any) -> WorkerProcess:
        options.setdefault("queues", under_test().queues)
        process = WorkerProcess(name, log_dir=tmp_path, **options)
        started.append(process)
        process.start()
        return process

    return start


@pytest.fixture(params=get_args(WorkerProfile))
def worker_profile(request: pytest.FixtureRequest) -> WorkerProfile:
    """Each worker profile in turn: for the faults whose outcome prefetching could change."""
    profile: WorkerProfile = request.param
    return profile


@pytest.fixture
def start_flower(
    services: TestServices, started: list[CeleryProcess], tmp_path: Path
) -> Callable[..., FlowerProcess]:
    """Start Flower: ``start_flower(environment={...}, cwd=..., options=[...], wait=True)``."""

    def start(wait: bool = True, **options: Any) -> FlowerProcess:
        flower = FlowerProcess("flower", log_dir=tmp_path, **options)
        started.append(flower)
        if wait:
            flower.start()
        return flower

    return start
