"""The service's own Redis down: no dead letter is lost.

Tasks that fail for good while the store does not answer have their dead letters
written to the spool directory; once the store answers again, the next record
adds them to the stream. (``dead-letters import`` does the same by hand, see
``integration/test_dead_letters_cli.py``.) The store here is a Redis of
the test's own, which it stops; the broker stays up.
"""

from __future__ import annotations

from pathlib import Path

import redis

from celery_service_kit import routing
from celery_service_kit.reliability.dead_letters import DeadLetter
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.redis_server import own_redis

app = under_test().app
QUEUES = under_test().queues
dead_letters = app.service.dead_letters

FAILURES = 10


def test_dead_letters_written_while_the_store_is_down_reach_it_when_it_is_back(
    start_worker: StartWorker, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    with own_redis(tmp_path / "store") as store_server:
        environment = {"REDIS_URL": store_server.url, "DEAD_LETTER_SPOOL_DIR": str(spool)}
        worker = start_worker(
            "store-outage", queues=[routing.DEFAULT_QUEUE], environment=environment
        )
        store_server.stop()

        sent = [probes.invalid_input.delay(f"order-{n}").id for n in range(FAILURES)]
        eventually(
            lambda: len(list(spool.glob("*.json"))) == FAILURES,
            timeout=60,
            what=f"{FAILURES} dead letters in the spool",
        )
        store_server.start()
        after = probes.invalid_input.delay("after-the-outage").id

        store = redis.Redis.from_url(store_server.url, decode_responses=True)
        eventually(
            lambda: store.xlen(dead_letters.stream) == FAILURES + 1,
            timeout=30,
            what="every dead letter in the stream",
        )
        entries = store.xrange(dead_letters.stream) or []
        recorded = [DeadLetter.from_entry(entry).task_id for entry in entries]
        assert sorted(recorded) == sorted([*sent, after])
        assert not list(spool.iterdir()), "spooled letters left behind"
        assert worker.answers_ping()
        assert "kept in" in worker.log_text()
        store.close()
