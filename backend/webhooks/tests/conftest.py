"""Fixtures of the webhooks tests: real HTTP receivers on localhost, and a way to drive deliveries.

A ``Receiver`` is an ``http.server`` in a thread; its ``answer`` decides each
response (status, delay, headers), and it records every request it got. The
tests drive dispatch and attempts through the services, as the worker's
dispatcher and tasks do, with ``now`` moved forward where a retry is due.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import services
from webhooks.models import Delivery


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int
    answer: object = None  # (Received) -> (status, delay seconds, extra headers); default 200 at once
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                got = Received({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length), time.time())
                with receiver._lock:
                    receiver.received.append(got)
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    status, delay, headers = receiver.answer(got) if receiver.answer else (200, 0, {})
                    if delay:
                        time.sleep(delay)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    reply = b'{"ok": true}'
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    """As under `make run`: receivers on localhost over http. The refusal tests turn these off."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


@pytest.fixture
def receiver():
    started = []

    def make(answer=None, port: int | None = None, start: bool = True) -> Receiver:
        r = Receiver(port=port or free_port(), answer=answer)
        if start:
            r.start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def deliver_due(now=None) -> list[services.AttemptResult]:
    """Dispatch new events, then attempt every due delivery once (as the worker would)."""
    services.webhooks_dispatch()
    ids = list(Delivery.objects.filter(status=Delivery.Status.PENDING).order_by("id").values_list("id", flat=True))
    return [services.delivery_attempt(delivery_id=i, now=now) for i in ids]
