"""Production: the defaults of ``base.Settings`` unchanged.

See ``celery_config.py`` for why each value is what it is. Deployments tune
them per variable (``.env.example`` lists every one), not by editing this file.
"""

from __future__ import annotations

from .base import AppEnv, Settings


class ProductionSettings(Settings):
    """Settings for ``APP_ENV=production``."""

    app_env: AppEnv = "production"
