from __future__ import annotations

import threading
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from mcp_sync import Client

from servers import ALL_MODES, EXAMPLE_SERVER, Mode, ServerProcess, stdio_command

_servers: Dict[Tuple[str, ...], ServerProcess] = {}
_lock = threading.Lock()


def shared_server(args: Tuple[str, ...], path: str = "/mcp") -> ServerProcess:
    """One server per distinct command line for the whole test session."""
    key = tuple(args) + (path,)
    with _lock:
        server = _servers.get(key)
        if server is None or server.proc is None or server.proc.poll() is not None:
            server = ServerProcess(list(args), path=path).start()
            _servers[key] = server
        return server


def pytest_sessionfinish(session, exitstatus):
    for server in _servers.values():
        server.stop()


@pytest.fixture(params=ALL_MODES, ids=lambda m: m.name)
def mode(request) -> Mode:
    return request.param


class Connector:
    """Makes clients for one mode (``target``: a URL or a stdio command) and closes them after
    the test. ``server`` is the HTTP server process, when there is one."""

    def __init__(self, mode, target, server: Optional[ServerProcess] = None) -> None:
        self.mode = mode
        self.target = target
        self.server = server
        self.clients: List[Client] = []

    @property
    def url(self) -> str:
        """The server's URL (HTTP modes) or command line (stdio modes)."""
        return self.target if isinstance(self.target, str) else " ".join(self.target)

    def __call__(self, **kwargs) -> Client:
        kwargs.setdefault("protocol", self.mode.protocol)
        client = Client(self.target, **kwargs)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def connect(mode: Mode) -> Iterator[Connector]:
    """``connect(**kw)`` returns a Client for the current server mode."""
    if mode.transport == "stdio":
        connector = Connector(mode, stdio_command(*mode.server_args))
    else:
        server = shared_server((str(EXAMPLE_SERVER), *mode.server_args), mode.path)
        connector = Connector(mode, server.url, server)
    yield connector
    connector.close()


@pytest.fixture
def private_server() -> Iterator[ServerProcess]:
    """A server of the test's own, which it may kill or restart."""
    server = ServerProcess([str(EXAMPLE_SERVER)])
    yield server
    server.stop()
