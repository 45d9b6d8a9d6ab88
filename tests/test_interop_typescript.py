"""Interoperability with servers we did not write, on the TypeScript SDK: ``server-everything``
(``@modelcontextprotocol/server-everything`` from npm, pinned; protocol 2025-11-25) over stdio,
Streamable HTTP and HTTP+SSE, each found by transport detection; and a 2026-07-28 server on the
TypeScript SDK v2 (``tests/servers/ts_modern_server.mjs`` on ``@modelcontextprotocol/server``,
pinned) over stdio and Streamable HTTP, with input_required rounds.

The packages are installed once with npm into ``$MCP_SYNC_TEST_CACHE`` (default
``~/.cache/mcp-sync-tests``) and run with the machine's ``node``; server-everything's HTTP servers
are pinned to 127.0.0.1 by ``../shared/tools/loopback-only.mjs`` (beside this checkout, as for the
conformance tests). Without node and npm the tests skip; a failed install fails them.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence

import pytest

from mcp_sync import Client, StdioServer
from mcp_sync.types import ImageContent, TextContent
from servers import ServerProcess, wait_for_port

PACKAGE = "@modelcontextprotocol/server-everything"
VERSION = "2026.8.31"  # built on the TypeScript SDK 1.32 (protocol 2025-11-25)
MODERN_SDK = "2.4.0"  # @modelcontextprotocol/server: the TypeScript SDK v2 (protocol 2026-07-28)
ZOD = "4.6.7"
MODERN_SERVER = Path(__file__).resolve().parent / "servers" / "ts_modern_server.mjs"
CACHE = Path(os.environ.get("MCP_SYNC_TEST_CACHE") or Path.home() / ".cache" / "mcp-sync-tests")
LOOPBACK_ONLY = Path(__file__).resolve().parent.parent.parent / "shared" / "tools" / "loopback-only.mjs"
ROOT = "file:///tmp/interop-project"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run the TypeScript server")


def _npm_install(name: str, packages: Sequence[str], entry: str) -> Path:
    """Install ``packages`` into a cache directory of their own (once) and return it."""
    home = CACHE / name
    if not (home / entry).is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="install-", dir=CACHE))
        try:
            done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(staging),
                                   *packages], timeout=100, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            assert done.returncode == 0, f"npm install {' '.join(packages)} failed: {done.stderr.decode()[-2000:]}"
            shutil.rmtree(home, ignore_errors=True)  # an install that broke half-way
            try:
                staging.rename(home)  # another run may have won the race: keep its copy
            except OSError:
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    assert (home / entry).is_file(), f"npm install {' '.join(packages)} did not produce {entry}"
    return home


@pytest.fixture(scope="module")
def everything() -> Path:
    """server-everything's entry point (installed on first use; about 10 s)."""
    entry = "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    return _npm_install(f"server-everything-{VERSION}", [f"{PACKAGE}@{VERSION}"], entry) / entry


@pytest.fixture(scope="module")
def modern_server() -> Path:
    """tests/servers/ts_modern_server.mjs, run beside its installed packages."""
    home = _npm_install(f"ts-server-{MODERN_SDK}", [f"@modelcontextprotocol/server@{MODERN_SDK}", f"zod@{ZOD}"],
                        "node_modules/@modelcontextprotocol/server/package.json")
    script = home / "ts_modern_server.mjs"
    shutil.copyfile(MODERN_SERVER, script)  # node resolves its imports from the script's directory
    return script


@contextlib.contextmanager
def _node_server(args: Callable[[int], List[str]], path: str = "/mcp") -> Iterator[str]:
    """``node <args(port)>`` on a free port (also in ``$PORT``); yields its URL, stops it after."""
    server = ServerProcess(args=(), path=path)
    server.proc = subprocess.Popen(["node", *args(server.port)], env={**os.environ, "PORT": str(server.port)},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(server.port, server.proc, timeout=20)
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["stdio", "streamableHttp", "sse"])
def target(request, everything: Path) -> Iterator[Any]:
    """What to pass to Client(): a StdioServer, or the URL of a server started here."""
    kind = request.param
    if kind == "stdio":
        yield StdioServer("node", [str(everything), "stdio"])
        return
    if not LOOPBACK_ONLY.is_file():
        pytest.skip(f"{LOOPBACK_ONLY} is missing: the HTTP servers would listen on every interface")
    with _node_server(lambda port: ["--import", str(LOOPBACK_ONLY), str(everything), kind],
                      "/mcp" if kind == "streamableHttp" else "/sse") as url:
        yield url


def _sampling(request: Any) -> Dict[str, Any]:
    text = request.messages[0].text
    return {"role": "assistant", "content": {"type": "text", "text": f"sampled: {text}"}, "model": "test-model",
            "stopReason": "endTurn"}


URLS_VISITED: list = []


def _elicitation(request: Any) -> Dict[str, Any]:
    if request.mode == "url":
        URLS_VISITED.append(request.url)
        return {"action": "accept"}
    return {"action": "accept", "content": {"name": "Ada"}}


