"""Real MCP servers for the tests: official-SDK servers started in subprocesses on free
127.0.0.1 ports, and stopped (terminate, then kill) when the test session ends."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SERVER = ROOT / "examples" / "server.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with code {proc.returncode} before listening:\n{out[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} within {timeout}s")


@dataclass
class ServerProcess:
    """One server subprocess. ``url`` is its MCP endpoint."""

    args: Sequence[str]
    path: str = "/mcp"
    port: int = field(default_factory=free_port)
    proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> "ServerProcess":
        cmd = [sys.executable, *self.args, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def restart(self) -> "ServerProcess":
        """Kill and start again on the same port."""
        self.kill()
        return self.start()


@dataclass(frozen=True)
class Mode:
    """How a test reaches a server: which server flags, and how the client is pinned."""

    name: str
    server_args: Sequence[str]
    protocol: str = "auto"
    path: str = "/mcp"
    expect_era: str = "modern"
    progress: bool = True  # JSON-reply servers send no progress notifications
    transport: str = "streamable-http"  # what client.transport must report


#: Every server mode the behavioural suite runs against (Streamable HTTP).
HTTP_MODES: List[Mode] = [
    Mode("modern", [], "auto", expect_era="modern"),
    Mode("modern-json", ["--json-response"], "auto", expect_era="modern", progress=False),
    Mode("legacy-sse", [], "2025-11-25", expect_era="legacy"),
    Mode("legacy-json", ["--json-response"], "2025-11-25", expect_era="legacy", progress=False),
    Mode("stateless", ["--stateless"], "auto", expect_era="modern"),
    Mode("stateless-legacy", ["--stateless"], "2025-11-25", expect_era="legacy"),
]

#: HTTP+SSE (2024-11-05): the official layout at /sse, and the fastapi-mcp layout (GET /mcp,
#: POST /mcp/messages/), which the client finds only by falling back from Streamable HTTP.
SSE_MODES: List[Mode] = [
    Mode("sse", ["--transport", "sse"], path="/sse", expect_era="legacy", transport="sse"),
    Mode("sse-mcp-mount", ["--transport", "sse", "--mount", "/mcp"], path="/mcp", expect_era="legacy",
         transport="sse"),
]

#: stdio: the example server as our subprocess, in both eras.
STDIO_MODES: List[Mode] = [
    Mode("stdio", [], expect_era="modern", transport="stdio"),
    Mode("stdio-legacy", [], "2025-11-25", expect_era="legacy", transport="stdio"),
]

ALL_MODES: List[Mode] = HTTP_MODES + SSE_MODES + STDIO_MODES


def stdio_command(*extra: str) -> List[str]:
    """The command line of the example server over stdio."""
    return [sys.executable, str(EXAMPLE_SERVER), "--transport", "stdio", *extra]


def calls_in_flight(client, n: int = 4, seconds: float = 20):
    """Start ``n`` threads, each blocked in ``slow(seconds)`` on ``client``. Returns the threads,
    the exceptions they end with, and when each woke (time.monotonic())."""
    import threading

    errors: list = []
    woke: list = []

    def call() -> None:
        try:
            client.call_tool("slow", {"seconds": seconds})
        except BaseException as exc:  # noqa: B902 - every way out is what the fault tests look at
            errors.append(exc)
        woke.append(time.monotonic())

    threads = [threading.Thread(target=call, name=f"test-caller-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    return threads, errors, woke
