"""systemd's notification protocol (``Type=notify``), for the worker's unit.

``sd_notify(3)`` in a few lines of the standard library: a datagram to the socket
that ``NOTIFY_SOCKET`` names. Outside a ``Type=notify`` unit the variable is unset
and every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(*fields: str) -> None:
    """Send ``fields`` (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``) to systemd, if it listens."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto("\n".join(fields).encode(), address)
