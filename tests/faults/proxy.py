"""A TCP forwarder the fault suite puts in front of one database (docs/reliability.md, scenario 4): the API and the worker
reach the catalog through it, the tenant databases of the same cluster directly, so the catalog alone can be taken
away. `down()` makes it behave like a catalog server that has gone: every open connection is reset and new ones are
refused; `up()` listens again. Listens on 127.0.0.1 only."""

from __future__ import annotations

import socket
import struct
import threading

from listening import close_listener, listen
from stack import HOST, say


class TcpProxy:
    def __init__(self, listen_port: int, target_port: int, name: str = "proxy") -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.name = name
        self.lock = threading.Lock()
        self.pairs: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.accepted = 0
        self.reset = 0

    def up(self) -> None:
        self.listener = listen(self.listen_port, self._accept, backlog=128)

    def down(self) -> int:
        """Stops listening (new connections are refused) and resets every open connection (RST, as a host that died)."""
        listener, self.listener = self.listener, None
        close_listener(listener)
        with self.lock:
            pairs, self.pairs = self.pairs, set()
        for sock in pairs:
            try:
                # shutdown() wakes the pump threads blocked in recv() (a close() alone would leave the connection working
                # until its next use); with SO_LINGER 0 the final close sends a reset.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self.reset += len(pairs)
        say(f"{self.name}: down ({len(pairs)} sockets reset)")
        return len(pairs)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self.accepted += 1
            with self.lock:
                self.pairs.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            with self.lock:
                self.pairs.discard(sock)
