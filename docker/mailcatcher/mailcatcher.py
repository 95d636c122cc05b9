"""A small mail catcher for the LOCAL compose stack (docker/mailcatcher.Dockerfile): accepts every message on SMTP
port 25 and lists the latest ones on HTTP port 80 (HTML at /, JSON at /api/messages), in memory only. Real deployments
use a real SMTP relay; docker/docker-compose.yml uses the rnwood/smtp4dev image instead."""

import asyncio
import email
import email.policy
import html
import json
import signal
import sys
import threading
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

MESSAGES = deque(maxlen=500)
LOCK = threading.Lock()


class Handler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        with LOCK:
            MESSAGES.appendleft({
                "receivedAt": datetime.now(timezone.utc).isoformat(),
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(message.get("Subject", "")),
                "body": body.get_content() if body is not None else "",
            })
        return "250 OK"


class Web(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's hook name)
        with LOCK:
            messages = list(MESSAGES)
        if self.path.startswith("/api/messages"):
            payload, kind = json.dumps(messages).encode(), "application/json"
        elif self.path == "/health":
            payload, kind = b"ok\n", "text/plain"
        else:
            rows = "".join(
                f"<tr><td>{html.escape(m['receivedAt'])}</td><td>{html.escape(', '.join(m['to']))}</td>"
                f"<td>{html.escape(m['subject'])}</td><td><pre>{html.escape(m['body'][:2000])}</pre></td></tr>"
                for m in messages)
            payload = (f"<!doctype html><title>Mail catcher</title><h1>{len(messages)} messages</h1>"
                       f"<table border=1><tr><th>received</th><th>to</th><th>subject</th><th>body</th></tr>{rows}</table>"
                       ).encode()
            kind = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


def main():
    # PID 1 in its container: without a handler SIGTERM is ignored and `docker stop` waits for its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    controller = Controller(Handler(), hostname="0.0.0.0", port=25)
    controller.start()
    ThreadingHTTPServer(("0.0.0.0", 80), Web).serve_forever()


if __name__ == "__main__":
    main()
