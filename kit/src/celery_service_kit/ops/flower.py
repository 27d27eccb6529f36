"""Flower, the monitoring UI, safe to expose however it is started.

Flower reads its options from ``FLOWER_*`` variables (``FLOWER_BASIC_AUTH``,
``FLOWER_COOKIE_SECRET``, ``FLOWER_URL_PREFIX``, ``FLOWER_PERSISTENT``, ...). Its
defaults suit a laptop, not production: with no authentication the UI and its API
(which can shut workers down, send tasks and show their arguments) are open to
anyone who reaches the port, and the cookie secret is random per process.

The rules, in production:

* Flower refuses to start without authentication (basic auth with a user and a
  password in every entry, or OAuth), without a ``FLOWER_COOKIE_SECRET`` of at
  least ``MIN_COOKIE_SECRET_CHARS`` characters, or with its API opened on purpose;
* ``/metrics`` (which Flower serves without authentication, as ``/healthcheck``)
  asks for the UI's authentication unless ``METRICS_WITHOUT_AUTH=true`` says
  that exposing it is a deliberate choice.

They are held in the Flower process itself, not by a settings file: Flower reads
``flowerconfig.py`` only from its working directory (or ``--conf``), so a guard
there is skipped by starting it anywhere else. When the service's app is loaded
for ``celery -A <package> flower`` (wherever, however installed),
:func:`guard_flower` has the command check the options before it builds Flower's
application (``upstream.guard_flower_command``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from .. import upstream
from ..settings import Settings

#: Shorter is not a secret: a cookie secret is the key that signs login sessions.
MIN_COOKIE_SECRET_CHARS = 32
#: Forget workers offline this long (s): after rolling updates the old node names
#: would otherwise stay listed, and in the metrics, until Flower restarts.
PURGE_OFFLINE_WORKERS_SECONDS = 3600
TRUE = {"1", "true", "yes", "on"}


def flower_problems(settings: Settings, options: Any, environ: Mapping[str, str]) -> list[str]:
    """What keeps Flower from starting safely with these options; empty when it may start."""
    if settings.app_env != "production":
        return []
    problems = []
    basic_auth = [entry for entry in (options.basic_auth or []) if entry is not None]
    if not (basic_auth or options.auth):
        problems.append(
            "no authentication: set FLOWER_BASIC_AUTH=user:password (or OAuth with FLOWER_AUTH "
            "and FLOWER_AUTH_PROVIDER); without it the UI and its API, which can stop workers "
            "and send tasks, are open to anyone who reaches the port"
        )
    for entry in basic_auth:
        user, _, password = entry.partition(":")
        if not user or not password:
            problems.append(
                f"FLOWER_BASIC_AUTH entry {user or '(no user)'!r} has an empty user or "
                "password: give every entry both, as user:password"
            )
    secret = environ.get("FLOWER_COOKIE_SECRET", "")
    if len(secret) < MIN_COOKIE_SECRET_CHARS:
        state = "is not set" if not secret else f"has {len(secret)} characters"
        problems.append(
            f"FLOWER_COOKIE_SECRET {state}: it signs login sessions, so it must be a random "
            f"value of at least {MIN_COOKIE_SECRET_CHARS} characters from your secret store "
            "(and the same on every replica)"
        )
    if environ.get("FLOWER_UNAUTHENTICATED_API", "").lower() in TRUE:
        problems.append("FLOWER_UNAUTHENTICATED_API opens the API to anyone: unset it")
    return problems


def guard_flower(settings: Settings) -> None:
    """In a ``celery flower`` process, make Flower hold the rules above before it serves."""
    if not upstream.running_command("flower"):
        return

    def check(options: Any) -> None:
        problems = flower_problems(settings, options, os.environ)
        if problems:
            click.echo("Flower refuses to start (APP_ENV=production):", err=True)
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
            sys.exit(2)
        if not settings.metrics_without_auth:
            upstream.require_auth_for_metrics()
        if options.purge_offline_workers is None:
            options.purge_offline_workers = PURGE_OFFLINE_WORKERS_SECONDS

    upstream.guard_flower_command(check)
