"""Flower's settings file, read by `celery -A <package> flower` from the working directory.

Flower takes its options from FLOWER_* variables first (see .env.example); names
defined here override them, so this file only adds the service's rules:

* in production, Flower refuses to start without authentication and without an
  explicit FLOWER_COOKIE_SECRET (src/<package>/ops/flower.py says why);
* /metrics needs the UI's authentication unless METRICS_WITHOUT_AUTH=true.

https://flower.readthedocs.io/en/latest/config.html
"""

import os
import sys

from tornado.options import options

from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.ops.flower import flower_problems, require_auth_for_metrics

_settings = get_settings()
_problems = flower_problems(_settings, options, os.environ)
if _problems:
    print("Flower refuses to start (APP_ENV=production):", file=sys.stderr)
    for _problem in _problems:
        print(f"  - {_problem}", file=sys.stderr)
    raise SystemExit(2)

if not _settings.metrics_without_auth:
    require_auth_for_metrics()

# Forget workers that have been offline for an hour: after rolling updates the old
# node names would otherwise stay listed (and in the metrics) until Flower restarts.
purge_offline_workers = int(os.environ.get("FLOWER_PURGE_OFFLINE_WORKERS", "3600"))
