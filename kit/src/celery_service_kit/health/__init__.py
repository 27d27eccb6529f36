"""Liveness and readiness of the worker and beat, as marks the probe command reads.

The worker keeps its marks from inside its consumer (``worker.py``), beat on each
tick (``beat.py``); ``probe.py`` reads them without importing Celery or
touching the broker. Invariants:

* a heartbeat advances only while the consumer runs its event loop or retries its
  broker connection: a worker whose main process is stuck or stopped stops being live;
* readiness holds only while the consumer consumes: it is withdrawn while the broker
  connection is lost (the worker stays live) and for good once shutdown starts;
* during a warm or soft shutdown the worker stays live for as long as the shutdown
  may take (``Settings.shutdown_allowance``), so no probe kills it mid-task.

This package imports nothing but the standard library at its top level, so that
the probe command stays cheap.
"""
