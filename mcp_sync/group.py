"""Many servers as one: :class:`ClientGroup` aggregates the tools of several named clients under
collision-free names and routes each call to its server. Clients open lazily, in parallel threads;
a server that fails is reported in :attr:`ClientGroup.errors` and does not take the others down."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._display import ToolList
from .client import Client
from .errors import ClientClosedError, ConnectTimeout, MCPError
from .timeouts import TimeoutLike
from .types import CallToolResult, Tool

__all__ = ["ClientGroup"]

log = logging.getLogger("mcp_sync.group")

ClientOrFactory = Union[Client, Callable[[], Client]]
NameTool = Callable[[str, Tool], str]


def _default_name(server: str, tool: Tool) -> str:
    return f"{server}_{tool.name}"


class ClientGroup:
    """Several named clients behind one ``list_tools()``/``call_tool()``.

    :param clients: ``{name: Client}`` or ``{name: factory}``; a factory (any callable returning
        a :class:`Client`) is called the first time that server is needed.
    :param name_tool: ``name_tool(server, tool) -> str``, the name a tool is listed and called by
        (default ``"<server>_<tool>"``). Two tools may not end up with the same name.
    :param connect_timeout: how long opening or listing the servers (in parallel) may take in
        all, in seconds; a server still busy then is reported as a
        :class:`~mcp_sync.errors.ConnectTimeout`.

    >>> with ClientGroup.from_config("mcp.json") as group:          # doctest: +SKIP
    ...     tools = group.list_tools()                  # weather_forecast, files_read_file, ...
    ...     group.call_tool("weather_forecast", {"city": "Oslo"})
    """

    def __init__(self, clients: Mapping[str, ClientOrFactory], *, name_tool: Optional[NameTool] = None,
                 connect_timeout: float = 60.0) -> None:
        if not clients:
            raise ValueError("a ClientGroup needs at least one client")
        self._factories: Dict[str, ClientOrFactory] = dict(clients)
        self._clients: Dict[str, Client] = {n: c for n, c in clients.items() if isinstance(c, Client)}
        self._name_tool = name_tool or _default_name
        self._connect_timeout = connect_timeout
        self._routes: Dict[str, Tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._making = {name: threading.Lock() for name in self._factories}
        self._closed = False
        #: The servers that failed the last time they were needed: ``{name: exception}``.
        self.errors: Dict[str, BaseException] = {}

    @classmethod
    def from_config(cls, config: Any, names: Optional[Iterable[str]] = None, *, name_tool: Optional[NameTool] = None,
                    connect_timeout: float = 60.0, **client_kwargs: Any) -> "ClientGroup":
        """A group over the servers of an ``mcpServers`` configuration (a path, JSON text or dict),
        all of them or only ``names``. ``client_kwargs`` go to every :class:`Client`."""
        from .config import load

        servers = load(config)
        chosen = list(names) if names is not None else list(servers)
        unknown = [n for n in chosen if n not in servers]
        if unknown:
            raise ValueError(f"no server {unknown[0]!r} in the configuration (it has: {', '.join(servers)})")

        def factory(name: str) -> Callable[[], Client]:
            return lambda: Client.from_config({"mcpServers": servers}, name, **client_kwargs)

        return cls({n: factory(n) for n in chosen}, name_tool=name_tool, connect_timeout=connect_timeout)

    # ------------------------------------------------------------------ servers

    @property
    def names(self) -> List[str]:
        """The servers' names, in the order given."""
        return list(self._factories)

    def client(self, name: str) -> Client:
        """The client of server ``name`` (made on first use; it connects on its first call).

        :raises KeyError: there is no such server.
        """
        self._check_open()
        if name not in self._factories:
            raise KeyError(f"no server {name!r} in this group (it has: {', '.join(self._factories)})")
        # One lock per server: two threads never make two clients for one server, and a slow
        # factory for one server does not hold up the others.
        with self._making[name]:
            client = self._clients.get(name)
            if client is None:
                factory = self._factories[name]
                client = factory if isinstance(factory, Client) else factory()
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._clients[name] = client
                if closed:  # close() ran while the factory did: nobody else will close this one
                    client.close()
                    raise ClientClosedError("the ClientGroup is closed")
        return client

    __getitem__ = client

    def connect(self, names: Optional[Iterable[str]] = None) -> Dict[str, Optional[BaseException]]:
        """Open the servers (all, or ``names``) in parallel threads; returns ``{name: error or None}``.
        Servers already connected are not opened again; failed ones are tried again."""
        self._check_open()
        wanted = list(names) if names is not None else self.names
        found = self._parallel(lambda name: self.client(name).connect(), wanted)
        outcome = {n: (v if isinstance(v, BaseException) else None) for n, v in found.items()}
        self._record(outcome)
        return outcome

    def _parallel(self, job: Callable[[str], Any], names: List[str]) -> Dict[str, Any]:
        """``{name: job(name), or the exception it raised}``, one thread per name, waiting
        ``connect_timeout`` in all; a job still running then counts as a ConnectTimeout (its
        thread finishes on its own, and what it returns late is ignored)."""
        results: Dict[str, Any] = {}
        lock = threading.Lock()

        def run(name: str) -> None:
            try:
                value = job(name)
            except BaseException as exc:  # one server's failure is reported, never raised here
                value = exc
            with lock:
                results[name] = value

        threads = [threading.Thread(target=run, args=(n,), name=f"mcp-sync-group-{n}", daemon=True) for n in names]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self._connect_timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with lock:
            done = dict(results)
        for name in names:
            if name not in done:
                done[name] = ConnectTimeout(f"server {name!r} did not answer within {self._connect_timeout}s")
        return done

    def _record(self, outcome: Mapping[str, Optional[BaseException]]) -> None:
        with self._lock:
            for name, error in outcome.items():
                if error is None:
                    self.errors.pop(name, None)
                else:
                    self.errors[name] = error
                    log.warning("server %r failed: %s", name, error)

    # ------------------------------------------------------------------ tools

    def list_tools(self) -> ToolList:
        """The tools of every server that answers, under their group names, listed in parallel.
        Servers that fail are left out and recorded in :attr:`errors`.

        :raises ValueError: two tools would get the same name (pass ``name_tool``).
        """
        self._check_open()
        found = self._parallel(lambda name: self.client(name).list_tools(), self.names)
        outcome = {n: (v if isinstance(v, BaseException) else None) for n, v in found.items()}
        self._record(outcome)
        tools = ToolList()
        routes: Dict[str, Tuple[str, str]] = {}
        for server in self.names:
            listed = found.get(server)
            if not isinstance(listed, list):
                continue
            for tool in listed:
                alias = self._name_tool(server, tool)
                if alias in routes:
                    other = routes[alias]
                    raise ValueError(f"tools {other[0]}/{other[1]} and {server}/{tool.name} would both be called "
                                     f"{alias!r}; pass ClientGroup(name_tool=...) to name them apart")
                routes[alias] = (server, tool.name)
                tools.append(tool.model_copy(update={"name": alias}))
        with self._lock:
            self._routes = routes
        return tools

    def route(self, name: str) -> Tuple[str, str]:
        """``(server, tool)`` for a group tool name (listing the tools first if needed).

        :raises KeyError: no server has that tool.
        """
        with self._lock:
            target = self._routes.get(name)
        if target is None:
            self.list_tools()
            with self._lock:
                target = self._routes.get(name)
        if target is None:
            raise KeyError(f"no tool {name!r} in this group")
        return target

    def call_tool(self, name: str, arguments: Optional[Dict[str, Any]] = None, timeout: TimeoutLike = None,
                  progress: Any = None) -> CallToolResult:
        """Call a tool by its group name on the server that has it."""
        server, tool = self.route(name)
        return self.client(server).call_tool(tool, arguments, timeout=timeout, progress=progress)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close every client this group opened or was given."""
        with self._lock:
            self._closed = True
            clients = list(self._clients.values())
        for client in clients:
            try:
                client.close()
            except MCPError as exc:  # pragma: no cover - close() does not raise in practice
                log.warning("closing %r: %s", client, exc)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the ClientGroup is closed")

    def __enter__(self) -> "ClientGroup":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        failed = f", {len(self.errors)} failed" if self.errors else ""
        return f"<mcp_sync.ClientGroup {', '.join(self.names)}{failed}>"
