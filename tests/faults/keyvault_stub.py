"""A local stand-in for Azure Key Vault's secrets REST API and for the managed-identity token endpoint the product's
DefaultAzureCredential uses, for scenario 5b of the fault suite (docs/reliability.md).

- The vault speaks HTTPS with a self-signed certificate made at run time (openssl; SAN IP 127.0.0.1). The .NET processes
  trust it through SSL_CERT_FILE, a bundle of the system's CAs and that certificate (`trust_bundle`).
- A request without the bearer token gets Key Vault's 401 challenge (`WWW-Authenticate: Bearer authorization=…,
  resource=…`), which SecretClient's challenge policy needs before it asks the credential for a token. The SDK checks
  that the vault's host ends with "." + the resource's host (as `x.vault.azure.net` does with `vault.azure.net`), which
  an IP address cannot satisfy: the vault is addressed as `vault.faults.invalid` (resource https://faults.invalid, the
  check stays on) and reached through a CONNECT proxy of the stub (`HTTPS_PROXY`), which tunnels every connection to
  the vault's port on 127.0.0.1; nothing is resolved, nothing on the machine is reconfigured.
- Routes: `GET /secrets` (one page, read by the hosts' configuration provider at start-up), `GET
  /secrets/{name}[/{version}]`, `PUT /secrets/{name}`, `DELETE /secrets/{name}` (soft delete: the name reads 404
  afterwards), every one needing `api-version`; errors are Key Vault's `{"error": {"code", "message"}}`.
- The token comes from an App Service managed-identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, plain HTTP on
  127.0.0.1 as on App Service), a port of its own, so the vault can fail while the identity endpoint stays up.
- `outage("refuse")` closes the listener and resets every open connection (new connections are refused);
  `outage("silent")` accepts and reads requests but never answers; `restore()` serves again.
Counts every write per secret name, so a secret written twice or left behind shows. 127.0.0.1 only."""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter

from listening import close_listener, listen
from peers import read_body
from stack import HOST

TENANT_ID = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
VAULT_HOST = "vault.faults.invalid"  # reached through the stub's CONNECT proxy; see the module's docstring


