"""``celery -A <package> dead-letters``: the real command on real records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis
from celery.worker import WorkController
from kombu.message import Message

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.cli import celery
from celery_service_kit.testing.recording import Recorder

app = under_test().app
APP_REFERENCE = under_test().app_reference
dead_letters = app.service.dead_letters


def dead_letters_command(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return celery("dead-letters", *args, **environment)


def test_list_show_replay_and_purge(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    failed = [probes.fails_until_fixed.delay(f"invoice-{n}") for n in range(3)]
    recorder.wait_for(3, state="FAILURE")

    listing = dead_letters_command("list")
    assert listing.returncode == 0, listing.stderr
    assert "3 dead letter(s)" in listing.stdout
    letters = dead_letters.newest()
    assert [letter.task_id for letter in letters] == [result.id for result in reversed(failed)]
    for letter in letters:
        assert letter.id in listing.stdout

    newest = letters[0]
    shown = dead_letters_command("show", newest.id)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["task_id"] == failed[-1].id
    assert record["args"] == ["invoice-2"]
    assert "not fixed yet" in record["exception"]

    store.set(probes.probe_key("fixed", "invoice-2"), 1)
    replayed = dead_letters_command("replay", newest.id)
    assert replayed.returncode == 0, replayed.stderr
    [run] = recorder.wait_for(1, state="SUCCESS")
    assert run.args == ("invoice-2",)
    assert store.get(probes.probe_key("runs", "invoice-2")) == "1"
    assert dead_letters.count() == 2
    assert dead_letters.get(newest.id) is None

    purged = dead_letters_command("purge", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert "purged 2 dead letter(s)" in purged.stdout
    assert dead_letters.count() == 0


def test_show_of_an_unknown_record_fails_clearly(store: redis.Redis) -> None:
    result = dead_letters_command("show", "1-0")

    assert result.returncode != 0
    assert "no dead letter '1-0'" in result.stderr


def test_show_of_a_malformed_id_fails_in_one_line(store: redis.Redis) -> None:
    result = dead_letters_command("show", "not-an-id")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: 'not-an-id' is not a dead letter id: ids look like 1733030000000-0 "
        "(see `dead-letters list`)"
    ]


# Records a dead letter in a process whose store (REDIS_URL) does not answer.
RECORD_WHILE_THE_STORE_IS_DOWN = f"""
from celery_service_kit import PermanentError
from celery_service_kit.testing.probes import quick
from {APP_REFERENCE.replace(":", " import ")}
dead_letters = app.service.dead_letters
dead_letters.record(quick, "spooled-1", ["invoice-7"], None, PermanentError("bad"), None)
"""


def test_import_adds_letters_spooled_while_the_store_was_down(
    store: redis.Redis, tmp_path: Path
) -> None:
    spool = tmp_path / "copied-off-a-dead-node"
    unreachable = {"REDIS_URL": "redis://127.0.0.1:1/0", "DEAD_LETTER_SPOOL_DIR": str(spool)}
    subprocess.run(
        [sys.executable, "-c", RECORD_WHILE_THE_STORE_IS_DOWN],
        env={**os.environ, **unreachable},
        check=True,
        timeout=60,
    )
    assert len(list(spool.glob("*.json"))) == 1

    listing = dead_letters_command("list", DEAD_LETTER_SPOOL_DIR=str(spool))
    assert "1 more wait in" in listing.stdout
    imported = dead_letters_command("import", str(spool))

    assert imported.returncode == 0, imported.stderr
    assert "imported 1 of 1" in imported.stdout
    [letter] = dead_letters.newest()
    assert letter.task_id == "spooled-1"
    assert letter.args == ["invoice-7"]
    assert not list(spool.glob("*.json"))


def test_a_rejected_message_is_not_replayed(store: redis.Redis) -> None:
    message = Message(body="not a message", headers={}, delivery_info={"routing_key": "default"})
    entry_id = dead_letters.record_rejected(message, "body does not decode")
    assert entry_id is not None

    result = dead_letters_command("replay", entry_id)

    assert result.returncode != 0
    assert "cannot be replayed" in result.stderr
    assert dead_letters.count() == 1
