"""SIGKILL mid-call and restarts on HTTP+SSE and stdio (Streamable HTTP: test_reliability_http.py)."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from servers import EXAMPLE_SERVER, ServerProcess, calls_in_flight, stdio_command
from mcp_sync import Client, ConnectionClosed, StdioServer, TransportError


@pytest.mark.timeout(40)
def test_http_sse_sigkill_mid_call_wakes_every_caller_then_reconnects_after_restart():
    server = ServerProcess([str(EXAMPLE_SERVER), "--transport", "sse"], path="/sse").start()
    try:
        with Client(server.url, timeout=30) as client:
            assert client.transport == "sse"
            threads, errors, woke = calls_in_flight(client)
            time.sleep(0.5)
            killed = time.monotonic()
            server.kill()
            for t in threads:
                t.join(5)
            assert len(errors) == 4 and max(woke) - killed < 1.0
            assert all(isinstance(e, TransportError) for e in errors), errors
            assert all(str(e) for e in errors)
            server.start()  # same port
            assert client.call_tool("echo", {"message": "back"}).text == "back"
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_stdio_sigkill_mid_call_reports_the_exit_and_restart_respawns():
    command = stdio_command()
    with Client(StdioServer(command[0], command[1:], restart=True), timeout=30) as client:
        client.connect()
        first = client._transport.proc
        threads, errors, woke = calls_in_flight(client)
        time.sleep(0.5)
        killed = time.monotonic()
        os.kill(first.pid, signal.SIGKILL)
        for t in threads:
            t.join(5)
        assert len(errors) == 4 and max(woke) - killed < 1.0
        for err in errors:
            assert isinstance(err, ConnectionClosed), repr(err)
            assert f"pid {first.pid}" in str(err) and "code -9" in str(err), str(err)
            assert err.returncode == -9
        # restart=True: the next call starts a new server process.
        assert client.call_tool("echo", {"message": "respawned"}).text == "respawned"
        assert client._transport.proc.pid != first.pid


@pytest.mark.timeout(40)
def test_stdio_dead_server_without_restart_keeps_reporting_its_exit():
    client = Client([sys.executable, str(EXAMPLE_SERVER), "--transport", "stdio"], timeout=30)
    try:
        client.connect()
        pid = client._transport.proc.pid
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        for _ in range(2):
            with pytest.raises(ConnectionClosed, match=r"code -9.*restart=True|restart=True"):
                client.call_tool("echo", {"message": "x"})
    finally:
        client.close()
