"""Quick start: start the bundled example server, connect, list tools, call one, stream one.

    pip install -e ".[examples]" && python examples/quickstart.py
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from mcp_sync import Client, ProgressEvent, ResultEvent

SERVER = Path(__file__).with_name("server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the example server exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the example server did not start within 30 s")


def main() -> int:
    port = free_port()
    server = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with Client(url) as client:
            info = client.server_info
            print(f"connected to {info.name} {info.version} ({client.transport}, protocol {client.protocol_version})")

            tools = client.list_tools()
            print("tools:", ", ".join(tool.name for tool in tools))

            result = client.call_tool("echo", {"message": "Hello, MCP!"})
            print("echo ->", result.text)

            print("generate_numbers(5), streamed:")
            for event in client.stream("tools/call", {"name": "generate_numbers", "arguments": {"count": 5}}):
                if isinstance(event, ProgressEvent):
                    print(f"  progress {event.progress:g}/{event.total:g}: {event.text}", flush=True)
                elif isinstance(event, ResultEvent):
                    print("  result ->", event.value.text)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