def make_certificate(directory: str) -> tuple[str, str, str]:
    """(certificate, key, trust bundle) for 127.0.0.1, valid for a day; the bundle is the system CAs plus the certificate."""
    os.makedirs(directory, exist_ok=True)
    cert, key, bundle = (os.path.join(directory, n) for n in ("vault.crt", "vault.key", "trust-bundle.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=faults-vault", "-addext", f"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:{VAULT_HOST}",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True, timeout=60)
    system = next((p for p in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")
                   if os.path.exists(p)), None)
    with open(bundle, "w", encoding="utf-8") as out:
        if system:
            with open(system, encoding="utf-8") as handle:
                out.write(handle.read().rstrip() + "\n")
        with open(cert, encoding="utf-8") as handle:
            out.write(handle.read())
    return cert, key, bundle


class KeyVaultStub:
    def __init__(self, vault_port: int, identity_port: int, proxy_port: int, directory: str) -> None:
        self.vault_port = vault_port
        self.identity_port = identity_port
        self.proxy_port = proxy_port
        self.proxy: socket.socket | None = None
        self.cert, self.key, self.bundle = make_certificate(directory)
        self.identity_header = uuid.uuid4().hex
        self.token = "faults-vault-" + uuid.uuid4().hex
        self.lock = threading.Lock()
        self.secrets: dict[str, list[str]] = {}  # name -> versions (values), live secrets only
        self.deleted: set[str] = set()
        self.writes: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()  # "<mode> <METHOD> <route>" -> count
        self.token_requests = 0
        self.mode = "ok"
        self.open_conns: set[socket.socket] = set()
        self.vault_server: socketserver.TCPServer | None = None
        self._start_vault()
        self._start_proxy()
        self.identity_server = self._identity_server()
        threading.Thread(target=self.identity_server.serve_forever, daemon=True).start()

    # --- what the .NET processes need --------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """Settings and variables for an API or worker that keeps its secrets in this vault."""
        return {
            "CleanCrm__Secrets__Provider": "KeyVault",
            "CleanCrm__Secrets__KeyVault__VaultUri": f"https://{VAULT_HOST}:{self.vault_port}/",
            # DefaultAzureCredential straight to the managed identity (no probing of developer tools), App Service style.
            "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
            "IDENTITY_ENDPOINT": f"http://{HOST}:{self.identity_port}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "SSL_CERT_FILE": self.bundle,
            "HTTPS_PROXY": f"http://{HOST}:{self.proxy_port}",
        }

    def seed(self, name: str, value: str) -> None:
        with self.lock:
            self.secrets.setdefault(name, []).append(value)

    def versions(self, name: str) -> int:
        with self.lock:
            return len(self.secrets.get(name, []))

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.secrets)

    # --- faults ----------------------------------------------------------------------------------------------------

    def outage(self, mode: str) -> None:
        """"refuse": nothing listens and open connections are reset; "silent": requests are read and never answered."""
        self.mode = mode
        if mode == "refuse":
            self._stop_proxy()
            self._stop_vault()
        else:
            self._start_vault()
            self._start_proxy()

    def restore(self) -> None:
        self.mode = "ok"
        self._start_vault()
        self._start_proxy()

    def close(self) -> None:
        self.mode = "ok"
        self._stop_proxy()
        self._stop_vault()
        self.identity_server.shutdown()
        self.identity_server.server_close()

    # --- servers ---------------------------------------------------------------------------------------------------

    def _start_proxy(self) -> None:
        if self.proxy is not None:
            return
        self.proxy = listen(self.proxy_port, self._proxy_accept)

    def _stop_proxy(self) -> None:
        listener, self.proxy = self.proxy, None
        close_listener(listener)

    def _proxy_accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        """One CONNECT: whatever host it names, the tunnel goes to the vault's port on 127.0.0.1."""
        with self.lock:
            self.open_conns.add(client)
        upstream = None
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            if not head.upper().startswith(b"CONNECT "):
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection((HOST, self.vault_port), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            upstream.settimeout(None)
            with self.lock:
                self.open_conns.add(upstream)
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open_conns.discard(client)
                if upstream is not None:
                    self.open_conns.discard(upstream)
            for conn in (client, upstream):
                if conn is not None:
                    try:
                        conn.close()
                    except OSError:
                        pass

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _start_vault(self) -> None:
        if self.vault_server is not None:
            return
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        stub = self
        handler = self._vault_handler()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request, client_address) -> None:
                # The TLS handshake happens here, on the request's own thread, not on the accepting one. wrap_socket
                # detaches `request`: the TLS socket is the one to track (and to reset in a "refuse" outage).
                conn = None
                try:
                    conn = context.wrap_socket(request, server_side=True)
                    with stub.lock:
                        stub.open_conns.add(conn)
                    handler(conn, client_address, self)
                finally:
                    if conn is not None:
                        with stub.lock:
                            stub.open_conns.discard(conn)
                        try:
                            conn.close()
                        except OSError:
                            pass

            def handle_error(self, request, client_address) -> None:  # resets and aborted handshakes are expected
                pass

        self.vault_server = Server((HOST, self.vault_port), handler)
        threading.Thread(target=self.vault_server.serve_forever, daemon=True).start()

    def _stop_vault(self) -> None:
        server, self.vault_server = self.vault_server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self.lock:
            conns = list(self.open_conns)
        for conn in conns:  # close() alone would not end a connection another thread reads (docs/reliability.md, 4)
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _vault_handler(self):
        stub = self
        resource = "https://faults.invalid"

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("x-ms-request-id", str(uuid.uuid4()))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
                self._json(status, {"error": {"code": code, "message": message}}, headers)

            def _bundle(self, name: str, value: str | None, version: int) -> dict:
                now = int(time.time())
                body = {"id": f"https://{VAULT_HOST}:{stub.vault_port}/secrets/{name}/{version:032x}",
                        "attributes": {"enabled": True, "created": now, "updated": now, "recoveryLevel": "Recoverable+Purgeable",
                                       "recoverableDays": 90}}
                if value is not None:
                    body["value"] = value
                return body

            def _handle(self) -> None:
                body = read_body(self)
                parts = urllib.parse.urlsplit(self.path)
                segments = [s for s in parts.path.split("/") if s]
                route = "/".join(segments[:1]) or "/"
                with stub.lock:
                    stub.requests[f"{stub.mode} {self.command} {route}"] += 1
                if stub.mode == "silent":
                    while stub.mode == "silent":
                        time.sleep(0.2)
                    self.close_connection = True
                    return  # never answered
                if self.headers.get("Authorization") != f"Bearer {stub.token}":
                    self._error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", {
                        "WWW-Authenticate": f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
                                            f'resource="{resource}"'})
                    return
                if "api-version" not in urllib.parse.parse_qs(parts.query):
                    self._error(400, "BadParameter", "The 'api-version' query parameter is missing.")
                    return
                if segments == ["secrets"] and self.command == "GET":
                    # The configuration provider lists the vault at start-up (config--* secrets; the suite has none).
                    with stub.lock:
                        items = [{"id": f"https://{VAULT_HOST}:{stub.vault_port}/secrets/{n}",
                                  "attributes": self._bundle(n, None, len(v))["attributes"]} for n, v in stub.secrets.items()]
                    self._json(200, {"value": items, "nextLink": None})
                    return
                if len(segments) < 2 or segments[0] != "secrets":
                    self._error(400, "StubUnmatched", f"The stub has no route for {self.command} {parts.path}.")
                    return
                name = segments[1]
                with stub.lock:
                    if self.command == "GET":
                        versions = stub.secrets.get(name)
                        if not versions:
                            answer = (404, None)
                        else:
                            answer = (200, self._bundle(name, versions[-1], len(versions)))
                    elif self.command == "PUT":
                        value = json.loads(body or b"{}").get("value")
                        if value is None:
                            answer = (400, {"error": {"code": "BadParameter", "message": "Property 'value' is required."}})
                        else:
                            stub.secrets.setdefault(name, []).append(value)
                            stub.deleted.discard(name)
                            stub.writes[name] += 1
                            answer = (200, self._bundle(name, value, len(stub.secrets[name])))
                    elif self.command == "DELETE":
                        versions = stub.secrets.pop(name, None)
                        if versions is None:
                            answer = (404, None)
                        else:
                            stub.deleted.add(name)
                            deleted = self._bundle(name, None, len(versions))
                            deleted.update({"recoveryId": f"https://{VAULT_HOST}:{stub.vault_port}/deletedsecrets/{name}",
                                            "deletedDate": int(time.time()), "scheduledPurgeDate": int(time.time()) + 90 * 86400})
                            answer = (200, deleted)
                    else:
                        answer = (405, {"error": {"code": "MethodNotAllowed", "message": self.command}})
                status, payload = answer
                if status == 404:
                    self._error(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")
                else:
                    self._json(status, payload)

            do_GET = _handle
            do_PUT = _handle
            do_DELETE = _handle
            do_POST = _handle

        return Handler

    def _identity_server(self) -> http.server.HTTPServer:
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if self.headers.get("X-IDENTITY-HEADER") != stub.identity_header:
                    status, body = 401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER missing or wrong"}
                elif not query.get("resource"):
                    status, body = 400, {"error": "invalid_request", "error_description": "resource is required"}
                else:
                    with stub.lock:
                        stub.token_requests += 1
                    status, body = 200, {"access_token": stub.token, "expires_on": str(int(time.time()) + 86400),
                                         "resource": query["resource"][0], "token_type": "Bearer",
                                         "client_id": "00000000-0000-0000-0000-00000000f5b5"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        return Server((HOST, self.identity_port), Handler)
