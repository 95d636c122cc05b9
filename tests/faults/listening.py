"""Plain TCP listeners of the fault suite's own peers (the catalog forwarder, the SMTP sink, the vault's CONNECT proxy):
bound on 127.0.0.1 only, each accepted connection handed to the peer's accept loop in a daemon thread."""

from __future__ import annotations

import socket
import threading
from typing import Callable

from stack import HOST


def listen(port: int, accept: Callable[[socket.socket], None], backlog: int = 64) -> socket.socket:
    """Listens on 127.0.0.1:`port` and runs `accept(listener)` in a daemon thread; returns the listener."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(backlog)
    threading.Thread(target=accept, args=(listener,), daemon=True).start()
    return listener


def close_listener(listener: socket.socket | None) -> None:
    """Stops listening: new connections are refused at once."""
    if listener is None:
        return
    # shutdown() first: a close() alone leaves the socket listening while the accept thread is blocked in accept().
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    listener.close()
