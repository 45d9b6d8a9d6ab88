"""A minimal modern (2026-07-28) Streamable HTTP server on the standard library, for load tests
where the official SDK server's own cost per call (about 5 ms here) would hide the client's.
It answers ``server/discover``, and ``tools/call`` of ``echo`` with a JSON reply.

    python tests/light_server.py --port 8000
"""
from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "2026-07-28"


def answer(message: dict) -> dict:
    method = message.get("method")
    if method == "server/discover":
        result = {"supportedVersions": [VERSION], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "light", "version": "1.0.0"}}
    elif method == "tools/call" and message["params"].get("name") == "echo":
        text = message["params"]["arguments"]["message"]
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    else:
        return {"jsonrpc": "2.0", "id": message.get("id"), "error": {"code": -32601, "message": "not found"}}
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the delayed-ACK stall

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        message = json.loads(body)
        if "id" not in message:
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        data = json.dumps(answer(message)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def main(argv: list) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
