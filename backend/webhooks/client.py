"""One HTTP POST to a receiver, to the address that was checked, never following a redirect.

``http.client`` follows no redirect by itself: a 3xx is an answer like any
other non-2xx (a failed attempt). The connection goes to ``Target.address``
(the IP ``webhooks.targets.resolve`` checked) while the request carries the
URL's host in ``Host`` and, for https, in the TLS server name, whose
certificate is verified against that name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from webhooks.targets import Target

RESPONSE_SLICE_BYTES = 1024
CONNECT_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    response_body: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target
        self._timeout = timeout

    def connect(self) -> None:
        self.sock = socket.create_connection(
            (self._target.address, self._target.port), timeout=min(self._timeout, CONNECT_TIMEOUT_SECONDS)
        )
        self.sock.settimeout(self._timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self._target.host)


def post(*, target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
    """POST ``body``; the whole exchange must finish within ``timeout`` seconds. Never raises."""
    started = time.monotonic()
    deadline = started + timeout
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(target, timeout)
    status: int | None = None
    error = ""
    text = ""
    try:
        host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        if ":" in target.host:  # an IPv6 literal
            host_header = f"[{target.host}]" + ("" if target.port in (80, 443) else f":{target.port}")
        conn.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": host_header, **headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        if conn.sock is not None:
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        response = conn.getresponse()
        status = response.status
        text = response.read(RESPONSE_SLICE_BYTES).decode("utf-8", "replace")
        if time.monotonic() > deadline:
            status, error = None, f"timed out after {timeout:g}s"
    except TimeoutError:
        error = f"timed out after {timeout:g}s"
    except ssl.SSLError as exc:
        error = f"TLS error: {exc.reason or exc}"[:255]
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:255]
    finally:
        conn.close()
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(status_code=status, error=error, response_body=text, duration_ms=duration_ms)
