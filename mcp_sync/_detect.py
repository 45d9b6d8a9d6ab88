"""Choosing the transport for a target (spec digest §2.5).

A list or a :class:`StdioServer` is a stdio server. A URL is tried as Streamable HTTP (the engine
probes modern, then legacy ``initialize``), then as HTTP+SSE when ``initialize`` finds no endpoint
there (400/404/405); a path ending in ``/sse`` goes to HTTP+SSE first. A URL with no path is tried as
given, then at the conventional ``/mcp`` and ``/sse``. 401/403 and network errors are never taken
as "not here": they are raised. The verdict stays with the client for its reconnects.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit, urlunsplit

from .errors import AuthError, HTTPStatusError, MCPError, ProtocolError, UnsupportedProtocolVersion
from .timeouts import Timeout
from .transports.base import Transport
from .transports.stdio import StdioServer, StdioTransport

log = logging.getLogger("mcp_sync.detect")

TRANSPORTS = ("auto", "streamable-http", "sse", "stdio")
#: Statuses meaning "no MCP endpoint of this kind at this URL".
NOT_HERE = (400, 404, 405, 406, 415)

Candidate = Tuple[str, str]  # (transport name, URL)


def make_transport(target: Any, transport: str = "auto", **options: Any) -> Transport:
    """The transport for a ``Client`` target; ``options`` are the client's HTTP options."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {list(TRANSPORTS)}, got {transport!r}")
    if isinstance(target, Transport):
        if transport not in ("auto", target.name):
            raise ValueError(f"transport={transport!r} conflicts with the {target.name} transport given")
        return target
    if isinstance(target, (list, tuple)):
        if not target or not all(isinstance(part, str) for part in target):
            raise TypeError("a stdio command must be a non-empty list of strings, e.g. ['python', 'server.py']")
        target = StdioServer(target[0], list(target[1:]))
    if isinstance(target, StdioServer):
        if transport not in ("auto", "stdio"):
            raise ValueError(f"transport={transport!r} does not fit a stdio command")
        http_only = sorted(k for k in ("headers", "auth", "session") if options.get(k) is not None)
        if http_only:
            raise TypeError(f"{', '.join(http_only)} only apply to HTTP servers, not to a stdio command")
        return StdioTransport(target, max_message_size=options["max_message_size"])
    if isinstance(target, str):
        if not target.lower().startswith(("http://", "https://")):
            hint = " (for a stdio server, pass the command as a list: ['python', 'server.py'])" if " " in target else ""
            raise ValueError(f"target must be an http(s):// URL, got {target!r}{hint}")
        if transport == "stdio":
            raise ValueError("transport='stdio' needs a command (a list or a StdioServer), not a URL")
        if transport != "auto":
            return http_transport(transport, target, options)
        return AutoTransport(target, options)
    raise TypeError(f"target must be a URL, a command list, a StdioServer or a Transport, got {type(target).__name__}")


def http_transport(kind: str, url: str, options: Dict[str, Any]) -> Transport:
    if kind == "sse":
        from .transports.sse import SSETransport

        return SSETransport(url, **options)
    from .transports.streamable_http import StreamableHTTPTransport

    return StreamableHTTPTransport(url, **options)


def candidates(url: str) -> List[Candidate]:
    """Where to look for the server, in order."""
    parts = urlsplit(url)
    path = parts.path
    if path in ("", "/"):
        def at(p: str) -> str:
            return urlunsplit((parts.scheme, parts.netloc, p, parts.query, ""))

        return [("streamable-http", url), ("sse", url), ("streamable-http", at("/mcp")), ("sse", at("/mcp")),
                ("sse", at("/sse"))]
    if path.rstrip("/").endswith("/sse"):
        return [("sse", url), ("streamable-http", url)]
    return [("streamable-http", url), ("sse", url)]