@pytest.mark.timeout(120)
def test_every_feature_against_the_typescript_server(target):
    with Client(target, timeout=30, sampling=_sampling, elicitation=_elicitation, roots=[ROOT]) as client:
        assert client.protocol_version == "2025-11-25"
        assert client.server_info.name == "mcp-servers/everything"
        tools = {tool.name: tool for tool in client.list_tools()}
        # tools that exist only for a client that declares sampling, elicitation and roots
        assert {"trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"} <= set(tools)

        assert client.call_tool("echo", {"message": "héllo"}).text == "Echo: héllo"
        assert client.call_tool("get-sum", {"a": 2, "b": 3}).text == "The sum of 2 and 3 is 5."
        weather = client.call_tool("get-structured-content", {"location": "New York"})
        assert set(weather.structured) >= {"temperature", "conditions", "humidity"}
        image = client.call_tool("get-tiny-image", {})
        assert any(isinstance(block, ImageContent) and block.mime_type == "image/png" for block in image.content)
        links = client.call_tool("get-resource-links", {"count": 2})
        assert [block.type for block in links.content].count("resource_link") == 2

        progress = []
        client.call_tool("trigger-long-running-operation", {"duration": 1, "steps": 4},
                         progress=lambda done, total, message: progress.append((done, total)))
        assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]

        sampled = client.call_tool("trigger-sampling-request", {"prompt": "ping", "maxTokens": 10})
        assert "sampled: " in sampled.text and "test-model" in sampled.text
        elicited = client.call_tool("trigger-elicitation-request", {})
        assert "Ada" in elicited.text
        assert ROOT in client.call_tool("get-roots-list", {}).text
        # URL-mode elicitation as a request, then as a -32042 error the call is retried after
        URLS_VISITED.clear()
        consent = "https://example.com/consent"
        assert consent in client.call_tool("trigger-url-elicitation", {"url": consent}).text
        assert consent in client.call_tool("trigger-url-elicitation", {"url": consent, "errorPath": True}).text
        assert URLS_VISITED[0] == consent and len(URLS_VISITED) == 3 and URLS_VISITED[-1] == consent

        # taskSupport "required": called as a task and followed to its result
        assert tools["simulate-research-query"].execution == {"taskSupport": "required"}
        assert "Research Report: tea" in client.call_tool("simulate-research-query", {"topic": "tea"}).text

        resources = client.list_resources()
        assert resources
        contents = client.read_resource(resources[0].uri).contents
        assert contents and contents[0].uri == resources[0].uri
        templates = client.list_resource_templates()
        assert any("{resourceId}" in template.uri_template for template in templates)

        prompts = {prompt.name: prompt for prompt in client.list_prompts()}
        simple = client.get_prompt("simple-prompt")
        assert simple.messages and isinstance(simple.messages[0].content, TextContent)
        assert client.complete(prompts["completable-prompt"], ("department", "Eng")).completion.values == \
            ["Engineering"]
        client.set_logging_level("error")
        client.ping()


@pytest.fixture(params=["stdio", "streamable-http"])
def modern_target(request, modern_server: Path) -> Iterator[Any]:
    if request.param == "stdio":
        yield StdioServer("node", [str(modern_server)])
        return
    with _node_server(lambda port: [str(modern_server), "http", str(port)]) as url:
        yield url


@pytest.mark.timeout(120)
def test_a_2026_07_28_typescript_server(modern_target):
    with Client(modern_target, timeout=30, sampling=_sampling, elicitation=_elicitation, roots=[ROOT]) as client:
        assert client.protocol_version == "2026-07-28" and client.era == "modern"
        assert client.server_info.name == "ts-v2-interop"
        assert client.call_tool("echo", {"message": "héllo"}).text == "héllo"
        assert client.call_tool("add", {"a": 2, "b": 3}).structured == {"sum": 5}
        progress = []
        client.call_tool("count", {"n": 3}, progress=lambda done, total, message: progress.append((done, total)))
        assert progress == [(1, 3), (2, 3), (3, 3)]
        # input_required rounds: the answers go back with the server's requestState echoed
        assert client.call_tool("greet", {}).text == "Hello, Ada! (state round-1)"
        assert client.call_tool("summarize", {"topic": "tea"}).text == "model test-model said: sampled: Summarize tea"
        assert client.call_tool("roots", {}).text == ROOT
        assert [resource.uri for resource in client.list_resources()] == ["docs://readme"]
        assert client.read_resource("docs://readme").contents[0].text == "read me"
        assert client.get_prompt("review", {"code": "x = 1"}).messages[0].text == "Review: x = 1"
        client.ping()


@pytest.mark.timeout(120)
def test_the_typescript_v2_server_in_its_2025_era_over_stdio(modern_server):
    # The same tools, served 2025-style: their input requests reach us as server requests.
    with Client(StdioServer("node", [str(modern_server)]), protocol="legacy", timeout=30, sampling=_sampling,
                elicitation=_elicitation, roots=[ROOT]) as client:
        assert client.protocol_version == "2025-11-25" and client.era == "legacy"
        assert client.call_tool("greet", {}).text == "Hello, Ada! (state round-1)"
        assert client.call_tool("summarize", {"topic": "tea"}).text == "model test-model said: sampled: Summarize tea"
        assert client.call_tool("roots", {}).text == ROOT
