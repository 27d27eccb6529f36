"""Environment-split settings, chosen by ``APP_ENV``.

``APP_ENV`` is ``production`` (the default: a forgotten variable must not leave a
production worker on development settings), ``development`` or ``test``.
``load_settings()`` builds the matching class; any invalid variable stops the
service with a :class:`ConfigurationError` that names it.
"""

from __future__ import annotations

import os
from functools import cache
from typing import get_args

from pydantic import ValidationError

from .base import AppEnv, Settings
from .development import DevelopmentSettings
from .production import ProductionSettings
from .test import TestSettings

__all__ = ["ConfigurationError", "Settings", "get_settings", "load_settings"]

ENVIRONMENTS: dict[str, type[Settings]] = {
    "development": DevelopmentSettings,
    "production": ProductionSettings,
    "test": TestSettings,
}


class ConfigurationError(RuntimeError):
    """The environment holds a value the service cannot start with."""

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> ConfigurationError:
        """One line per invalid variable: its name, the value found and what is wrong."""
        lines = []
        for problem in error.errors():
            if problem["loc"]:
                variable = str(problem["loc"][0]).upper()
                value = os.environ.get(variable, "(unset)")
                lines.append(f"{variable}={value!r}: {problem['msg']}")
            else:
                lines.append(problem["msg"].removeprefix("Value error, "))
        return cls("invalid configuration:\n  " + "\n  ".join(lines))


def load_settings() -> Settings:
    """Build the settings of the environment named by ``APP_ENV``."""
    name = os.environ.get("APP_ENV", "production")
    if name not in ENVIRONMENTS:
        allowed = ", ".join(get_args(AppEnv))
        raise ConfigurationError(f"invalid configuration:\n  APP_ENV={name!r}: use {allowed}")
    try:
        return ENVIRONMENTS[name]()
    except ValidationError as error:
        raise ConfigurationError.from_validation_error(error) from None


@cache
def get_settings() -> Settings:
    """The settings of this process, loaded from the environment on first use."""
    return load_settings()
