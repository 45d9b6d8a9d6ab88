"""The floor: the least code that can talk to the benchmark server, written by hand for it.

A JSON-RPC loop over one ``requests.Session`` (Streamable HTTP, both eras), over a GET stream plus
POSTs (HTTP+SSE), and over raw pipes (stdio). No validation, no timeouts beyond the socket's, no
cancellation: what is left is the cost of the wire, which no client can avoid. Every client in the
benchmark is measured as a ratio to this.

Sequential calls read the reply in the caller's thread. With several threads, HTTP+SSE and stdio
need one reader thread that hands each reply to its caller (a multiplexed stream cannot be read by
every caller at once); ``start_reader()`` switches to that.
"""
from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
from typing import Any, Callable, Dict, Iterator, Optional

import requests

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "floor", "version": "1"},
}
ProgressFn = Optional[Callable[[Dict[str, Any]], None]]


def sse_events(chunks: Iterator[bytes]) -> Iterator[Dict[str, Any]]:
    """The JSON data of each SSE event (the SDK frames with CRLF and one ``data:`` line)."""
    buf = bytearray()
    scan = 0
    for chunk in chunks:
        buf += chunk
        while True:
            end = buf.find(b"\r\n\r\n", scan)
            if end < 0:
                scan = max(0, len(buf) - 3)
                break
            event = bytes(buf[:end])
            del buf[: end + 4]
            scan = 0
            for line in event.split(b"\r\n"):
                if line.startswith(b"data: "):
                    yield json.loads(line[6:])


class FloorHTTP:
    """Streamable HTTP, modern (``server/discover``) or legacy (``initialize``)."""

    def __init__(self, url: str, era: str) -> None:
        self.url = url
        self.era = era
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=16)
        self.http.mount("http://", adapter)
        self.ids = itertools.count(1)
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

    def connect(self) -> None:
        if self.era == "modern":
            self.call("server/discover", None)
            return
        self.call("initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                 "clientInfo": {"name": "floor", "version": "1"}})
        self.headers["MCP-Protocol-Version"] = LEGACY
        self.http.post(self.url, data=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
                       headers=self.headers).close()

    def call(self, method: str, params: Optional[Dict[str, Any]], progress: ProgressFn = None) -> Dict[str, Any]:
        request_id = next(self.ids)
        params = dict(params or {})
        headers = self.headers
        if self.era == "modern":
            meta = dict(META)
            headers = dict(headers, **{"MCP-Protocol-Version": MODERN, "Mcp-Method": method})
            if method == "tools/call":
                headers["Mcp-Name"] = params["name"]
        else:
            meta = {}
        if progress is not None:
            meta["progressToken"] = request_id
        if meta:
            params["_meta"] = meta
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
        with self.http.post(self.url, data=body, headers=headers, stream=True) as response:
            if method == "initialize":
                self.headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
            if response.headers["content-type"].startswith("application/json"):
                return json.loads(response.content)["result"]
            for message in sse_events(response.iter_content(chunk_size=None)):
                if "method" in message:
                    if progress is not None:
                        progress(message)
                    continue
                return message["result"]
        raise RuntimeError("no response")

    def close(self) -> None:
        if "Mcp-Session-Id" in self.headers:
            self.http.delete(self.url, headers=self.headers).close()
        self.http.close()


class _Multiplexed:
    """What HTTP+SSE and stdio share: one inbound stream, read in place or by a reader thread."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.modern = False
        self.waiting: Dict[int, "queue.SimpleQueue[Dict[str, Any]]"] = {}
        self.reader: Optional[threading.Thread] = None
        self.lock = threading.Lock()

    def messages(self) -> Iterator[Dict[str, Any]]:
        raise NotImplementedError

    def send(self, message: Dict[str, Any]) -> None:
        raise NotImplementedError

    def start_reader(self) -> None:
        self.inbox = self.messages()
        self.reader = threading.Thread(target=self._read, name="floor-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            self._dispatch()
        except Exception:  # the stream was closed under us: the benchmark is over
            pass

    def _dispatch(self) -> None:
        for message in self.inbox:
            key = message.get("id")
            if key is None:
                key = (message.get("params") or {}).get("progressToken")
            q = self.waiting.get(key)
            if q is not None:
                q.put(message)

    def call(self, method: str, params: Optional[Dict[str, Any]], progress: ProgressFn = None) -> Dict[str, Any]:
        request_id = next(self.ids)
        params = dict(params or {})
        meta = dict(META) if self.modern else {}
        if progress is not None:
            meta["progressToken"] = request_id
        if meta:
            params["_meta"] = meta
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        if self.reader is None:
            self.send(message)
            for reply in self.inbox:
                if reply.get("id") == request_id:
                    if "error" in reply:
                        raise RuntimeError(reply["error"])
                    return reply["result"]
                if progress is not None and "method" in reply:
                    progress(reply)
            raise RuntimeError("stream ended")
        q: "queue.SimpleQueue[Dict[str, Any]]" = queue.SimpleQueue()
        self.waiting[request_id] = q
        try:
            self.send(message)
            while True:
                reply = q.get(timeout=120)
                if "method" in reply:
                    if progress is not None:
                        progress(reply)
                    continue
                return reply["result"]
        finally:
            del self.waiting[request_id]

    def handshake(self, modern: bool = False) -> None:
        if modern:
            # The era mcp_sync picks on stdio (server/discover), so the server does the same work.
            self.modern = True
            try:
                self.call("server/discover", None)
                return
            except RuntimeError:
                self.modern = False
        self.call("initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                 "clientInfo": {"name": "floor", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


class FloorSSE(_Multiplexed):
    """HTTP+SSE (2024-11-05): a GET stream for every reply, POSTs to the endpoint it names."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))

    def connect(self) -> None:
        self.stream = self.http.get(self.url, headers={"Accept": "text/event-stream"}, stream=True)
        chunks = self.stream.iter_content(chunk_size=None)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += next(chunks)
        head, rest = buf.split(b"\r\n\r\n", 1)
        path = head.split(b"data: ", 1)[1].decode()
        self.endpoint = requests.compat.urljoin(self.url, path)
        self.inbox = sse_events(itertools.chain([rest], chunks))
        self.handshake()

    def messages(self) -> Iterator[Dict[str, Any]]:
        return self.inbox

    def send(self, message: Dict[str, Any]) -> None:
        self.http.post(self.endpoint, data=json.dumps(message).encode(),
                       headers={"Content-Type": "application/json"}).close()

    def close(self) -> None:
        self.stream.close()
        self.http.close()


class FloorStdio(_Multiplexed):
    """stdio: newline-delimited JSON over the server process's pipes."""

    def __init__(self, argv: "list[str]") -> None:
        super().__init__()
        self.argv = argv

    def connect(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.inbox = (json.loads(line) for line in self.proc.stdout)
        self.handshake(modern=True)

    def messages(self) -> Iterator[Dict[str, Any]]:
        return self.inbox

    def send(self, message: Dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self.lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except Exception:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()
