"""Flower, the monitoring UI, made safe to expose (used by ``flowerconfig.py``).

Flower reads its options from ``FLOWER_*`` variables (``FLOWER_BASIC_AUTH``,
``FLOWER_COOKIE_SECRET``, ``FLOWER_URL_PREFIX``, ``FLOWER_PERSISTENT``, ...). Its
defaults suit a laptop, not production: with no authentication configured the UI
and its API (which can shut workers down and send tasks) are open to anyone who
reaches the port, and the cookie secret is random per process. So in production
Flower refuses to start without authentication and an explicit cookie secret.

Flower serves ``/metrics`` (Prometheus) and ``/healthcheck`` without
authentication, even when the UI has it. Here ``/metrics`` asks for the UI's
authentication unless ``METRICS_WITHOUT_AUTH=true`` says that exposing it is a
deliberate choice (e.g. the port is reachable only from Prometheus).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flower.views.monitor import Metrics
from tornado.web import authenticated

from ..config import Settings


def flower_problems(settings: Settings, options: Any, environ: Mapping[str, str]) -> list[str]:
    """What keeps Flower from starting safely with these options; empty when it may start."""
    if settings.app_env != "production":
        return []
    problems = []
    if not (options.basic_auth or options.auth):
        problems.append(
            "no authentication: set FLOWER_BASIC_AUTH=user:password (or OAuth with FLOWER_AUTH "
            "and FLOWER_AUTH_PROVIDER); without it the UI and its API, which can stop workers "
            "and send tasks, are open to anyone who reaches the port"
        )
    if not environ.get("FLOWER_COOKIE_SECRET"):
        problems.append(
            "FLOWER_COOKIE_SECRET is not set: Flower would make up a random one per process, "
            "so sessions break at each restart and differ between replicas; set a long random "
            "value from your secret store"
        )
    if environ.get("FLOWER_UNAUTHENTICATED_API", "").lower() in {"1", "true", "yes", "on"}:
        problems.append("FLOWER_UNAUTHENTICATED_API opens the API to anyone: unset it")
    return problems


def require_auth_for_metrics() -> None:
    """Serve ``/metrics`` only to clients that pass the UI's authentication."""
    if not getattr(Metrics.get, "__wrapped__", None):
        Metrics.get = authenticated(Metrics.get)
