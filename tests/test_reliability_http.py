"""Faults on Streamable HTTP, against real official-SDK servers: legacy resumption, restarts,
SIGKILL mid-call, streams cut or stalled by a loopback proxy, connect and read timeouts."""
from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from faultproxy import TCPProxy
from servers import EXAMPLE_SERVER, ServerProcess, calls_in_flight
from mcp_sync import (
    Client,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ProgressEvent,
    RequestTimeout,
    ResultEvent,
    Timeout,
    TransportError,
)
from mcp_sync.transports import streamable_http

FAULT_SERVER = str(Path(__file__).with_name("fault_server.py"))
LEGACY = "2025-11-25"


@pytest.fixture(scope="module")
def resumable() -> Iterator[ServerProcess]:
    """Resumable legacy streams, retry: 300 ms."""
    server = ServerProcess([FAULT_SERVER, "--retry-interval", "300"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def resumable_no_retry() -> Iterator[ServerProcess]:
    server = ServerProcess([FAULT_SERVER]).start()
    yield server
    server.stop()


def runs(client: Client) -> int:
    return int(client.call_tool("runs").text)


# ---------------------------------------------------------------------------- legacy resumption


@pytest.mark.timeout(30)
def test_legacy_post_stream_closed_by_server_resumes_and_answers_once(resumable):
    with Client(resumable.url, protocol=LEGACY, timeout=10) as client:
        before = runs(client)
        started = time.monotonic()
        events = list(client.stream("tools/call", {"name": "close_then_answer",
                                                   "arguments": {"tag": "once", "delay": 0.05}}))
        elapsed = time.monotonic() - started
        assert runs(client) == before + 1  # the tool ran exactly once
    results = [e for e in events if isinstance(e, ResultEvent)]
    assert len(results) == 1 and results[0].value.text == "answered once"
    assert [(e.progress, e.total) for e in events if isinstance(e, ProgressEvent)] == [(1, 2), (2, 2)]
    assert elapsed >= 0.3  # the server's retry: 300 was honoured before reconnecting


@pytest.mark.timeout(30)
def test_legacy_resumption_without_retry_backs_off(resumable_no_retry):
    with Client(resumable_no_retry.url, protocol=LEGACY, timeout=10) as client:
        started = time.monotonic()
        result = client.call_tool("close_then_answer", {"tag": "b", "delay": 0.0})
        elapsed = time.monotonic() - started
    assert result.text == "answered b"
    # First reconnection: 0.5 s base with jitter in [0.5, 1), so 0.25-0.5 s.
    assert 0.25 <= elapsed < 3.0


def test_backoff_has_jitter_and_a_cap():
    first = {streamable_http._delay(None, 1) for _ in range(50)}
    assert len(first) > 1 and all(0.25 <= d <= 0.5 for d in first)
    assert all(d <= streamable_http.BACKOFF_CAP for d in (streamable_http._delay(None, n) for n in range(1, 40)))
    assert max(streamable_http._delay(None, 30) for _ in range(50)) > streamable_http.BACKOFF_CAP / 2
    assert streamable_http._delay(1500, 7) == 1.5  # retry: wins over backoff


@pytest.mark.timeout(30)
def test_legacy_get_stream_closed_by_server_resumes_with_last_event_id(resumable):
    with Client(resumable.url, protocol=LEGACY, timeout=10) as client:
        got: List[str] = []
        client.on_notification(None, lambda m: got.append(m["method"]))
        time.sleep(0.3)  # let the GET stream open
        assert client.call_tool("notify_across_get_cut").text == "sent"
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # anything replayed twice would arrive now
    assert got == ["notifications/tools/list_changed", "notifications/resources/list_changed"]


# ---------------------------------------------------------------------------- restarts


@pytest.mark.timeout(40)
@pytest.mark.parametrize("protocol", ["auto", LEGACY])
def test_server_restarted_on_the_same_port(protocol, private_server):
    server = private_server.start()
    with Client(server.url, protocol=protocol, timeout=10) as client:
        assert client.call_tool("echo", {"message": "before"}).text == "before"
        transport = getattr(client._transport, "inner", client._transport)
        old_session = transport.session_id
        server.restart()
        assert client.call_tool("echo", {"message": "after"}).text == "after"
        if protocol == LEGACY:
            # A 404 for the old session, a fresh initialize, one retry.
            assert transport.session_id not in (None, old_session)


@pytest.mark.timeout(30)
def test_server_gone_between_calls_names_the_cause(private_server):
    server = private_server.start()
    with Client(server.url, timeout=10) as client:
        client.call_tool("echo", {"message": "x"})
        server.kill()
        with pytest.raises(ConnectError, match="could not connect"):
            client.call_tool("echo", {"message": "y"})


# ---------------------------------------------------------------------------- SIGKILL mid-call


@pytest.mark.timeout(40)
@pytest.mark.parametrize("args,protocol", [
    ([], "auto"), (["--json-response"], "auto"), ([], LEGACY), (["--json-response"], LEGACY),
], ids=["modern-sse", "modern-json", "legacy-sse", "legacy-json"])
def test_sigkill_mid_call_wakes_every_caller_within_a_second(args, protocol):
    server = ServerProcess([str(EXAMPLE_SERVER), *args]).start()
    try:
        client = Client(server.url, protocol=protocol, timeout=30).connect()
        threads, errors, woke = calls_in_flight(client, 4)
        time.sleep(0.5)
        killed = time.monotonic()
        server.kill()
        for t in threads:
            t.join(5)
        assert len(errors) == 4
        assert max(woke) - killed < 1.0
        for err in errors:
            assert isinstance(err, TransportError), repr(err)
            assert err.method == "tools/call"
            assert "lost" in str(err) or "ended" in str(err) or "closed" in str(err), str(err)
        client.close()
    finally:
        server.stop()


# ---------------------------------------------------------------------------- broken modern streams


@pytest.fixture
def proxied(resumable_no_retry) -> Iterator[TCPProxy]:
    proxy = TCPProxy(resumable_no_retry.port)
    yield proxy
    proxy.close()


@pytest.mark.timeout(30)
def test_modern_broken_stream_fails_clearly_and_never_reruns_a_tool(proxied, resumable_no_retry):
    with Client(resumable_no_retry.url, timeout=10) as direct, Client(proxied.url(), timeout=10) as client:
        assert client.era == "modern"
        before = runs(direct)
        threading.Timer(0.5, proxied.cut).start()
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as info:
            client.call_tool("close_then_answer", {"tag": "cut", "delay": 2.0})
        assert time.monotonic() - started < 1.5
        assert info.value.method == "tools/call"
        assert "ended before the response" in str(info.value) or "lost" in str(info.value)
        time.sleep(2.2)
        assert runs(direct) == before + 1  # not silently re-run
        assert client.call_tool("echo", {"message": "still usable"}).text == "still usable"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("json_reply", [False, True], ids=["sse", "json"])
def test_idempotent_read_is_resent_once_after_a_broken_response(json_reply, caplog):
    server = ServerProcess([FAULT_SERVER, *(["--json-response"] if json_reply else [])]).start()
    proxy = TCPProxy(server.port)
    try:
        with Client(proxy.url(), timeout=10) as client:
            client.connect()
            proxy.cut_on = b"inputSchema"  # drop the first tools/list reply and cut its connection
            with caplog.at_level(logging.WARNING, logger="mcp_sync.engine"):
                tools = client.list_tools()
            assert "echo" in {t.name for t in tools}
            assert proxy.cut_on is None  # the cut really happened
            assert any("sent again" in r.getMessage() for r in caplog.records)
    finally:
        proxy.close()
        server.stop()


@pytest.mark.timeout(30)
def test_tool_call_reply_lost_is_reported_not_resent(proxied, resumable_no_retry):
    with Client(resumable_no_retry.url, timeout=10) as direct, Client(proxied.url(), timeout=10) as client:
        client.connect()
        before = runs(direct)
        proxied.cut_on = b"answered lost"
        with pytest.raises(ConnectionClosed):
            client.call_tool("close_then_answer", {"tag": "lost", "delay": 0.0})
        assert runs(direct) == before + 1


# ---------------------------------------------------------------------------- timeouts


@pytest.mark.timeout(30)
def test_stalled_stream_is_closed_after_the_read_timeout(proxied):
    with Client(proxied.url(), timeout=Timeout(call=20, read=1.0)) as client:
        client.connect()
        proxied.stall()
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match=r"Timeout\.read"):
            client.call_tool("echo", {"message": "stalled"})
        assert 0.9 <= time.monotonic() - started < 3.0
        proxied.resume()


@pytest.mark.timeout(30)
def test_stream_silent_after_progress_is_closed_and_reported(resumable_no_retry):
    with Client(resumable_no_retry.url, timeout=Timeout(call=20, read=1.0)) as client:
        seen = []
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match=r"Timeout\.read"):
            client.call_tool("progress_then_stall", {"seconds": 10}, progress=lambda *a: seen.append(a))
        assert seen == [(1, 2, "started")]
        assert time.monotonic() - started < 4.0


@pytest.mark.timeout(30)
def test_connect_timeout_is_distinct_from_the_call_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    backlog = []
    try:
        for _ in range(4):  # fill the accept queue: further SYNs are dropped, connect() hangs
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            backlog.append(sock)
        started = time.monotonic()
        with pytest.raises(ConnectTimeout):
            Client(f"http://127.0.0.1:{port}/mcp", timeout=Timeout(call=20, connect=0.5)).connect()
        assert time.monotonic() - started < 3.0
    finally:
        for sock in backlog:
            sock.close()
        listener.close()
