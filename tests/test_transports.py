"""HTTP+SSE in every layout, and a server dying mid-call on every transport."""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import List

import pytest

from mcp_sync import Client, ConnectionClosed, ProtocolError, StdioServer

from scripted_sse import ScriptedSSEServer
from servers import EXAMPLE_SERVER, ServerProcess, stdio_command


@pytest.fixture
def scripted_sse():
    servers: List[ScriptedSSEServer] = []

    def make(**kw) -> ScriptedSSEServer:
        server = ScriptedSSEServer(**kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def test_typescript_layout_with_crlf_keepalives_and_odd_events(scripted_sse):
    server = scripted_sse()  # POST /message?sessionId=..., CRLF, comments, empty and unknown events
    with Client(server.url) as client:
        assert client.transport == "sse"
        assert client.era == "legacy" and client.protocol_version == "2024-11-05"
        assert client.server_info.name == "scripted-sse"
        assert client.call_tool("echo", {"message": "ts"}).text == "ts"
        assert [t.name for t in client.list_tools()] == ["echo"]
    posts = [path for method, path in server.requests if method == "POST"]
    assert posts and all(p.startswith("/message?sessionId=") for p in posts)
    # A /sse URL goes straight to HTTP+SSE: no Streamable HTTP probe first.
    assert server.requests[0] == ("GET", "/sse")


def test_lf_line_endings_and_an_absolute_endpoint(scripted_sse):
    server = scripted_sse(newline="\n", endpoint="http://127.0.0.1:{port}/message?sessionId={sid}", noise=False)
    with Client(server.url) as client:
        assert client.call_tool("echo", {"message": "lf"}).text == "lf"


def test_an_endpoint_on_another_origin_is_refused(scripted_sse):
    server = scripted_sse(endpoint="http://evil.example:{port}/message?sessionId={sid}")
    with pytest.raises(ProtocolError, match="another origin"):
        Client(server.url).connect()
    assert not [r for r in server.requests if r[0] == "POST"]


def test_losing_the_stream_fails_every_pending_call_at_once_then_reconnects(scripted_sse):
    server = scripted_sse()
    client = Client(server.url, timeout=30)
    client.connect()
    errors: list = []

    def call() -> None:
        try:
            client.call_tool("echo", {"message": "x", "sleep": 20})
        except Exception as exc:
            errors.append((exc, time.monotonic()))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    dropped = time.monotonic()
    server.drop_streams()
    for t in threads:
        t.join(5)
    assert len(errors) == 3
    assert all(isinstance(e, ConnectionClosed) and "HTTP+SSE stream" in str(e) for e, _ in errors)
    assert all(at - dropped < 1.0 for _, at in errors)
    # The next call opens a new stream and initializes again.
    assert client.call_tool("echo", {"message": "back"}).text == "back"
    assert server.initializes == 2
    client.close()


# ---------------------------------------------------------------------- servers dying mid-call

def _start(kind: str):
    if kind == "streamable-http":
        return ServerProcess([str(EXAMPLE_SERVER)]).start()
    return ServerProcess([str(EXAMPLE_SERVER), "--transport", "sse"], path="/sse").start()


@pytest.mark.parametrize("kind", ["streamable-http", "sse", "stdio"])
def test_a_server_killed_mid_call_wakes_every_caller_within_a_second(kind):
    server = None
    if kind == "stdio":
        client = Client(StdioServer(stdio_command()[0], stdio_command()[1:], restart=True), timeout=30)
    else:
        server = _start(kind)
        client = Client(server.url, timeout=30)
    try:
        client.connect()
        assert client.transport == kind
        outcome: list = []

        def call() -> None:
            try:
                client.call_tool("slow", {"seconds": 20})
            except Exception as exc:
                outcome.append((exc, time.monotonic()))

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        killed = time.monotonic()
        if server is not None:
            server.kill()
        else:
            os.kill(client._transport.proc.pid, signal.SIGKILL)
        for t in threads:
            t.join(5)
        assert len(outcome) == 3, outcome
        for exc, at in outcome:
            assert isinstance(exc, ConnectionError), repr(exc)
            assert at - killed < 1.0, (exc, at - killed)
            if kind == "stdio":
                assert "exited with code -9" in str(exc)
            else:
                assert "127.0.0.1" in str(exc)  # names the connection that was lost
        # The server comes back: the next call reconnects (new session, process or stream).
        if server is not None:
            server.start()
        assert client.call_tool("echo", {"message": "again"}).text == "again"
    finally:
        client.close()
        if server is not None:
            server.stop()
