"""The behavioural suite: the same checks against every server mode (real official-SDK servers)."""
from __future__ import annotations

import threading
import time

import pytest

from mcp_sync import (
    CallToolResult,
    ClientClosedError,
    ProgressEvent,
    RequestTimeout,
    ResultEvent,
    RPCError,
    Tool,
    ToolError,
)


def test_connects_and_reports_the_server(connect):
    with connect() as client:
        assert client.era == connect.mode.expect_era
        assert client.protocol_version == ("2026-07-28" if connect.mode.expect_era == "modern" else "2025-11-25")
        assert client.server_info.name == "mcp-sync-example"
        assert client.server_info.version == "1.0.0"
        assert client.instructions == "An example server for mcp_sync."
        assert client.server_capabilities.tools is not None
        assert client.transport == connect.mode.transport


def test_lists_tools(connect):
    with connect() as client:
        tools = client.list_tools()
    assert all(isinstance(t, Tool) for t in tools)
    by_name = {t.name: t for t in tools}
    assert {"echo", "add", "generate_numbers", "slow", "fail"} <= set(by_name)
    assert by_name["echo"].input_schema["properties"]["message"]["type"] == "string"
    assert by_name["echo"].description == "Echo a message back."


def test_seed_example(connect):
    with connect() as client:
        assert client.call_tool("echo", {"message": "Hello, MCP!"}).text == "Hello, MCP!"
        events = list(client.stream("tools/call", {"name": "generate_numbers", "arguments": {"count": 5}}))
    assert isinstance(events[-1], ResultEvent)
    assert events[-1].value.text == "1, 2, 3, 4, 5"
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    if connect.mode.progress:
        assert [(e.progress, e.total) for e in progress] == [(i, 5) for i in range(1, 6)]
        assert progress[0].text == "generated 1"
    else:
        assert progress == []


def test_call_tool_structured_and_typed(connect):
    with connect() as client:
        result = client.call_tool("add", {"a": 2, "b": 3.5})
    assert isinstance(result, CallToolResult)
    assert result.structured == {"result": 5.5}
    assert result.text == "5.5"
    assert result.is_error is False


def test_progress_callback_runs_as_progress_arrives(connect):
    seen = []
    with connect() as client:
        result = client.call_tool("generate_numbers", {"count": 4},
                                  progress=lambda p, total, msg: seen.append((p, total, msg)))
    assert result.text == "1, 2, 3, 4"
    if connect.mode.progress:
        assert seen == [(i, 4, f"generated {i}") for i in range(1, 5)]


def test_tool_error_is_a_result_not_an_exception(connect):
    with connect() as client:
        result = client.call_tool("fail", {"message": "boom"})
    assert result.is_error is True
    assert "boom" in result.text
    with pytest.raises(ToolError, match="boom"):
        result.raise_for_error()


def test_unknown_method_raises_rpc_error(connect):
    with connect() as client:
        with pytest.raises(RPCError) as info:
            client.call("no/such/method")
    assert info.value.code == -32601
    assert info.value.method == "no/such/method"


def test_raw_call_returns_a_dict(connect):
    with connect() as client:
        result = client.call("tools/call", {"name": "echo", "arguments": {"message": "raw"}})
    assert result["content"][0]["text"] == "raw"


def test_arguments_json_cannot_carry_are_refused_before_sending(connect):
    circular: dict = {}
    circular["self"] = circular
    with connect() as client:
        with pytest.raises(TypeError, match=r"tools/call: the message cannot be sent as JSON: 'object' is not a JSON type"):
            client.call_tool("echo", {"message": object()})
        with pytest.raises(ValueError, match="tools/call: .*NaN and infinities are not JSON"):
            client.call_tool("echo", {"message": float("nan")})
        with pytest.raises(ValueError, match="tools/call: .*nested too deeply or contains itself"):
            client.call_tool("echo", {"message": circular})
        assert client.call_tool("echo", {"message": "still here"}).text == "still here"


def test_timeout_cancels_and_client_stays_usable(connect):
    with connect() as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            client.call_tool("slow", {"seconds": 5}, timeout=0.5)
        assert time.monotonic() - started < 2.0
        assert isinstance(info.value, TimeoutError)
        assert "tools/call" in str(info.value)
        assert client.call_tool("echo", {"message": "still here"}).text == "still here"


def test_closing_the_stream_early_cancels(connect):
    with connect() as client:
        stream = client.stream("tools/call", {"name": "generate_numbers", "arguments": {"count": 50}})
        first = next(stream)
        stream.close()
        if connect.mode.progress:
            assert isinstance(first, ProgressEvent)
        assert client.call_tool("echo", {"message": "after"}).text == "after"


def test_threads_share_one_client(connect):
    errors = []
    results = {}

    with connect() as client:
        def work(n: int) -> None:
            try:
                for i in range(20):
                    text = f"{n}-{i}"
                    results[text] = client.call_tool("echo", {"message": text}).text
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert not errors
    assert len(results) == 160
    assert all(k == v for k, v in results.items())


def test_close_from_another_thread_wakes_waiters(connect):
    client = connect()
    client.connect()
    outcome = []

    def waiter() -> None:
        try:
            client.call_tool("slow", {"seconds": 10}, timeout=30)
        except Exception as exc:
            outcome.append(exc)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    started = time.monotonic()
    client.close()
    for t in threads:
        t.join(5)
    assert time.monotonic() - started < 3.0
    assert len(outcome) == 3
    assert all(isinstance(e, (ConnectionError, ClientClosedError)) for e in outcome), outcome
    with pytest.raises(ClientClosedError):
        client.call_tool("echo", {"message": "x"})
