"""A tiny scripted HTTP+SSE MCP server (2024-11-05), in a thread of the test process.

It reproduces what the official SDK server never does: the TypeScript layout
(``POST /message?sessionId=``), CRLF line endings, keep-alive comments, odd events, an endpoint
on another origin, a stream dropped on demand. It records every request it receives.
"""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit


class ScriptedSSEServer:
    def __init__(self, sse_path: str = "/sse", endpoint: str = "/message?sessionId={sid}", newline: str = "\r\n",
                 noise: bool = True) -> None:
        self.sse_path = sse_path
        self.endpoint = endpoint
        self.nl = newline
        self.noise = noise
        self.requests: List[Tuple[str, str]] = []  # (method, path)
        self.sessions: Dict[str, "queue.SimpleQueue[Optional[bytes]]"] = {}
        self.initializes = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-sse", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.sse_path}"

    def start(self) -> "ScriptedSSEServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.drop_streams()
        self._httpd.shutdown()
        self._httpd.server_close()

    def drop_streams(self) -> None:
        """End every open GET stream, as a server restart would."""
        for q in list(self.sessions.values()):
            q.put(None)
        self.sessions.clear()

    def _event(self, name: Optional[str], data: str) -> bytes:
        nl = self.nl
        head = f"event: {name}{nl}" if name else ""
        return f"{head}data: {data}{nl}{nl}".encode()

    def _reply(self, message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        method, rid = message.get("method"), message.get("id")
        if rid is None or method is None:
            return None
        if method == "initialize":
            self.initializes += 1
            return {"jsonrpc": "2.0", "id": rid, "result": {
                "protocolVersion": "2024-11-05", "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted-sse", "version": "0.1"}}}
        if method == "tools/call":
            args = message["params"].get("arguments") or {}
            if "sleep" in args:
                time.sleep(float(args["sleep"]))
            return {"jsonrpc": "2.0", "id": rid, "result": {
                "content": [{"type": "text", "text": str(args.get("message", ""))}]}}
        if method == "tools/list":
            return {"jsonrpc": "2.0", "id": rid, "result": {"tools": [
                {"name": "echo", "inputSchema": {"type": "object"}}]}}
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"Method not found: {method}"}}

    def _handler(self) -> type:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path))
                if urlsplit(self.path).path != server.sse_path:
                    return self._plain(404, b"Not Found")
                sid = uuid.uuid4().hex
                q: "queue.SimpleQueue[Optional[bytes]]" = queue.SimpleQueue()
                server.sessions[sid] = q
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    if server.noise:
                        self.wfile.write(f": hello{server.nl}{server.nl}".encode())
                    self.wfile.write(server._event("endpoint", server.endpoint.format(sid=sid, port=server.port)))
                    if server.noise:
                        self.wfile.write(server._event("message", "") + server._event("whatever", "{}"))
                    self.wfile.flush()
                    while True:
                        try:
                            item = q.get(timeout=0.2)
                        except queue.Empty:
                            if server.noise:
                                self.wfile.write(f": keep-alive{server.nl}{server.nl}".encode())
                                self.wfile.flush()
                            continue
                        if item is None:
                            break
                        self.wfile.write(item)
                        self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True

            def do_POST(self) -> None:
                server.requests.append(("POST", self.path))
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                sid = (query.get("sessionId") or query.get("session_id") or [""])[0]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if parts.path == server.sse_path:
                    return self._plain(405, b"Method Not Allowed")
                q = server.sessions.get(sid)
                if q is None:
                    return self._plain(404, b"Could not find session")
                self._plain(202, b"Accepted")
                message = json.loads(body)
                reply = server._reply(message) if "sleep" not in json.dumps(message) else None
                if reply is not None:
                    q.put(server._event("message", json.dumps(reply)))
                elif message.get("method") == "tools/call":
                    threading.Thread(target=lambda: q.put(server._event("message", json.dumps(server._reply(message)))),
                                     daemon=True).start()

            def _plain(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
