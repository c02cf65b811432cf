"""A payment processor for the proxy's tests and benchmark: an HTTPS server on a loopback port that
records every request it receives and answers as it is told. Not part of the vault.

    python scripts/processor_simulator.py --cert CERT.pem --key KEY.pem [--port 0]

It prints `processor simulator listening on https://127.0.0.1:PORT` once it serves. Control routes,
on the same server:

    GET    /_sim/received   every request recorded so far: method, path, headers, body (text), and
                            the client's port (one per connection)
    DELETE /_sim/received   forget them
    POST   /_sim/answer     how to answer from now on: {"status", "headers", "body", "echo", "delay_ms"}
                            (`echo`: answer the received body back; `body` may be any JSON or text)
"""

import argparse
import contextlib
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_received: list[dict] = []
_answer: dict = {}
DEFAULT_ANSWER = {"status": 200, "headers": {}, "body": {"status": "authorized"}, "echo": False, "delay_ms": 0}
MAX_RECORDED = 1000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass  # quiet: the tests read what was received from /_sim/received

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, body: bytes) -> None:
        if self.path == "/_sim/received" and self.command == "GET":
            with _lock:
                payload = json.dumps(_received).encode()
            self._send(200, payload, {"Content-Type": "application/json"})
        elif self.path == "/_sim/received" and self.command == "DELETE":
            with _lock:
                _received.clear()
            self._send(204, b"", {})
        elif self.path == "/_sim/answer" and self.command == "POST":
            with _lock:
                _answer.clear()
                _answer.update({**DEFAULT_ANSWER, **json.loads(body or b"{}")})
            self._send(204, b"", {})
        else:
            self._send(404, b"", {})

    def _handle(self) -> None:
        body = self._body()
        if self.path.startswith("/_sim/"):
            self._control(body)
            return
        with _lock:
            if len(_received) < MAX_RECORDED:
                _received.append(
                    {
                        "method": self.command,
                        "peer_port": self.client_address[1],
                        "path": self.path,
                        "headers": [[name, value] for name, value in self.headers.items()],
                        "body": body.decode("utf-8", errors="replace"),
                    }
                )
            answer = dict(_answer or DEFAULT_ANSWER)
        if answer["delay_ms"]:
            time.sleep(answer["delay_ms"] / 1000)
        if answer["echo"]:
            payload = body
            headers = {"Content-Type": self.headers.get("Content-Type", "application/octet-stream")}
        else:
            raw = answer["body"]
            payload = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
            headers = {"Content-Type": "text/plain" if isinstance(raw, str) else "application/json"}
        self._send(answer["status"], payload, {**headers, **answer["headers"]})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True, help="PEM certificate chain for the server")
    parser.add_argument("--key", required=True, help="PEM private key")
    options = parser.parse_args()
    server = ThreadingHTTPServer((options.host, options.port), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(options.cert, options.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    host, port = server.server_address[:2]
    sys.stdout.write(f"processor simulator listening on https://{host}:{port}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
