"""ClientGroup over real servers: aggregated names, routing, lazy parallel opening, one failing
server not taking the others down."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conftest import shared_server
from mcp_sync import Client, ClientClosedError, ClientGroup, TransportError
from servers import EXAMPLE_SERVER, free_port

UX_SERVER = Path(__file__).resolve().parent / "ux_server.py"


@pytest.fixture(scope="module")
def urls():
    return {"ex": shared_server((str(EXAMPLE_SERVER),)).url, "ux": shared_server((str(UX_SERVER),)).url}


def test_aggregates_and_routes(urls):
    with ClientGroup({name: Client(url) for name, url in urls.items()}) as group:
        tools = group.list_tools()
        names = tools.names
        assert {"ex_echo", "ux_echo", "ex_generate_numbers", "ux_pixel"} <= set(names)
        assert len(names) == len(set(names))
        assert tools.get("ux_pixel").description == "A 1x1 PNG image."
        assert group.route("ux_echo") == ("ux", "echo")
        assert group.call_tool("ex_echo", {"message": "to ex"}).text == "to ex"
        assert group.call_tool("ux_add", {"a": 1, "b": 2}).structured == {"result": 3.0}
        assert group["ux"].server_info.name == "ux-server"
        assert group["ex"].server_info.name == "mcp-sync-example"
        with pytest.raises(KeyError, match="no tool 'ex_pixel'"):
            group.call_tool("ex_pixel")


def test_call_routes_without_listing_first(urls):
    with ClientGroup({name: Client(url) for name, url in urls.items()}) as group:
        assert group.call_tool("ux_echo", {"message": "direct"}).text == "direct"


def test_name_hook_and_collisions(urls):
    hook = lambda server, tool: tool.name if server == "ux" else f"{server}.{tool.name}"  # noqa: E731
    with ClientGroup({n: Client(u) for n, u in urls.items()}, name_tool=hook) as group:
        names = group.list_tools().names
        assert "echo" in names and "ex.echo" in names
        assert group.call_tool("pixel").content[0].type == "image"
    with ClientGroup({n: Client(u) for n, u in urls.items()}, name_tool=lambda s, t: t.name) as group:
        with pytest.raises(ValueError, match="would both be called 'echo'"):
            group.list_tools()


def test_opens_lazily_and_in_parallel(urls):
    made = []

    def slow_factory(url):
        def make():
            made.append(threading.current_thread().name)
            time.sleep(1.0)
            return Client(url)
        return make

    group = ClientGroup({"a": slow_factory(urls["ex"]), "b": slow_factory(urls["ux"])})
    try:
        assert made == []  # nothing opened yet
        started = time.monotonic()
        tools = group.list_tools()
        elapsed = time.monotonic() - started
        assert {"a_echo", "b_echo"} <= set(tools.names)
        assert sorted(made) == ["mcp-sync-group-a", "mcp-sync-group-b"]
        assert elapsed < 1.9, elapsed  # two 1 s openings overlapped
        group.list_tools()
        assert len(made) == 2  # each client made once
    finally:
        group.close()


def test_a_failing_server_is_reported_and_the_others_work(urls):
    dead = f"http://127.0.0.1:{free_port()}/mcp"
    clients = {"ex": Client(urls["ex"]), "dead": Client(dead, timeout=5), "ux": Client(urls["ux"])}
    with ClientGroup(clients) as group:
        outcome = group.connect()
        assert outcome["ex"] is None and outcome["ux"] is None
        assert isinstance(outcome["dead"], TransportError)
        tools = group.list_tools()
        assert not any(n.startswith("dead_") for n in tools.names)
        assert "ex_echo" in tools.names and "ux_echo" in tools.names
        assert set(group.errors) == {"dead"} and "127.0.0.1" in str(group.errors["dead"])
        assert "1 failed" in repr(group)
        assert group.call_tool("ux_echo", {"message": "still here"}).text == "still here"


def test_from_config(urls, tmp_path):
    config = {"mcpServers": {"ex": {"url": urls["ex"]}, "ux": {"url": urls["ux"]}}}
    with ClientGroup.from_config(config) as group:
        assert group.names == ["ex", "ux"]
        assert group.call_tool("ux_echo", {"message": "configured"}).text == "configured"
    with ClientGroup.from_config(config, ["ux"]) as group:
        assert all(n.startswith("ux_") for n in group.list_tools().names)
    with pytest.raises(ValueError, match="no server 'nope'"):
        ClientGroup.from_config(config, ["nope"])


def test_close_closes_every_client(urls):
    clients = {n: Client(u) for n, u in urls.items()}
    group = ClientGroup(clients)
    group.call_tool("ex_echo", {"message": "x"})
    group.close()
    with pytest.raises(ClientClosedError):
        clients["ex"].call_tool("echo", {"message": "x"})
    with pytest.raises(ClientClosedError):
        group.list_tools()


def test_connect_timeout_bounds_the_whole_wait_and_late_clients_are_closed(urls):
    """connect_timeout is for all servers together; a server still opening is reported as a
    ConnectTimeout; a client its factory returns after close() is closed, not leaked."""
    from mcp_sync import ConnectTimeout

    made = []

    def slow_factory(url):
        def make():
            time.sleep(1.5)
            client = Client(url)
            made.append(client)
            return client
        return make

    group = ClientGroup({"a": slow_factory(urls["ex"]), "b": slow_factory(urls["ux"])}, connect_timeout=0.5)
    started = time.monotonic()
    outcome = group.connect()
    assert time.monotonic() - started < 0.9  # not 0.5 s per server
    assert set(outcome) == {"a", "b"} and all(isinstance(e, ConnectTimeout) for e in outcome.values())
    assert set(group.errors) == {"a", "b"}
    group.close()
    for thread in [t for t in threading.enumerate() if t.name.startswith("mcp-sync-group-")]:
        thread.join(5)
    assert len(made) == 2
    for client in made:
        with pytest.raises(ClientClosedError):
            client.call_tool("echo", {"message": "x"})
