"""The ``ev`` fixture: clients of the everything server (tests/servers/everything.py) in every
transport and era, for the protocol-surface tests."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence

import pytest

from conftest import Connector, shared_server

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


class EvConnector(Connector):
    """A :class:`Connector` for the server with the whole protocol surface (servers/everything.py)."""

    def __init__(self, mode: EvMode) -> None:
        if mode.transport == "stdio":
            super().__init__(mode, [sys.executable, str(EVERYTHING), "--transport", "stdio"])
        else:
            super().__init__(mode, shared_server((str(EVERYTHING), *mode.server_args), mode.path).url)


def ev_fixture(modes: Sequence[EvMode] = tuple(EV_MODES)):
    @pytest.fixture(params=list(modes), ids=lambda m: m.name)
    def ev(request) -> Iterator[EvConnector]:
        connector = EvConnector(request.param)
        yield connector
        connector.close()

    return ev
