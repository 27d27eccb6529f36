"""Keys named after a task's arguments, for locks and idempotency claims."""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable
from typing import Any

#: A format string over the task's parameters, e.g. ``"report:{report_id}"`` or
#: ``"payment:{payment.order_id}"``, or a callable taking the task's arguments and
#: returning the key.
KeySpec = str | Callable[..., str]


class _ArgumentFormatter(string.Formatter):
    """``str.format``, where ``{payment.order_id}`` reads a dict's item as well as an attribute.

    A model argument (``pydantic=True``) is the model inside the task, and its JSON
    object where the worker's main process renders the key to release it after a
    lost pool process: both must give the same key.
    """

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if "[" in field_name:
            field: tuple[Any, str] = super().get_field(field_name, args, kwargs)
            return field
        name, *path = field_name.split(".")
        value = kwargs[name]
        for part in path:
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        return value, name


_FORMATTER = _ArgumentFormatter()


class ArgumentKey:
    """Renders a :data:`KeySpec` for one call of the decorated function."""

    def __init__(self, spec: KeySpec, func: Callable[..., Any]) -> None:
        self.spec = spec
        parameters = list(inspect.signature(func).parameters.values())
        #: A bound task (``bind=True``) receives the task first, as ``self``.
        self.bound = bool(parameters) and parameters[0].name == "self"
        self.signature = inspect.Signature(parameters[1:] if self.bound else parameters)
        if isinstance(spec, str):
            unknown = set(_field_names(spec)) - set(self.signature.parameters)
            if unknown:
                raise ValueError(
                    f"key {spec!r} names {sorted(unknown)}, which {func.__qualname__}() "
                    f"does not take; its parameters are {list(self.signature.parameters)}"
                )

    def render(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key for a call of the task with these arguments (without ``self``)."""
        if callable(self.spec):
            return self.spec(*args, **kwargs)
        call = self.signature.bind(*args, **kwargs)
        call.apply_defaults()
        return _FORMATTER.format(self.spec, **call.arguments)

    def render_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key for a call of the decorated function (whose ``self`` comes first if bound)."""
        return self.render(args[1:] if self.bound else args, kwargs)


def _field_names(template: str) -> list[str]:
    return [
        field.split(".")[0].split("[")[0]
        for _, field, _, _ in string.Formatter().parse(template)
        if field
    ]
