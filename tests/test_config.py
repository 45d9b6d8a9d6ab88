"""``Client.from_config``: the mcpServers JSON of MCP hosts."""
from __future__ import annotations

import json
import sys

import pytest

from mcp_sync import Client, StdioServer
from mcp_sync.config import client_arguments, expand

from conftest import shared_server
from servers import EXAMPLE_SERVER


def test_stdio_entry_with_env_expansion(monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "t0k")
    config = {"mcpServers": {"files": {"command": "npx", "args": ["-y", "server", "${HOME_DIR:-/tmp}"],
                                       "env": {"TOKEN": "${MY_TOKEN}", "OTHER": "${env:MY_TOKEN}-x"}, "cwd": "/srv"}}}
    target, options = client_arguments(config, "files")
    assert target == StdioServer("npx", ["-y", "server", "/tmp"], env={"TOKEN": "t0k", "OTHER": "t0k-x"}, cwd="/srv")
    assert options == {}


def test_http_entries_and_types(monkeypatch):
    monkeypatch.setenv("TOKEN", "abc")
    config = {"mcpServers": {
        "a": {"url": "https://x.test/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}},
        "b": {"type": "sse", "url": "https://x.test/sse"},
        "c": {"type": "http", "url": "https://x.test/mcp"},
        "d": {"type": "streamableHttp", "serverUrl": "https://x.test/mcp"},
    }}
    assert client_arguments(config, "a") == ("https://x.test/mcp", {"headers": {"Authorization": "Bearer abc"}})
    assert client_arguments(config, "b") == ("https://x.test/sse", {"transport": "sse"})
    assert client_arguments(config, "c")[1] == {"transport": "streamable-http"}
    assert client_arguments(config, "d") == ("https://x.test/mcp", {"transport": "streamable-http"})


def test_errors_name_what_is_wrong(monkeypatch, tmp_path):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ValueError, match="NOT_SET_ANYWHERE is not set"):
        expand({"x": ["${NOT_SET_ANYWHERE}"]})
    config = {"mcpServers": {"a": {"url": "http://x"}, "b": {"command": "c"}}}
    with pytest.raises(ValueError, match=r"pass one name of \['a', 'b'\]"):
        client_arguments(config)
    with pytest.raises(ValueError, match="no server named 'z'"):
        client_arguments(config, "z")
    with pytest.raises(ValueError, match="neither 'command' nor 'url'"):
        client_arguments({"mcpServers": {"a": {}}}, "a")
    with pytest.raises(ValueError, match="unknown type 'ws'"):
        client_arguments({"mcpServers": {"a": {"type": "ws", "url": "http://x"}}}, "a")
    with pytest.raises(FileNotFoundError, match="not found"):
        client_arguments(tmp_path / "missing.json", "a")
    with pytest.raises(ValueError, match="no 'mcpServers'"):
        client_arguments({"other": {}}, "a")


def test_from_a_file_to_a_working_stdio_client(tmp_path):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"example": {
        "command": sys.executable, "args": [str(EXAMPLE_SERVER), "--transport", "stdio"]}}}))
    with Client.from_config(str(path), timeout=30) as client:  # the only server: no name needed
        assert client.transport == "stdio"
        assert client.call_tool("echo", {"message": "configured"}).text == "configured"


def test_from_json_text_to_a_working_http_client():
    server = shared_server((str(EXAMPLE_SERVER), "--transport", "sse", "--mount", "/mcp"), "/mcp")
    text = json.dumps({"mcpServers": {"remote": {"url": server.url, "type": "sse", "headers": {"X-Test": "1"}}}})
    with Client.from_config(text, "remote") as client:
        assert client.transport == "sse"
        assert client.call_tool("echo", {"message": "remote"}).text == "remote"
