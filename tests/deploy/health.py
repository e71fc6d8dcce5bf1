"""A stand-in for the operations listener, to run the image's and compose's healthcheck commands
against: it answers every GET with `status` and records the paths asked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubOpsListener:
    def __init__(self) -> None:
        self.status = 200
        self.paths: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.paths.append(self.path)
                self.send_response(stub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def __enter__(self) -> StubOpsListener:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def probe(self, command: list[str]) -> int:
        return run_healthcheck(command, self.port)


def run_healthcheck(command: list[str], ops_port: int) -> int:
    """Run a healthcheck's exec-form command (`python …`, with this interpreter) as the container
    would, with GATEWAY_OPS_PORT set; its exit status."""
    assert command[0] == "python", command
    env = {**os.environ, "GATEWAY_OPS_PORT": str(ops_port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30).returncode
