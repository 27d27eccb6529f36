"""Environment-split settings, chosen by ``APP_ENV``.

``APP_ENV`` is ``production`` (the default: a forgotten variable must not leave a
production worker on development settings), ``development`` or ``test``.
``load_settings()`` builds the matching class; any invalid variable stops the
service with a :class:`ConfigurationError` that names it (a URL's password
masked). Under a command (``celery -A <package> ...``) that error ends the
command with its lines alone and exit code 2, not inside Celery's traceback of
a failed import; a command may report it its own way instead (``preflight``).
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from typing import NoReturn, get_args

import click
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


# The password of a URL (scheme://user:password@host), whether or not the rest parses.
URL_PASSWORD = re.compile(r"(?P<before>://[^/@:]*:)[^/@]*@")


def without_password(value: str) -> str:
    """``value`` with the password of any URL in it masked."""
    return URL_PASSWORD.sub(r"\g<before>**@", value)


class ConfigurationError(RuntimeError):
    """The environment holds a value the service cannot start with."""

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> ConfigurationError:
        """One line per invalid variable: its name, the value found and what is wrong."""
        lines = []
        for problem in error.errors():
            if problem["loc"]:
                variable = str(problem["loc"][0]).upper()
                value = without_password(os.environ.get(variable, "(unset)"))
                lines.append(f"{variable}={value!r}: {_reason(problem['msg'])}")
            else:
                lines.append(_reason(problem["msg"]))
        return cls("invalid configuration:\n  " + "\n  ".join(lines))


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")


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
    try:
        return load_settings()
    except ConfigurationError as error:
        context = click.get_current_context(silent=True)
        if context is None:  # imported by a program, not run as a command
            raise
        end_command(context, error)


#: Attribute of a click command that reports a configuration error itself.
REPORTS_CONFIGURATION_ERRORS = "report_configuration_error"


def end_command(context: click.Context, error: ConfigurationError) -> NoReturn:
    """End the running command because of ``error``: its lines, exit code 2."""
    name = context.invoked_subcommand
    group = context.command
    command = group.get_command(context, name) if name and isinstance(group, click.Group) else None
    report = getattr(command, REPORTS_CONFIGURATION_ERRORS, None)
    if report is not None:
        report(error)
    click.echo(f"Error: {error}", err=True)
    sys.exit(2)
