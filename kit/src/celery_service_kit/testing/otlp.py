"""A local OTLP/HTTP receiver: the spans a real exporter sends, decoded."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from .receivers import Receiver, serving


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector would see it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


def _values(attributes: Any) -> dict[str, Any]:
    return {
        attribute.key: getattr(attribute.value, attribute.value.WhichOneof("value"))
        for attribute in attributes
    }


class OtlpReceiver(Receiver):
    """Accepts ``POST /v1/traces`` and keeps every span."""

    reply_type = "application/x-protobuf"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[ReceivedSpan] = []

    @property
    def url(self) -> str:
        """The endpoint for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    def keep(self, body: bytes) -> bytes:
        """Decode one export request; the collector's answer."""
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = _values(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received = ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes=_values(span.attributes),
                        resource=resource,
                    )
                    with self.lock:
                        self.received.append(received)
        answer: bytes = ExportTraceServiceResponse().SerializeToString()
        return answer

    def spans(self, name: str) -> list[ReceivedSpan]:
        """The spans received so far with this name."""
        with self.lock:
            return [span for span in self.received if span.name == name]


def otlp_receiver() -> AbstractContextManager[OtlpReceiver]:
    """A receiver serving in a thread, shut down at the end."""
    return serving(OtlpReceiver())
