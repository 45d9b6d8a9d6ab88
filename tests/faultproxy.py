"""A loopback TCP proxy the test controls: put it between a client and a real server, then cut
every connection, stall the server-to-client direction, or let the server-to-client bytes of
matching connections be cut after a marker appears."""
from __future__ import annotations

import socket
import threading
from typing import List, Optional, Tuple


class TCPProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: List[Tuple[socket.socket, socket.socket]] = []
        self._all: List[Tuple[socket.socket, socket.socket]] = []
        self._threads: List[threading.Thread] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        #: When set, a server-to-client chunk containing these bytes is dropped and its connection cut.
        self.cut_on: Optional[bytes] = None
        self.connections = 0
        self._start(self._accept, "accept")

    def url(self, path: str = "/mcp") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _start(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=f"test-proxy-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._pairs.append((client, upstream))
                self._all.append((client, upstream))
                self.connections += 1
            self._start(self._pipe, "up", client, upstream, False)
            self._start(self._pipe, "down", upstream, client, True)

    def _pipe(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if downstream:
                    self._flowing.wait()
                    marker = self.cut_on
                    if marker is not None and marker in data:
                        self.cut_on = None
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Cut every open connection (both directions), as a network failure would."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stall(self) -> None:
        """Stop forwarding server-to-client bytes (the connections stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._flowing.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self.cut()
        with self._lock:
            pairs = list(self._all)
        for pair in pairs:
            for sock in pair:
                sock.close()
        for thread in self._threads:
            thread.join(2)
