"""HTTP answers a real server will not give, via ``responses``: each must become a clear error of
our own hierarchy, never a traceback from a dependency and never a hang."""
from __future__ import annotations

import json

import pytest
import responses

from mcp_sync import (
    AuthError,
    Client,
    ConnectError,
    HTTPStatusError,
    ProtocolError,
    UnsupportedProtocolVersion,
)
from mcp_sync.errors import InvalidParams, MethodNotFound
from mcp_sync.types import (
    AudioContent,
    BlobResourceContents,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    UnknownContent,
)

URL = "http://mcp.test/mcp"

DISCOVER = {
    "supportedVersions": ["2026-07-28"],
    "capabilities": {"tools": {}},
    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "9"}},
    "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
}


def rpc_reply(body: dict, result) -> tuple:
    return 200, {"Content-Type": "application/json"}, json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result})


def modern_server(rsps, on_call):
    """A fake modern server: discover answers, anything else goes to ``on_call(body)``."""

    def handler(request):
        body = json.loads(request.body)
        if body["method"] == "server/discover":
            return rpc_reply(body, DISCOVER)
        return on_call(body, request)

    rsps.add_callback(responses.POST, URL, callback=handler)


@responses.activate
def test_modern_request_carries_meta_and_headers():
    seen = []

    def on_call(body, request):
        seen.append((body, request.headers))
        return rpc_reply(body, {"content": [{"type": "text", "text": "ok"}]})

    modern_server(responses, on_call)
    with Client(URL, client_info={"name": "t", "version": "1"}) as client:
        assert client.server_info.name == "fake"
        assert client.call_tool("echo", {"message": "x"}).text == "ok"
    body, headers = seen[0]
    meta = body["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    assert meta["io.modelcontextprotocol/clientInfo"] == {"name": "t", "version": "1"}
    assert headers["MCP-Protocol-Version"] == "2026-07-28"
    assert headers["Mcp-Method"] == "tools/call"
    assert headers["Mcp-Name"] == "echo"
    assert "Mcp-Session-Id" not in headers
    assert "application/json" in headers["Accept"] and "text/event-stream" in headers["Accept"]


@responses.activate
def test_mcp_name_header_is_base64_encoded_when_not_plain_ascii():
    seen = []

    def on_call(body, request):
        seen.append(request.headers["Mcp-Name"])
        return rpc_reply(body, {"contents": []})

    modern_server(responses, on_call)
    with Client(URL) as client:
        client.call("resources/read", {"uri": "file:///tmp/caf\u00e9.txt"})
    assert seen == ["=?base64?ZmlsZTovLy90bXAvY2Fmw6kudHh0?="]


@pytest.mark.parametrize(
    "status, ctype, body, error, text",
    [
        (200, "text/html", "<html>hello</html>", ProtocolError, "text/html"),
        (200, "application/json", "{not json", ProtocolError, "not valid JSON"),
        (200, "application/json", "[1, 2", ProtocolError, "not valid JSON"),
        (200, "application/json", json.dumps({"jsonrpc": "2.0", "id": 2, "result": 5}), ProtocolError, "not an object"),
        (500, "text/html", "<h1>Internal Server Error</h1>", HTTPStatusError, "HTTP 500"),
        (401, "text/plain", "no", AuthError, "HTTP 401"),
        (400, "application/json", json.dumps({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "bad"}}),
         InvalidParams, "bad"),
        (404, "application/json", json.dumps({"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "nope"}}),
         MethodNotFound, "nope"),
        (202, "", "", ProtocolError, "202"),
    ],
)
@responses.activate
def test_bad_answers_become_clear_errors(status, ctype, body, error, text):
    def on_call(request_body, request):
        return status, ({"Content-Type": ctype} if ctype else {}), body

    modern_server(responses, on_call)
    with Client(URL) as client:
        with pytest.raises(error, match=text) as info:
            client.call("tools/list")
    if isinstance(info.value, HTTPStatusError):
        assert info.value.status_code == status
        assert "Internal Server Error" in info.value.body


@pytest.mark.parametrize("use, reply", [
    (lambda c: c.list_tools(), {"tools": [{"description": "no name"}]}),
    (lambda c: c.list_resources(), {"resources": [{"name": "no uri"}]}),
    (lambda c: c.list_prompts(), {"prompts": [{"title": "no name"}]}),
    (lambda c: c.list_resource_templates(), {"resourceTemplates": [{"name": "no uriTemplate"}]}),
    (lambda c: c.tasks.start("job"), {"content": "not a list"}),
])
@responses.activate
def test_results_of_the_wrong_shape_are_protocol_errors(use, reply):
    modern_server(responses, lambda body, request: rpc_reply(body, reply))
    with Client(URL, tasks=True) as client:
        with pytest.raises(ProtocolError, match="expected shape"):
            use(client)


@responses.activate
def test_capabilities_of_the_wrong_shape_are_a_protocol_error():
    discover = {**DISCOVER, "capabilities": {"tools": "yes"}}
    responses.add(responses.POST, URL, json={"jsonrpc": "2.0", "id": 1, "result": discover})
    with Client(URL) as client:
        with pytest.raises(ProtocolError, match="server/discover"):
            client.server_capabilities


@responses.activate
def test_sse_reply_with_invalid_json_is_a_protocol_error():
    def on_call(body, request):
        return 200, {"Content-Type": "text/event-stream"}, "event: message\ndata: {oops\n\n"

    modern_server(responses, on_call)
    with Client(URL) as client:
        with pytest.raises(ProtocolError, match="not valid JSON"):
            client.call("tools/list")


@responses.activate
def test_sse_reply_that_ends_without_a_response_names_the_cause():
    def on_call(body, request):
        note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": body["id"], "progress": 1}}
        return 200, {"Content-Type": "text/event-stream"}, f"data: {json.dumps(note)}\n\n"

    modern_server(responses, on_call)
    with Client(URL) as client:
        with pytest.raises(ConnectionError, match="ended before the response"):
            client.call("tools/call", {"name": "x"})


@responses.activate
def test_unsupported_version_with_only_unknown_versions_is_reported():
    def handler(request):
        body = json.loads(request.body)
        error = {"code": -32022, "message": "Unsupported protocol version",
                 "data": {"supported": ["2099-01-01"], "requested": "2026-07-28"}}
        return 400, {"Content-Type": "application/json"}, json.dumps({"jsonrpc": "2.0", "id": body["id"], "error": error})

    responses.add_callback(responses.POST, URL, callback=handler)
    with pytest.raises(UnsupportedProtocolVersion) as info:
        Client(URL).connect()
    assert info.value.supported == ["2099-01-01"]


@responses.activate
def test_legacy_fallback_and_session_expiry_retry():
    """A legacy server: 400 to the modern probe, then initialize; a 404 later means the session
    ended, so the client initializes again and retries the request once."""
    sessions = iter(["s1", "s2"])
    calls = []

    def handler(request):
        body = json.loads(request.body)
        method = body.get("method")
        if method == "server/discover":
            return 400, {"Content-Type": "application/json"}, json.dumps(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Bad Request: Missing session ID"}})
        if method == "initialize":
            assert "Mcp-Session-Id" not in request.headers
            result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "old", "version": "1"}}
            status, headers, text = rpc_reply(body, result)
            return status, {**headers, "Mcp-Session-Id": next(sessions)}, text
        if method == "notifications/initialized":
            return 202, {}, ""
        calls.append((method, request.headers.get("Mcp-Session-Id"), request.headers.get("MCP-Protocol-Version")))
        if request.headers.get("Mcp-Session-Id") == "s1":
            return 404, {"Content-Type": "text/plain"}, "session gone"
        return rpc_reply(body, {"tools": []})

    responses.add_callback(responses.POST, URL, callback=handler)
    responses.add(responses.GET, URL, status=405)
    responses.add(responses.DELETE, URL, status=200)
    with Client(URL) as client:
        assert client.era == "legacy"
        assert client.protocol_version == "2025-06-18"
        assert client.list_tools() == []
    assert calls == [("tools/list", "s1", "2025-06-18"), ("tools/list", "s2", "2025-06-18")]


def test_connection_refused_raises_the_real_cause():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        Client(f"http://127.0.0.1:{port}/mcp", timeout=5).connect()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value).lower()
    assert isinstance(info.value, ConnectionError)