def not_here(error: BaseException) -> bool:
    """Whether ``error`` means "no MCP endpoint of this kind here", rather than a failure."""
    if isinstance(error, AuthError):
        return False
    if isinstance(error, HTTPStatusError):
        return error.status_code in NOT_HERE
    # A web page where an endpoint was expected: "... content type text/html ...".
    return type(error) is ProtocolError and "content type" in str(error) and not isinstance(
        error, UnsupportedProtocolVersion)


class AutoTransport(Transport):
    """Tries each candidate in turn; delegates everything to the one that answers."""

    def __init__(self, url: str, options: Dict[str, Any], order: Optional[Sequence[Candidate]] = None) -> None:
        self.url = url
        self.options = options
        self._candidates = list(order or candidates(url))
        self._index = 0
        self._tried: List[str] = []
        self.inner = http_transport(*self._candidates[0], options)

    # The engine reads these as attributes; they follow the candidate in use.
    @property  # type: ignore[override]
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property  # type: ignore[override]
    def cancel_by_abort(self) -> bool:  # type: ignore[override]
        return self.inner.cancel_by_abort

    @property  # type: ignore[override]
    def legacy_only(self) -> bool:  # type: ignore[override]
        return self.inner.legacy_only

    @property
    def current_url(self) -> str:
        return self._candidates[self._index][1]

    def bind(self, engine: Any) -> None:
        self.engine = engine
        self.inner.bind(engine)

    def _advance(self, error: BaseException) -> bool:
        """Record why the current candidate failed; switch to the next one if that was "not here"."""
        if not isinstance(error, MCPError) or not not_here(error):
            return False
        kind, url = self._candidates[self._index]
        self._tried.append(f"{kind} {url}: {error}")
        if self._index + 1 >= len(self._candidates):
            _annotate(error, self._tried)
            return False
        self.inner.close()
        self._index += 1
        kind, url = self._candidates[self._index]
        log.debug("no %s endpoint at %s (%s); trying %s %s", *self._candidates[self._index - 1], error, kind, url)
        self.inner = http_transport(kind, url, self.options)
        self.inner.bind(self.engine)
        return True

    def open(self, timeout: Timeout) -> None:
        while True:
            try:
                self.inner.open(timeout)
                return
            except MCPError as exc:
                if not self._advance(exc):
                    raise

    def fallback(self, error: BaseException) -> bool:
        return self._advance(error)

    @property
    def alive(self) -> bool:
        return self.inner.alive

    def send_request(self, pending: Any, message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        self.inner.send_request(pending, message, timeout, deadline)

    def send_message(self, message: Dict[str, Any]) -> None:
        self.inner.send_message(message)

    def wait(self, pending: Any, timeout: float) -> Any:
        return self.inner.wait(pending, timeout)

    def abort(self, pending: Any) -> None:
        self.inner.abort(pending)

    def set_protocol_version(self, version: str) -> None:
        self.inner.set_protocol_version(version)

    def on_initialized(self) -> None:
        self.inner.on_initialized()

    def settle(self) -> None:
        self.inner.settle()

    def probe_timeout(self, default: float) -> Optional[float]:
        return self.inner.probe_timeout(default)

    def is_legacy_verdict(self, error: BaseException) -> bool:
        return self.inner.is_legacy_verdict(error)

    def reset(self) -> None:
        self.inner.reset()

    def close(self) -> None:
        self.inner.close()

    def after_fork(self) -> None:
        hook = getattr(self.inner, "after_fork", None)
        if hook is not None:
            hook()

    def describe(self) -> str:
        return self.inner.describe()


def _annotate(error: MCPError, tried: List[str]) -> None:
    """Make the final error name every URL tried (its type, status and cause stay as they are)."""
    if len(tried) < 2:
        return
    error.message = "no MCP server found; tried:\n  " + "\n  ".join(tried)
    error.args = (error.message,)
    error.tried = list(tried)  # type: ignore[attr-defined]


TargetLike = Union[str, Sequence[str], StdioServer, Transport]
