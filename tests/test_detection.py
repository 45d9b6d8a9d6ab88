"""Choosing the transport for a URL: Streamable HTTP, then HTTP+SSE; no-path fallbacks; pins."""
from __future__ import annotations

import pytest
import responses

from mcp_sync import AuthError, Client, ConnectError, HTTPStatusError
from mcp_sync._detect import candidates

from conftest import shared_server
from scripted_sse import ScriptedSSEServer
from servers import EXAMPLE_SERVER, free_port

SSE_AT_MCP = (str(EXAMPLE_SERVER), "--transport", "sse", "--mount", "/mcp")
SSE_AT_SSE = (str(EXAMPLE_SERVER), "--transport", "sse")
STREAMABLE = (str(EXAMPLE_SERVER),)


def root(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_candidate_order():
    assert candidates("http://h/mcp") == [("streamable-http", "http://h/mcp"), ("sse", "http://h/mcp")]
    assert candidates("http://h/sse") == [("sse", "http://h/sse"), ("streamable-http", "http://h/sse")]
    assert candidates("http://h:8000") == [
        ("streamable-http", "http://h:8000"), ("sse", "http://h:8000"), ("streamable-http", "http://h:8000/mcp"),
        ("sse", "http://h:8000/mcp"), ("sse", "http://h:8000/sse")]
    assert candidates("http://h/?k=1")[2] == ("streamable-http", "http://h/mcp?k=1")


def test_fastapi_mcp_layout_is_found_by_falling_back_to_sse():
    server = shared_server(SSE_AT_MCP, "/mcp")
    with Client(server.url) as client:
        assert client.transport == "sse"
        assert client.era == "legacy"
        assert client.call_tool("echo", {"message": "fastapi"}).text == "fastapi"


@pytest.mark.parametrize("args,path,expected", [
    (SSE_AT_MCP, "/mcp", "sse"), (SSE_AT_SSE, "/sse", "sse"), (STREAMABLE, "/mcp", "streamable-http")])
def test_a_url_without_a_path_finds_the_conventional_endpoint(args, path, expected):
    server = shared_server(args, path)
    for url in (root(server), root(server) + "/"):
        with Client(url) as client:
            assert client.transport == expected
            assert client.call_tool("echo", {"message": "found"}).text == "found"


def test_the_error_names_every_url_tried():
    server = shared_server(STREAMABLE, "/mcp")
    with pytest.raises(HTTPStatusError) as info:
        Client(root(server) + "/nothing-here").connect()
    text = str(info.value)
    assert "streamable-http " + root(server) + "/nothing-here" in text
    assert "sse " + root(server) + "/nothing-here" in text
    assert info.value.status_code == 404

    scripted = ScriptedSSEServer(sse_path="/elsewhere").start()
    try:
        with pytest.raises(HTTPStatusError) as info:
            Client(root(scripted)).connect()
        for where in ("", "/mcp", "/sse"):
            assert root(scripted) + where + ":" in str(info.value)
        assert len(info.value.tried) == 5
    finally:
        scripted.stop()


def test_a_network_error_is_raised_not_taken_for_a_verdict():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectError) as info:
        Client(url).connect()
    assert "tried" not in str(info.value)  # no fallback after the first refusal


@responses.activate
def test_401_is_raised_not_taken_for_a_verdict():
    responses.add(responses.POST, "http://mcp.test/mcp", status=401, headers={"WWW-Authenticate": "Bearer"})
    with pytest.raises(AuthError):
        Client("http://mcp.test/mcp").connect()
    assert len(responses.calls) == 1  # neither initialize nor a GET for HTTP+SSE followed


def test_a_pinned_transport_is_not_second_guessed():
    sse = shared_server(SSE_AT_MCP, "/mcp")
    with pytest.raises(HTTPStatusError) as info:
        Client(sse.url, transport="streamable-http").connect()
    assert info.value.status_code == 405
    with Client(sse.url, transport="sse") as client:
        assert client.transport == "sse"
        assert client.call_tool("echo", {"message": "pinned"}).text == "pinned"
    with pytest.raises(ValueError, match="transport must be one of"):
        Client(sse.url, transport="websocket")
    with pytest.raises(ValueError, match="needs a command"):
        Client(sse.url, transport="stdio")


def test_the_verdict_is_kept_for_reconnects():
    server = ScriptedSSEServer(sse_path="/mcp", endpoint="/mcp/messages/?session_id={sid}").start()
    try:
        with Client(server.url) as client:
            assert client.transport == "sse"
            probes = [r for r in server.requests if r == ("POST", "/mcp")]
            assert len(probes) == 2  # server/discover, then initialize, before falling back
            server.drop_streams()
            assert client.call_tool("echo", {"message": "again"}).text == "again"
        assert [r for r in server.requests if r == ("POST", "/mcp")] == probes  # no new probes
        assert server.initializes == 2
    finally:
        server.stop()
