"""``celery -A <package> preflight``: check the effective configuration before it runs.

The rules are in ``preflight_rules.py``, with those a service adds (an entry point,
see there). Errors make the command exit 1 (run it in CI and before a deploy, with
the environment of the process it checks); warnings are printed but do not fail.
``--json`` prints the findings for machines.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, NoReturn

import click
from celery import Celery

from ..environments import REPORTS_CONFIGURATION_ERRORS
from ..service import service_of
from ..settings import Settings, available_cpus
from .preflight_rules import RULES, Finding, Subject, load_service_rules, preflight

# Variables Celery itself reads or sets (for its own child processes), besides its
# command-line options.
CELERY_INTERNAL_VARIABLES = frozenset(
    {
        "CELERY_BROKER_URL",
        "CELERY_BROKER_READ_URL",
        "CELERY_BROKER_WRITE_URL",
        "CELERY_RESULT_BACKEND",
        "CELERY_CONFIG_MODULE",
        "CELERY_LOADER",
        "CELERY_SKIP_CHECKS",
        "CELERY_TRACE_APP",
        "CELERY_CUSTOM_WORKER_POOL",
        "CELERY_LOG_LEVEL",
        "CELERY_LOG_FILE",
        "CELERY_LOG_REDIRECT",
        "CELERY_LOG_REDIRECT_LEVEL",
        "CELERY_WORKER_REVOKES_MAX",
        "CELERY_WORKER_REVOKE_EXPIRES",
        "CELERY_WORKER_SUCCESSFUL_MAX",
        "CELERY_WORKER_SUCCESSFUL_EXPIRES",
        "CELERY_BENCH",
        "CELERY_RDBSIG",
        "CELERY_RDB_HOST",
        "CELERY_RDB_PORT",
    }
)


def known_variables(settings: type[Settings]) -> frozenset[str]:
    """Every CELERY_* variable something reads: the settings, Celery's options, Celery itself.

    Celery's command line reads ``CELERY_<OPTION>`` and ``CELERY_<COMMAND>_<OPTION>``
    (click's automatic variables), e.g. ``CELERY_WORKER_CONCURRENCY``.
    """
    # Imported here: this module is loaded while celery.bin.celery loads its plugins.
    from celery.bin.celery import celery as celery_command

    names = {name.upper() for name in settings.model_fields} | CELERY_INTERNAL_VARIABLES
    stack: list[tuple[str, click.Command]] = [("CELERY", celery_command)]
    while stack:
        prefix, command = stack.pop()
        for param in command.params:
            if param.name:
                names.add(f"{prefix}_{param.name.upper()}")
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                stack.append((f"{prefix}_{sub_name.upper().replace('-', '_')}", sub))
    return frozenset(names)


def measured_baseline_kib() -> int:
    """Peak resident memory of this process, with the app, its tasks and the worker loaded."""
    import celery.concurrency.prefork
    import celery.worker  # noqa: F401

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 1024) if sys.platform == "darwin" else int(peak)  # bytes on macOS


def subject_of(app: Celery[Any], for_flower: bool = False) -> Subject:
    """Gather what the rules check, from the app as a worker would load it."""
    service = service_of(app)
    app.loader.import_default_modules()
    package = f"{service.package}."
    tasks = [task for name, task in sorted(app.tasks.items()) if name.startswith(package)]
    return Subject(
        conf=app.conf,
        settings=service.settings,
        environ=dict(os.environ),
        tasks=tasks,
        known_variables=known_variables(type(service.settings)),
        cpus=available_cpus(),
        baseline_kib=measured_baseline_kib(),
        for_flower=for_flower,
    )


@click.command(name="preflight")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--flower", "for_flower", is_flag=True, help="Also check Flower's settings.")
@click.pass_context
def preflight_command(ctx: click.Context, as_json: bool, for_flower: bool) -> None:
    """Check the configuration against the production rules; exit 1 on errors.

    Run it with the environment of the process it is about: a worker's, or
    Flower's with --flower.
    """
    app = ctx.obj.app
    load_service_rules()
    findings = preflight(subject_of(app, for_flower))
    echo_findings(findings, as_json)
    if not as_json:
        errors = sum(finding.severity == "error" for finding in findings)
        warnings = len(findings) - errors
        click.echo(f"{len(RULES)} rules checked: {errors} error(s), {warnings} warning(s)")
    if any(finding.severity == "error" for finding in findings):
        ctx.exit(1)


def report_configuration_error(error: Exception) -> NoReturn:
    """Report settings the service cannot start with as preflight's one finding; exit 1.

    Called before the command runs (the app cannot be built), so ``--json`` is
    read from the command line.
    """
    finding = Finding(
        "invalid-configuration",
        "error",
        str(error),
        "the service refuses to start with these values",
        "correct the variables named in the problem",
    )
    echo_findings([finding], as_json="--json" in sys.argv[1:])
    sys.exit(1)


def echo_findings(findings: Sequence[Finding], as_json: bool) -> None:
    """Print findings: a JSON document, or for people, each with its why and fix."""
    if as_json:
        click.echo(json.dumps([asdict(finding) for finding in findings], indent=2))
        return
    for finding in findings:
        click.echo(f"{finding.severity.upper()} [{finding.rule}] {finding.problem}")
        click.echo(f"    why: {finding.why}")
        click.echo(f"    fix: {finding.fix}")


setattr(preflight_command, REPORTS_CONFIGURATION_ERRORS, report_configuration_error)
