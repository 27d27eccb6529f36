"""``celery -A <package> dead-letters list|show|replay|purge|import``."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from kombu.utils.json import dumps

from ..reliability.dead_letters import DeadLetter, DeadLetters
from ..service import service_of


@click.group(name="dead-letters")
def dead_letters_command() -> None:
    """Inspect, replay and purge the tasks that finally failed."""


def _dead_letters(ctx: click.Context) -> DeadLetters:
    """The dead letters of the app the command was given (``celery -A <package>``)."""
    return service_of(ctx.obj.app).dead_letters


@dead_letters_command.command(name="list")
@click.option("--count", default=20, show_default=True, help="How many, newest first.")
@click.pass_context
def list_letters(ctx: click.Context, count: int) -> None:
    """List the newest dead letters: id, task, retries, exception."""
    dead_letters = _dead_letters(ctx)
    letters = dead_letters.newest(count)
    click.echo(f"{dead_letters.count()} dead letter(s)")
    waiting = dead_letters.spooled()
    if waiting:
        click.echo(
            f"{len(waiting)} more wait in {waiting[0].parent}, written while Redis did not "
            "answer; `dead-letters import` adds them"
        )
    for letter in letters:
        click.echo(
            f"{letter.id}  {letter.failed_at}  {letter.task}  "
            f"retries={letter.retries}  {letter.exception}"
        )


@dead_letters_command.command()
@click.argument("entry_id")
@click.pass_context
def show(ctx: click.Context, entry_id: str) -> None:
    """Show one dead letter in full, as JSON (arguments, traceback, ...)."""
    letter = _existing(_dead_letters(ctx), entry_id)
    click.echo(dumps(asdict(letter), indent=2))  # the service's JSON: dates and such too


@dead_letters_command.command()
@click.argument("entry_id")
@click.pass_context
def replay(ctx: click.Context, entry_id: str) -> None:
    """Send the task again with the same arguments, and drop the record."""
    dead_letters = _dead_letters(ctx)
    _existing(dead_letters, entry_id)
    app: Any = ctx.obj.app
    try:
        result = dead_letters.replay(app, entry_id)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"replayed {entry_id} as task {result.id if result else '?'}")


@dead_letters_command.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def purge(ctx: click.Context, yes: bool) -> None:
    """Delete every dead letter."""
    dead_letters = _dead_letters(ctx)
    if not yes:
        click.confirm(f"Delete all {dead_letters.count()} dead letters?", abort=True)
    click.echo(f"purged {dead_letters.purge()} dead letter(s)")


@dead_letters_command.command(name="import")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.pass_context
def import_spooled(ctx: click.Context, directory: Path | None) -> None:
    """Add the letters spooled while Redis did not answer (default: DEAD_LETTER_SPOOL_DIR)."""
    dead_letters = _dead_letters(ctx)
    waiting = len(dead_letters.spooled(directory))
    added = dead_letters.flush_spool(directory)
    click.echo(f"imported {added} of {waiting} spooled dead letter(s)")
    if added < waiting:
        raise click.ClickException("the store stopped answering; run it again")


# A Redis stream id: milliseconds, optionally "-" and a sequence number.
ENTRY_ID = re.compile(r"\d+(-\d+)?")


def _existing(dead_letters: DeadLetters, entry_id: str) -> DeadLetter:
    if not ENTRY_ID.fullmatch(entry_id):
        raise click.ClickException(
            f"{entry_id!r} is not a dead letter id: ids look like 1733030000000-0 "
            "(see `dead-letters list`)"
        )
    letter = dead_letters.get(entry_id)
    if letter is None:
        raise click.ClickException(f"no dead letter {entry_id!r} (see `dead-letters list`)")
    return letter
