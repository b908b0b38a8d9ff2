"""A TCP proxy on 127.0.0.1 that can cut the network without closing anything.

``TcpProxy(target)`` listens on a free port of 127.0.0.1 and forwards every
connection to ``target``: ``(host, port)`` for TCP, or a path for a Unix
socket (the embedded servers listen on one). ``cut()`` behaves like a
network partition where packets are dropped, not refused: the proxy keeps
accepting connections and keeps every connection open on both sides, but
whatever either side sends is read and thrown away, and a side that closes is
not reported to the other. ``restore()`` forwards again (a connection whose
bytes were dropped stays out of step; clients drop such a connection on their
own timeouts). ``close()`` closes everything.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.accepted = 0  # connections accepted so far
        self.dropped_bytes = 0  # bytes thrown away while cut
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_forever, name=f"tcp-proxy-{self.port}", daemon=True).start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def cut(self) -> None:
        """From now on, forward nothing in either direction; keep every connection open."""
        self._cut.set()

    def restore(self) -> None:
        self._cut.clear()

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv()
            sock.close()

    def _upstream(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
        else:
            upstream = socket.create_connection(self.target)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _accept_forever(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            client.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                upstream = self._upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed.is_set():
                    client.close()
                    upstream.close()
                    return
                self.accepted += 1
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self._cut.is_set():
                    with self._lock:
                        self.dropped_bytes += len(data)
                    continue
                sink.sendall(data)
        except OSError:
            return
        if not self._cut.is_set():  # a close is news only while the network is up
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
