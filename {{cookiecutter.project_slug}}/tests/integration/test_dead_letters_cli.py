"""``celery -A <package> dead-letters``: the real command on real records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis
from support import probes
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }}.reliability import dead_letters

PACKAGE = "{{ cookiecutter.package_name }}"


def celery(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", PACKAGE, "dead-letters", *args],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_list_show_replay_and_purge(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker():
        failed = [probes.fails_until_fixed.delay(f"invoice-{n}") for n in range(3)]
        recorder.wait_for(3, state="FAILURE")

        listing = celery("list")
        assert listing.returncode == 0, listing.stderr
        assert "3 dead letter(s)" in listing.stdout
        letters = dead_letters.newest()
        assert [letter.task_id for letter in letters] == [result.id for result in reversed(failed)]
        for letter in letters:
            assert letter.id in listing.stdout

        newest = letters[0]
        shown = celery("show", newest.id)
        assert shown.returncode == 0, shown.stderr
        record = json.loads(shown.stdout)
        assert record["task_id"] == failed[-1].id
        assert record["args"] == ["invoice-2"]
        assert "not fixed yet" in record["exception"]

        store.set(probes.probe_key("fixed", "invoice-2"), 1)
        replayed = celery("replay", newest.id)
        assert replayed.returncode == 0, replayed.stderr
        [run] = recorder.wait_for(1, state="SUCCESS")
        assert run.args == ("invoice-2",)
        assert store.get(probes.probe_key("runs", "invoice-2")) == "1"
        assert dead_letters.count() == 2
        assert dead_letters.get(newest.id) is None

    purged = celery("purge", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert "purged 2 dead letter(s)" in purged.stdout
    assert dead_letters.count() == 0


def test_show_of_an_unknown_record_fails_clearly(store: redis.Redis) -> None:
    result = celery("show", "1-0")

    assert result.returncode != 0
    assert "no dead letter '1-0'" in result.stderr
