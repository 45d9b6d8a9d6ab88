"""Server-to-client interactions: elicitation, sampling and roots as plain callables (legacy
server requests and modern input_required rounds), logging levels, and MRTR mechanics."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from _ev import EV_MODES, ev_fixture
from mcp_sync import ElicitRequest, ElicitResult, InteractionError, LogEvent, ResultEvent
from mcp_sync.errors import ProtocolError, RPCError
from mcp_sync.types import TextContent

ev = ev_fixture()
# The SDK cannot send server-to-client requests when it answers legacy requests with plain JSON.
interactive = ev_fixture([m for m in EV_MODES if m.name != "legacy-json"])
modern_ev = ev_fixture([m for m in EV_MODES if m.modern])


def test_elicitation_form(interactive):
    seen = []

    def elicit(request: ElicitRequest) -> ElicitResult:
        seen.append((request.mode, request.message, sorted(request.requested_schema["properties"]),
                     threading.current_thread().name))
        return ElicitResult(action="accept", content={"name": "Ann"})

    with interactive(elicitation=elicit) as client:
        # age is left out: the schema's default (30) fills it in (SEP-1034)
        assert client.call_tool("ask_name").text == "Hello Ann (30)"
    assert [s[:3] for s in seen] == [("form", "What is your name?", ["age", "name"])]


def test_elicitation_decline_reaches_the_server(interactive):
    with interactive(elicitation=lambda request: {"action": "decline"}) as client:
        result = client.call_tool("ask_name")
    assert result.is_error  # the tool refuses to go on without a name


def test_sampling(interactive):
    requests = []

    def sample(request):
        requests.append(request)
        return {"role": "assistant", "content": {"type": "text", "text": "a poem"}, "model": "test-model",
                "stopReason": "endTurn"}

    with interactive(sampling=sample) as client:
        assert client.call_tool("summarize", {"topic": "tea"}).text == "model test-model said: a poem"
    assert requests[0].max_tokens == 50
    assert requests[0].messages[0].role == "user"
    assert isinstance(requests[0].messages[0].content, TextContent) and "tea" in requests[0].messages[0].text


def test_sampling_messages_are_typed_and_a_malformed_request_is_invalid_params():
    from mcp_sync.handlers import Interactions
    from mcp_sync.types import UnknownContent

    seen = []

    def sample(request):
        seen.append(request)
        return {"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m"}

    interactions = Interactions(sampling=sample)
    use = {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "tea"}}
    answer = interactions.answer("sampling/createMessage", {"maxTokens": 5, "messages": [
        {"role": "user", "content": {"type": "text", "text": "find tea"}},
        {"role": "assistant", "content": [use, {"type": "text", "text": "searching"}]}]})
    assert answer == {"role": "assistant", "content": {"type": "text", "text": "ok"}, "model": "m"}
    first, second = seen[0].messages
    assert first.text == "find tea" and second.text == "searching"
    assert isinstance(second.content[0], UnknownContent) and second.content[0].to_wire() == use

    bad = {"maxTokens": 5, "messages": [{"role": "user", "content": "not a block"}]}
    with pytest.raises(RPCError) as caught:  # a legacy server gets this as its error reply
        interactions.answer("sampling/createMessage", bad)
    assert caught.value.code == -32602 and "sampling/createMessage" in caught.value.message
    with pytest.raises(ProtocolError, match="input request 'llm' \\(sampling/createMessage\\): invalid"):
        interactions.answer_all({"llm": {"method": "sampling/createMessage", "params": bad}}, "tools/call")
    assert len(seen) == 1  # the handler never saw the malformed request


def test_roots_list_and_callable(interactive):
    with interactive(roots=["file:///tmp/one", {"uri": "file:///tmp/two", "name": "two"}]) as client:
        assert client.call_tool("show_roots").text == "file:///tmp/one, file:///tmp/two"
    with interactive(roots=lambda: ["file:///srv"]) as client:
        assert client.call_tool("show_roots").text == "file:///srv"


def test_capabilities_declared_only_for_handlers(interactive):
    with interactive() as client:
        assert client._capabilities(interactive.mode.era) == {}
        try:  # the server cannot elicit: it refuses (-32021 on modern servers) or the tool fails
            assert client.call_tool("ask_name").is_error
        except RPCError as err:
            assert err.code in (-32021, -32600, -32601, -32603)
    with interactive(elicitation=lambda r: {"action": "cancel"}, roots=[]) as client:
        caps = client._capabilities(interactive.mode.era)
        assert set(caps) == {"elicitation", "roots"}


def test_handler_exception(interactive, caplog):
    def broken(request):
        raise RuntimeError("no UI available")

    with interactive(elicitation=broken) as client, caplog.at_level(logging.ERROR, logger="mcp_sync"):
        if interactive.mode.modern:
            with pytest.raises(InteractionError) as info:
                client.call_tool("ask_name")
            assert isinstance(info.value.__cause__, RuntimeError)
        else:
            # legacy: the server gets a JSON-RPC error, and reports the failure of its tool
            try:
                assert client.call_tool("ask_name").is_error
            except RPCError as err:
                assert "no UI available" in str(err)
        assert client.call_tool("numbers", {"count": 2}).structured == {"result": [0, 1]}  # still usable
    assert "no UI available" in caplog.text


def test_mrtr_request_state_rounds(modern_ev):
    with modern_ev() as client:
        # each round echoes the server's sealed requestState byte for byte (the server rejects a
        # changed one) and is a new request
        assert client.call_tool("rounds", {"count": 3}).text == "finished after 3 rounds"
    with modern_ev(max_input_rounds=2) as client:
        with pytest.raises(ProtocolError, match="2 rounds"):
            client.call_tool("rounds", {"count": 3})


def test_mrtr_in_stream(modern_ev):
    with modern_ev(elicitation=lambda r: {"action": "accept", "content": {"name": "Zoe", "age": 7}}) as client:
        events = list(client.stream("tools/call", {"name": "ask_name"}))
    assert isinstance(events[-1], ResultEvent)
    assert events[-1].value.text == "Hello Zoe (7)"


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_log_level(ev):
    if ev.mode.json:
        pytest.skip("the SDK server drops log messages when it answers with plain JSON")
    received = []
    with ev() as client:
        client.on_log(received.append)
        client.set_log_level("warning")
        events = list(client.stream("tools/call", {"name": "log_messages"}))
        assert _wait_for(lambda: len(received) >= 2)
        client.set_logging_level("debug")  # the official SDK's name for it
        assert client.call_tool("log_messages").text == "logged"
        assert _wait_for(lambda: len(received) >= 6)
        time.sleep(0.1)
    assert [e.level for e in received] == ["warning", "error", "debug", "info", "warning", "error"]
    assert all(isinstance(e, LogEvent) and e.logger == "everything" for e in received)
    logs = [(e.level, e.data) for e in events if isinstance(e, LogEvent)]
    if ev.mode.transport == "streamable-http":
        # Only Streamable HTTP ties a log message to the request whose stream carried it.
        assert logs == [("warning", "warning message"), ("error", "error message")]


def test_log_messages_reach_the_server_logger(ev, caplog):
    if ev.mode.json:
        pytest.skip("the SDK server drops log messages when it answers with plain JSON")
    with ev() as client, caplog.at_level(logging.DEBUG, logger="mcp_sync.server"):
        client.set_log_level("error")
        client.call_tool("log_messages")
        assert _wait_for(lambda: any(r.name == "mcp_sync.server" for r in caplog.records))
    records = [r for r in caplog.records if r.name == "mcp_sync.server"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.ERROR, "[everything] error message")]


def test_set_log_level_validates():
    from mcp_sync import Client

    client = Client("http://127.0.0.1:9/mcp")
    with pytest.raises(ValueError):
        client.set_log_level("loud")
    client.close()


legacy_http = ev_fixture([m for m in EV_MODES if m.name in ("legacy", "sse", "stdio-legacy")])


def test_url_elicitation_required_runs_the_urls_then_retries(legacy_http):
    """2025-11-25 -32042: the handler sees each URL (URL mode); once the user accepted, the same
    call is sent again and succeeds. Without a handler, or when the user declines, it is raised."""
    import uuid

    from mcp_sync.errors import URLElicitationRequired

    account = f"acct-{uuid.uuid4().hex[:8]}"
    seen = []
    clients = []

    def visit(request):
        seen.append((request.mode, request.url, request.message))
        # What the user's browser would do at the URL (the same server: a stdio server is per client).
        clients[0].call_tool("visit_url", {"account": account})
        return {"action": "accept"}

    with legacy_http(elicitation=visit) as client:
        clients.append(client)
        with pytest.raises(URLElicitationRequired) as info:
            client.call("tools/call", {"name": "connect_account", "arguments": {"account": account}})
        assert info.value.data["elicitations"][0]["elicitationId"] == f"connect-{account}"
        assert client.call_tool("connect_account", {"account": account}).text == f"{account} connected"
    assert seen == [("url", f"https://accounts.example.com/connect?account={account}", f"Connect {account} first")]


def test_url_elicitation_required_is_raised_when_the_user_declines(legacy_http):
    from mcp_sync.errors import URLElicitationRequired

    asked = []
    with legacy_http(elicitation=lambda request: asked.append(request.url) or {"action": "decline"}) as client:
        with pytest.raises(URLElicitationRequired):
            client.call_tool("connect_account", {"account": "never-visited"})
    assert len(asked) == 1
    with legacy_http() as bare:  # no handler: nothing to ask, the error is the answer
        with pytest.raises(URLElicitationRequired):
            bare.call_tool("connect_account", {"account": "never-visited"})
