"""``celery -A <package> dead-letters list|show|replay|purge``."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from ..reliability import dead_letters as store


@click.group(name="dead-letters")
def dead_letters() -> None:
    """Inspect, replay and purge the tasks that finally failed."""


@dead_letters.command(name="list")
@click.option("--count", default=20, show_default=True, help="How many, newest first.")
def list_letters(count: int) -> None:
    """List the newest dead letters: id, task, retries, exception."""
    letters = store.newest(count)
    click.echo(f"{store.count()} dead letter(s)")
    for letter in letters:
        click.echo(
            f"{letter.id}  {letter.failed_at}  {letter.task}  "
            f"retries={letter.retries}  {letter.exception}"
        )


@dead_letters.command()
@click.argument("entry_id")
def show(entry_id: str) -> None:
    """Show one dead letter in full, as JSON (arguments, traceback, ...)."""
    letter = _existing(entry_id)
    click.echo(json.dumps(asdict(letter), indent=2))


@dead_letters.command()
@click.argument("entry_id")
@click.pass_context
def replay(ctx: click.Context, entry_id: str) -> None:
    """Send the task again with the same arguments, and drop the record."""
    _existing(entry_id)
    app: Any = ctx.obj.app
    result = store.replay(app, entry_id)
    click.echo(f"replayed {entry_id} as task {result.id if result else '?'}")


@dead_letters.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(yes: bool) -> None:
    """Delete every dead letter."""
    if not yes:
        click.confirm(f"Delete all {store.count()} dead letters?", abort=True)
    click.echo(f"purged {store.purge()} dead letter(s)")


def _existing(entry_id: str) -> store.DeadLetter:
    letter = store.get(entry_id)
    if letter is None:
        raise click.ClickException(f"no dead letter {entry_id!r} (see `dead-letters list`)")
    return letter
