"""Environment-split settings, chosen by ``APP_ENV``, and the error a bad value gives.

``APP_ENV`` is ``production`` (the default: a forgotten variable must not leave a
production worker on development settings), ``development`` or ``test``; the
service maps each to its :class:`~.settings.Settings` subclass and calls
:func:`load_settings` once, where its app is built. Any invalid variable stops the
service with a :class:`ConfigurationError` that names it (a URL's password masked).
Under a command (``celery -A <package> ...``) that error ends the command with its
lines alone and exit code 2, not inside Celery's traceback of a failed import; a
command may report it its own way instead (``preflight``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import NoReturn, get_args

import click
from pydantic import ValidationError

from .settings import AppEnv, Settings

__all__ = ["ConfigurationError", "load_settings"]

# The password of a URL (scheme://user:password@host), whether or not the rest parses.
URL_PASSWORD = re.compile(r"(?P<before>://[^/@:]*:)[^/@]*@")

#: Attribute of a click command that reports a configuration error itself.
REPORTS_CONFIGURATION_ERRORS = "report_configuration_error"


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


def settings_class(environments: Mapping[str, type[Settings]]) -> type[Settings]:
    """The class of the environment ``APP_ENV`` names; ConfigurationError for another name."""
    name = os.environ.get("APP_ENV", "production")
    if name not in environments:
        allowed = ", ".join(name for name in get_args(AppEnv) if name in environments)
        raise ConfigurationError(f"invalid configuration:\n  APP_ENV={name!r}: use {allowed}")
    return environments[name]


def load_settings(environments: Mapping[str, type[Settings]]) -> Settings:
    """The settings of the environment ``APP_ENV`` names, read from the environment.

    ``environments`` maps ``production``, ``development`` and ``test`` to the
    service's classes. Under a ``celery`` command a bad value ends the command
    (:func:`end_command`); anywhere else it raises :class:`ConfigurationError`.
    """
    try:
        return _load(environments)
    except ConfigurationError as error:
        context = click.get_current_context(silent=True)
        if context is None:  # imported by a program, not run as a command
            raise
        end_command(context, error)


def _load(environments: Mapping[str, type[Settings]]) -> Settings:
    cls = settings_class(environments)
    try:
        return cls()
    except ValidationError as error:
        raise ConfigurationError.from_validation_error(error) from None


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
