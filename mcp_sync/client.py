"""The public :class:`Client`: typed helpers over the engine, and the connection's lifecycle."""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import requests

from . import _mrtr
from ._engine import DEFAULT_MAX_BUFFERED, Engine
from ._features import FeaturesMixin, _parse
from .errors import ProtocolError
from .handlers import ElicitationHandler, Interactions, RootsLike, SamplingHandler
from .timeouts import Timeout, TimeoutLike
from .transports._http import DEFAULT_MAX_MESSAGE_SIZE, AuthLike
from .transports.base import Transport

# Models, events and the display helpers load on first use (see mcp_sync/__init__.py).
if TYPE_CHECKING:  # pragma: no cover
    from .events import Event
    from .transports.stdio import StdioServer
    from .types import CallToolResult, Implementation, ServerCapabilities, Tool

log = logging.getLogger("mcp_sync.client")

ProgressCallback = Callable[[float, Optional[float], Optional[str]], None]
Target = Union[str, Sequence[str], "StdioServer", Transport]

#: Pages a ``list_*`` call follows at most, so a server that loops its cursors cannot hang us.
MAX_PAGES = 10_000


class Client(FeaturesMixin):
    """A synchronous MCP client. One ``Client`` is safe to share between threads.

    :param target: the server: an ``http(s)://`` URL; a command list such as
        ``["python", "server.py"]`` or a :class:`~mcp_sync.StdioServer` (a stdio server we start);
        or a :class:`~mcp_sync.transports.Transport`. A string is always a URL.
    :param headers: extra HTTP headers sent with every request.
    :param auth: a bearer-token string, any ``requests.auth.AuthBase``, or an OAuth provider from
        :mod:`mcp_sync.auth` (``OAuth()``, ``ClientCredentials(...)``); sent on every HTTP
        request, never to another origin.
    :param timeout: seconds a request may take (default 60), or a :class:`~mcp_sync.Timeout`.
    :param session: your ``requests.Session`` (its proxies, certificates, adapters and retries stay
        in force). mcp_sync never closes a session it did not create.
    :param protocol: ``"auto"`` (default: the newest era the server speaks), ``"modern"``,
        ``"legacy"``, or one exact version such as ``"2025-06-18"``.
    :param client_info: the ``clientInfo`` sent to the server (``name``, ``version``, ...).
    :param max_message_size: the largest JSON-RPC message accepted, in bytes (default 64 MiB).
    :param max_buffered: related notifications held per request for a consumer that has not read
        them yet (default 10,000); beyond that the reader waits (its own stream) or the request fails.
    :param transport: ``"auto"`` (default: Streamable HTTP, then HTTP+SSE, for a URL),
        ``"streamable-http"``, ``"sse"`` or ``"stdio"``; ``client.transport`` says which one is in use.
    :param elicitation: ``handler(ElicitRequest) -> ElicitResult | dict``, to answer a server's
        questions to the user (form or URL mode). Without it, the capability is not declared.
    :param sampling: ``handler(CreateMessageRequest) -> CreateMessageResult | dict``: the
        server's LLM requests (deprecated in 2026-07-28, still served).
    :param roots: a list of roots (``Root``, ``"file://..."`` or dicts) or a callable returning one.
    :param tasks: opt in to the modern tasks extension (legacy servers run tasks on request).
    :param max_input_rounds: how many ``input_required`` rounds one call may take (default 10).
    :param skills: opt in to the skills extension: ``client.skills`` lists and loads a server's
        skills, verifying every file it reads (see :class:`~mcp_sync.skills.Skills`).
    Handlers are plain synchronous callables. They run on a worker thread (legacy) or in the
    calling thread (modern); an exception becomes a JSON-RPC error to the server (legacy) or an
    :class:`~mcp_sync.errors.InteractionError` for the caller (modern), and is logged either way.

    >>> with Client("http://127.0.0.1:8000/mcp") as client:           # doctest: +SKIP
    ...     print(client.call_tool("echo", {"message": "hi"}).text)
    hi
    """

    def __init__(
        self,
        target: Target,
        *,
        headers: Optional[Dict[str, str]] = None,
        auth: AuthLike = None,
        timeout: TimeoutLike = 60.0,
        session: Optional[requests.Session] = None,
        protocol: str = "auto",
        client_info: Optional[Dict[str, Any]] = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        probe_timeout: float = 5.0,
        transport: str = "auto",
        elicitation: Optional[ElicitationHandler] = None,
        sampling: Optional[SamplingHandler] = None,
        roots: Optional[RootsLike] = None,
        tasks: bool = False,
        max_input_rounds: int = 10,
        skills: bool = False,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self._timeout = Timeout.coerce(timeout)
        interactions = Interactions(elicitation=elicitation, sampling=sampling, roots=roots)
        _check_protocol(protocol)
        self._transport = self._make_transport(target, transport, headers=headers, auth=auth, session=session,
                                               max_message_size=max_message_size)
        info = {"name": "mcp-sync", "version": _version()}
        info.update(client_info or {})
        self._engine = Engine(self._transport, timeout=self._timeout, protocol=protocol, client_info=info,
                              probe_timeout=probe_timeout, capabilities=self._capabilities,
                              request_handlers=interactions.request_handlers(), max_buffered=max_buffered)
        self._init_features(interactions, tasks, max_input_rounds, skills)
        self._target = target
        self._lock = threading.Lock()

    @staticmethod
    def _make_transport(target: Target, transport: str = "auto", **options: Any) -> Transport:
        from ._detect import make_transport

        return make_transport(target, transport, **options)

    @classmethod
    def from_config(cls, config: Any, name: Optional[str] = None, **kwargs: Any) -> "Client":
        """A client for one server of an ``mcpServers`` configuration (the JSON MCP hosts use):
        a path to the file, its text, or the parsed dict. ``${VAR}`` is expanded from the
        environment. ``name`` may be left out when the file names one server. ``kwargs`` go to
        :class:`Client`.

        >>> Client.from_config("~/.cursor/mcp.json", "github")              # doctest: +SKIP
        """
        from .config import client_arguments

        target, options = client_arguments(config, name)
        options.update(kwargs)
        return cls(target, **options)

    # ------------------------------------------------------------------ lifecycle

    def connect(self) -> "Client":
        """Connect and negotiate now (otherwise the first call does). Returns the client."""
        self._engine.connect()
        return self

    def close(self) -> None:
        """Cancel what is in flight, end the session and release every thread, socket and process.
        Safe to call more than once, and from any thread."""
        self._engine.close()

    def __enter__(self) -> "Client":
        return self.connect()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._engine.closed else (self.protocol_version or "not connected")
        return f"<mcp_sync.Client {self._transport.describe()} {state}>"

    # ------------------------------------------------------------------ what the server said

    @property
    def server_info(self) -> Implementation:
        """The server's name, version and other self-description."""
        self._engine.connect()
        return _parse("Implementation", self._engine.state.server_info, self._negotiated_by())

    @property
    def server_capabilities(self) -> ServerCapabilities:
        self._engine.connect()
        return _parse("ServerCapabilities", self._engine.state.capabilities, self._negotiated_by())

    @property
    def protocol_version(self) -> Optional[str]:
        """The protocol version in use, e.g. ``"2026-07-28"`` or ``"2025-11-25"`` (None before connecting)."""
        return self._engine.state.protocol_version if self._engine.state.era else None

    @property
    def era(self) -> Optional[str]:
        """``"modern"`` (2026-07-28 and later) or ``"legacy"`` (the ``initialize`` handshake)."""
        return self._engine.state.era

    @property
    def instructions(self) -> Optional[str]:
        self._engine.connect()
        return self._engine.state.instructions

    @property
    def transport(self) -> str:
        """The transport in use: ``"streamable-http"``, ``"sse"`` or ``"stdio"`` (for a URL with
        ``transport="auto"``, this connects first: the server's answers decide)."""
        from ._detect import AutoTransport

        if isinstance(self._transport, AutoTransport) and not self._engine.closed:
            self._engine.connect()
        return self._transport.name

    # ------------------------------------------------------------------ raw JSON-RPC

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, timeout: TimeoutLike = None) -> Dict[str, Any]:
        """Send a JSON-RPC request and block until its result (a dict).

        :raises RPCError: the server answered with an error.
        :raises RequestTimeout: no answer within ``timeout``; the request was cancelled.
        :raises TransportError: the connection failed; the message names the cause.
        """
        return self._engine.request(method, params, timeout=self._call_timeout(timeout))

    def stream(self, method: str, params: Optional[Dict[str, Any]] = None,
               timeout: TimeoutLike = None) -> Iterator[Event]:
        """Send a request and yield every related message as a typed event as soon as it arrives:
        :class:`~mcp_sync.ProgressEvent`, :class:`~mcp_sync.LogEvent`,
        :class:`~mcp_sync.NotificationEvent`, and last a :class:`~mcp_sync.ResultEvent`.

        Closing the generator early (``break``, ``.close()``) cancels the request.

        ``tools/call``, ``prompts/get`` and ``resources/read`` answer a modern server's
        ``input_required`` rounds with the client's handlers, and a ``tools/call`` that becomes a
        task yields a :class:`~mcp_sync.TaskStatusEvent` per status change before its result.
        """
        from .events import ResultEvent, event_from_message

        if method in _mrtr.MRTR_METHODS:
            yield from self._stream_driven(method, params, timeout)
            return
        exchange = self._engine.exchange(method, params, timeout=self._call_timeout(timeout), want_progress=True)
        try:
            for message in exchange:
                if "method" in message:
                    yield event_from_message(message)
                    continue
                yield ResultEvent(message, self._engine.result_of(message, method), None)
        finally:
            exchange.close()

    def _stream_driven(self, method: str, params: Optional[Dict[str, Any]], timeout: TimeoutLike) -> Iterator[Event]:
        from .events import ResultEvent, event_from_message

        if method == "tools/call" and params:
            params = self._as_task_if_required(params)
        gen = _mrtr.drive(self._engine, self._interactions, self._task_runner, method, params,
                          timeout=self._call_timeout(timeout), want_progress=True, max_rounds=self._max_input_rounds)
        try:
            for item in gen:
                if isinstance(item, _mrtr.Final):
                    value = None
                    if method == "tools/call":
                        value = _parse("CallToolResult", item.result, method)
                        self._check_output(str((params or {}).get("name")), value)
                    yield ResultEvent({"result": item.result}, item.result, value)
                elif isinstance(item, dict):
                    yield event_from_message(item)
                else:
                    yield item
        finally:
            gen.close()

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        """Send a JSON-RPC notification (no answer)."""
        self._engine.notify(method, params)

    def on_notification(self, method: Optional[str], handler: Callable[[Dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``handler(message)`` for every notification of ``method`` (``None``: all of them),
        in arrival order, on a background thread. Returns a function that unregisters it."""
        return self._engine.add_handler(method, handler)

    def ping(self, timeout: TimeoutLike = None) -> None:
        """Check the server answers. Modern servers have no ``ping``; ``server/discover`` is used."""
        method = "server/discover" if self.era == "modern" else "ping"
        self.call(method, timeout=timeout)

    # ------------------------------------------------------------------ tools

    def list_tools(self, cursor: Optional[str] = None, *, all_pages: bool = True, cache: bool = True) -> List[Tool]:
        """Every tool the server offers, following every ``nextCursor`` page.

        Pass ``all_pages=False`` (and ``cursor=``) to fetch one page; the next cursor is then
        available as ``client.last_cursor``. ``cache=False`` bypasses the ``ttlMs`` cache. On
        modern Streamable HTTP, a tool with an invalid ``x-mcp-header`` annotation is left out
        (and logged), as the spec requires.
        """
        from ._display import ToolList

        tools = self._register_tools(self._list("tools/list", "tools", cursor, all_pages, cache))
        return ToolList(_parse("Tool", t, "tools/list") for t in tools)

    def call_tool(self, name: str, arguments: Optional[Dict[str, Any]] = None, timeout: TimeoutLike = None,
                  progress: Union[ProgressCallback, bool, None] = None) -> CallToolResult:
        """Call a tool and block until its result.

        A tool that fails returns a result with ``is_error`` set (call ``.raise_for_error()`` to
        raise :class:`~mcp_sync.ToolError`); an unknown tool or bad request raises :class:`RPCError`.

        :param progress: ``progress(progress, total, message)``, called in this thread as each
            progress notification arrives; or ``True`` for a progress bar (``tqdm.auto`` when
            installed, so a widget in Jupyter; else a text bar on stderr).
        """
        if not isinstance(name, str) or not name:
            raise ValueError("the tool name must be a non-empty string")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"arguments must be a dict, got {type(arguments).__name__}")
        if progress is True:
            from ._display import ProgressBar

            with ProgressBar(name) as bar:
                return self.call_tool(name, arguments, timeout, progress=bar)
        if progress is False:
            progress = None
        params: Dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        on_message = None
        if progress is not None:
            def on_message(message: Dict[str, Any]) -> None:
                if message.get("method") == "notifications/progress":
                    p = message.get("params") or {}
                    progress(p.get("progress"), p.get("total"), p.get("message"))

        return self._call_tool_result(name, params, timeout, on_message)

    # ------------------------------------------------------------------ helpers

    last_cursor: Optional[str] = None

    def _list(self, method: str, key: str, cursor: Optional[str], all_pages: bool,
              cache: bool = True) -> List[Dict[str, Any]]:
        items: List[Dict[str, Any]] = []
        seen = set()
        for _ in range(MAX_PAGES):
            params = {"cursor": cursor} if cursor is not None else {}
            result = self._cached_call(method, params, cursor, None, cache)
            page = result.get(key, [])
            if not isinstance(page, list):
                raise ProtocolError(f"{method}: {key!r} is not a list", method=method)
            items.extend(item for item in page if isinstance(item, dict))
            cursor = result.get("nextCursor")
            self.last_cursor = cursor if isinstance(cursor, str) else None
            if not all_pages or not isinstance(cursor, str):
                return items
            if cursor in seen:
                raise ProtocolError(f"{method}: the server repeated cursor {cursor!r}", method=method)
            seen.add(cursor)
        raise ProtocolError(f"{method}: more than {MAX_PAGES} pages", method=method)

    def _negotiated_by(self) -> str:
        return "server/discover" if self._engine.state.era == "modern" else "initialize"

    def _call_timeout(self, timeout: TimeoutLike) -> Timeout:
        return Timeout.coerce(timeout, self._timeout) if timeout is not None else self._timeout


def _check_protocol(protocol: str) -> None:
    from ._protocol import SUPPORTED_VERSIONS

    if protocol not in ("auto", "modern", "legacy") and protocol not in SUPPORTED_VERSIONS:
        raise ValueError(f"protocol must be 'auto', 'modern', 'legacy' or one of {list(SUPPORTED_VERSIONS)}, "
                         f"got {protocol!r}")


def _version() -> str:
    from . import __version__

    return __version__
