"""Sensitive task arguments: masked wherever the service shows a task's arguments.

A task names them with ``@app.task(sensitive=("card_token",))``: parameters of the
task, or fields at any depth inside its arguments (a model's, a dict's). Their
values still travel in the message body, which the worker needs to run the task;
what *shows* arguments gets ``***`` instead: the message's ``argsrepr`` and
``kwargsrepr`` (read by Celery's log lines, the task events and so Flower) and
dead letters, which then cannot be replayed. A reference (a token id, a row id)
is better than a secret in a message; this is for what cannot be one.
"""

from __future__ import annotations

import inspect
from typing import Any

from celery import Task

#: What a sensitive value is shown as.
MASK = "***"


def sensitive_names(task: Task[Any, Any] | None) -> frozenset[str]:
    """The names ``task`` masks (none for a task that lists none, or no task)."""
    return frozenset(getattr(task, "sensitive", None) or ())


def masked_arguments(
    task: Task[Any, Any] | None, args: Any, kwargs: Any
) -> tuple[list[Any], dict[str, Any]] | None:
    """``args`` and ``kwargs`` of a call of ``task`` with its sensitive values masked.

    ``None`` when the task lists no sensitive names: the arguments show as they are.
    """
    names = sensitive_names(task)
    if not names:
        return None
    parameters = list(inspect.signature(task.run).parameters)  # type: ignore[union-attr]
    positional = [
        MASK if index < len(parameters) and parameters[index] in names else _masked(value, names)
        for index, value in enumerate(args or ())
    ]
    keywords = {
        name: MASK if name in names else _masked(value, names)
        for name, value in dict(kwargs or {}).items()
    }
    return positional, keywords


def _masked(value: Any, names: frozenset[str]) -> Any:
    if hasattr(value, "model_dump"):  # a pydantic model, as sent with pydantic=True
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {
            field: MASK if field in names else _masked(item, names) for field, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(item, names) for item in value]
    return value