def test_bad_arguments_are_rejected_early():
    with pytest.raises(ValueError):
        Client("ftp://example.com/mcp")
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:1/mcp", protocol="1999-01-01")
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:1/mcp", timeout=-1)
    with pytest.raises(TypeError):
        Client("http://127.0.0.1:1/mcp", auth=42)


@responses.activate
def test_bearer_token_goes_in_the_authorization_header():
    seen = []

    def on_call(body, request):
        return rpc_reply(body, {"tools": []})

    def handler(request):
        seen.append(request.headers.get("Authorization"))
        body = json.loads(request.body)
        return rpc_reply(body, DISCOVER) if body["method"] == "server/discover" else on_call(body, request)

    responses.add_callback(responses.POST, URL, callback=handler)
    with Client(URL, auth="s3cret", headers={"X-Extra": "1"}) as client:
        client.list_tools()
        assert "s3cret" not in repr(client)
    assert seen == ["Bearer s3cret", "Bearer s3cret"]


@responses.activate
def test_content_blocks_of_every_type_and_of_unknown_types_are_kept():
    blocks = [
        {"type": "text", "text": "hi"},
        {"type": "image", "data": "aGk=", "mimeType": "image/png"},
        {"type": "audio", "data": "aGk=", "mimeType": "audio/wav"},
        {"type": "resource_link", "uri": "file:///a", "name": "a"},
        {"type": "resource", "resource": {"uri": "file:///b", "blob": "aGk="}},
        {"type": "resource", "resource": {"uri": "file:///c", "text": "c"}},
        {"type": "hologram", "depth": 3},  # a type from a newer spec
    ]
    modern_server(responses, lambda body, request: rpc_reply(body, {"content": blocks}))
    with Client(URL) as client:
        result = client.call_tool("show")
    text, image, audio, link, blob, embedded_text, unknown = result.content
    assert isinstance(text, TextContent) and result.text == "hi"
    assert isinstance(image, ImageContent) and image.decode() == b"hi" and image.mime_type == "image/png"
    assert isinstance(audio, AudioContent)
    assert isinstance(link, ResourceLink) and link.uri == "file:///a"
    assert isinstance(blob.resource, BlobResourceContents) and blob.resource.decode() == b"hi"
    assert isinstance(embedded_text.resource, TextResourceContents)
    assert isinstance(unknown, UnknownContent) and unknown.type == "hologram"
    assert unknown.model_extra == {"depth": 3}
    assert [b.to_wire() for b in result.content] == blocks  # nothing lost on the way back out


