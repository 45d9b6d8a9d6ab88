"""The ``ev`` fixture: clients of the everything server (tests/servers/everything.py) in every
transport and era, for the protocol-surface tests."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence

import pytest

from conftest import shared_server
from mcp_sync import Client

EVERYTHING = Path(__file__).resolve().parent / "servers" / "everything.py"


@dataclass(frozen=True)
class EvMode:
    name: str
    server_args: Sequence[str] = ()
    protocol: str = "auto"
    era: str = "modern"
    transport: str = "streamable-http"
    path: str = "/mcp"
    json: bool = False  # JSON replies: no notifications on a request's stream

    @property
    def modern(self) -> bool:
        return self.era == "modern"


EV_MODES: List[EvMode] = [
    EvMode("modern"),
    EvMode("modern-json", ["--json-response"], json=True),
    EvMode("stateless", ["--stateless"]),
    EvMode("legacy", [], "2025-11-25", "legacy"),
    EvMode("legacy-json", ["--json-response"], "2025-11-25", "legacy", json=True),
    EvMode("sse", ["--transport", "sse"], "auto", "legacy", "sse", "/sse"),
    EvMode("stdio", [], "auto", "modern", "stdio"),
    EvMode("stdio-legacy", [], "2025-11-25", "legacy", "stdio"),
]


class EvConnector:
    def __init__(self, mode: EvMode) -> None:
        self.mode = mode
        self.clients: List[Client] = []
        if mode.transport == "stdio":
            self.target: object = [sys.executable, str(EVERYTHING), "--transport", "stdio"]
        else:
            self.target = shared_server((str(EVERYTHING), *mode.server_args), mode.path).url

    def __call__(self, **kwargs) -> Client:
        kwargs.setdefault("protocol", self.mode.protocol)
        client = Client(self.target, **kwargs)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


def ev_fixture(modes: Sequence[EvMode] = tuple(EV_MODES)):
    @pytest.fixture(params=list(modes), ids=lambda m: m.name)
    def ev(request) -> Iterator[EvConnector]:
        connector = EvConnector(request.param)
        yield connector
        connector.close()

    return ev
