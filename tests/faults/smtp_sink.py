"""A local SMTP sink for the fault suite (docs/reliability.md, scenario 5): accepts every message on 127.0.0.1 and counts
them by Message-ID, so "each mail delivered exactly once" can be checked. `stop()` closes the listener and every open
session (SMTP down: connections refused), `start()` listens again. Speaks just enough SMTP for MailKit without TLS or
AUTH (CleanCrm:Email:Smtp:Security None)."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter

from listening import close_listener, listen


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()  # Message-ID (without <>) -> times received
        self.kinds: dict[str, str] = {}
        self.listener: socket.socket | None = None
        self.sessions: set[socket.socket] = set()
        self.connections = 0

    def start(self) -> None:
        self.listener = listen(self.port, self._accept)

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        close_listener(listener)
        with self.lock:
            sessions, self.sessions = self.sessions, set()
        for sock in sessions:
            try:
                sock.close()
            except OSError:
                pass

    def count(self, message_id: str) -> int:
        with self.lock:
            return self.received[message_id]

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.sessions.add(sock)
                self.connections += 1
            threading.Thread(target=self._session, args=(sock,), daemon=True).start()

    def _session(self, sock: socket.socket) -> None:
        sock.settimeout(60)
        reader = sock.makefile("rb")
        try:
            sock.sendall(b"220 faults-smtp-sink ESMTP\r\n")
            while True:
                line = reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    sock.sendall(b"250-faults-smtp-sink\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    sock.sendall(b"354 end with <CRLF>.<CRLF>\r\n")
                    data = []
                    while True:
                        chunk = reader.readline()
                        if not chunk or chunk in (b".\r\n", b".\n"):
                            break
                        data.append(chunk)
                    self._record(b"".join(data))
                    sock.sendall(b"250 queued\r\n")
                elif verb == b"QUIT":
                    sock.sendall(b"221 bye\r\n")
                    break
                else:  # MAIL, RCPT, RSET, NOOP
                    sock.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            with self.lock:
                self.sessions.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _record(self, data: bytes) -> None:
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        match = re.search(r"^Message-Id:\s*<?([^>\r\n]+)>?", head, re.IGNORECASE | re.MULTILINE)
        kind = re.search(r"^X-CleanCrm-Kind:\s*(\S+)", head, re.IGNORECASE | re.MULTILINE)
        message_id = match.group(1).strip() if match else "(none)"
        with self.lock:
            self.received[message_id] += 1
            if kind:
                self.kinds[message_id] = kind.group(1)