@pytest.mark.parametrize("block, problem", [
    ("just text", "a content block must be an object"),
    ({"text": "no type"}, "Field required"),  # "type" is missing
    ({"type": "text"}, "Field required"),  # a known type without its required "text"
    ({"type": "resource", "resource": 3}, "resource contents must be an object"),
])
@responses.activate
def test_a_malformed_content_block_is_a_protocol_error(block, problem):
    modern_server(responses, lambda body, request: rpc_reply(body, {"content": [block]}))
    with Client(URL) as client:
        with pytest.raises(ProtocolError, match="tools/call: the result does not have the expected shape") as info:
            client.call_tool("show")
    assert problem in str(info.value)


@responses.activate
def test_a_json_reply_nested_too_deeply_to_parse_is_a_protocol_error():
    # json raises RecursionError, not ValueError, on deep nesting; it must not leak out.
    modern_server(responses, lambda body, request: (200, {"Content-Type": "application/json"}, "[" * 200000))
    with Client(URL) as client:
        with pytest.raises(ProtocolError, match="not valid JSON"):
            client.call_tool("echo", {"message": "x"})


@responses.activate
def test_an_error_body_nested_too_deeply_to_parse_is_still_an_http_status_error():
    modern_server(responses, lambda body, request: (500, {"Content-Type": "application/json"}, "[" * 60000))
    with Client(URL) as client:
        with pytest.raises(HTTPStatusError) as info:
            client.call_tool("echo", {"message": "x"})
    assert info.value.status_code == 500


def test_a_stream_gives_its_connection_back_once_and_an_aborted_one_never():
    """urllib3 releases a connection by itself when a body ends, in the reader's thread, while an
    abort may release it from another: pooled twice, one connection would serve two requests at
    once. An owned stream's connection goes back to the pool only through finish(), once, and an
    aborted stream's connection never does."""
    from conftest import shared_server
    from servers import EXAMPLE_SERVER

    from mcp_sync.transports._http import OwnedStream, body_chunks, content_type, new_session

    url = shared_server((str(EXAMPLE_SERVER),)).url
    session = new_session()
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}

    def post():
        response = session.post(url, json=init, headers={"Accept": "application/json, text/event-stream"},
                                stream=True, timeout=10)
        assert content_type(response) == "text/event-stream"  # an SSE reply: what readers own
        return response, response.raw._pool

    def pooled(pool):
        return sum(1 for conn in list(pool.pool.queue) if conn is not None)

    try:
        first, pool = post()
        in_use = pooled(pool)
        stream = OwnedStream(first)
        assert b"".join(body_chunks(first))  # read to the end, as the reader does
        first.raw.release_conn()  # urllib3's own release at the end of a body: a no-op now
        assert pooled(pool) == in_use
        stream.finish()
        assert pooled(pool) == in_use + 1  # given back once...
        stream.finish()
        stream.abort()
        first.close()
        assert pooled(pool) == in_use + 1  # ...and only once, whatever comes after
        second, _ = post()
        in_use = pooled(pool)
        stream = OwnedStream(second)
        stream.abort()
        stream.finish()
        second.close()
        assert pooled(pool) == in_use  # an aborted stream's connection is never pooled
    finally:
        session.close()
