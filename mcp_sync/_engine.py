"""The JSON-RPC engine: request ids, the table of pending requests, dispatch of inbound messages,
protocol-era negotiation and cancellation. Transport-agnostic: transports hand it every message
they read (:meth:`Engine.deliver`) and every failure (:meth:`Engine.fail`, :meth:`Engine.transport_lost`).

Each pending request owns a ``queue.SimpleQueue``; whichever thread reads a message puts it on
the queue of the request it belongs to, and the caller's thread (the only one that waits) takes it
off with a deadline. A dying transport puts an exception on every queue, so every waiter wakes at
once with the cause.
"""
from __future__ import annotations

import copy
import itertools
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import __version__
from ._protocol import (
    CLIENT_CAPABILITIES_KEY,
    CLIENT_INFO_KEY,
    LATEST_LEGACY,
    LEGACY_VERSIONS,
    LOG_LEVEL_KEY,
    MODERN_VERSIONS,
    PROTOCOL_VERSION_KEY,
    SUBSCRIPTION_ID_KEY,
    is_modern,
)
from ._threads import WorkerPool
from .errors import (
    ClientClosedError,
    ConnectionClosed,
    MCPError,
    ProtocolError,
    RequestTimeout,
    RPCError,
    ServerCancelled,
    TransportError,
    UnsupportedProtocolVersion,
)
from .timeouts import Timeout
from .transports.base import SessionExpired, Transport

log = logging.getLogger("mcp_sync.engine")
server_log = logging.getLogger("mcp_sync.server")

_LOG_LEVELS = {
    "debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO, "warning": logging.WARNING,
    "error": logging.ERROR, "critical": logging.CRITICAL, "alert": logging.CRITICAL, "emergency": logging.CRITICAL,
}

#: Requests that only read, so re-sending one after its response stream broke repeats nothing.
#: ``tools/call`` is never here: a tool may have side effects, so a lost call is reported, not re-run.
IDEMPOTENT_METHODS = frozenset({
    "ping", "server/discover", "tools/list", "prompts/list", "prompts/get", "resources/list",
    "resources/templates/list", "resources/read",
})
#: Related notifications buffered per request for a consumer that is not reading them (backpressure).
DEFAULT_MAX_BUFFERED = 10_000
#: The longest single wait handed to a transport (seconds): a listen request's deadline is years
#: away, which OS waits such as poll() cannot take.
WAIT_SLICE = 1.0

NotificationHandler = Callable[[Dict[str, Any]], None]
RequestHandler = Callable[[Dict[str, Any]], Dict[str, Any]]


class Pending:
    """One request in flight. ``stream`` is the transport's handle for aborting it;
    ``stoppable``: another thread may end it with :meth:`Engine.stop` (a long-lived listen)."""

    __slots__ = ("id", "method", "queue", "stream", "done", "overflowed", "stoppable")

    def __init__(self, request_id: int, method: str) -> None:
        self.id = request_id
        self.method = method
        self.queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self.stream: Any = None
        self.done = False
        self.overflowed = False
        self.stoppable = False


class ServerState:
    """What negotiation learned about the server."""

    def __init__(self) -> None:
        self.era: Optional[str] = None  # "modern" or "legacy"
        self.protocol_version: Optional[str] = None
        self.server_info: Dict[str, Any] = {}
        self.capabilities: Dict[str, Any] = {}
        self.instructions: Optional[str] = None
        self.supported_versions: List[str] = []


class Engine:
    """Runs JSON-RPC over one transport. Thread-safe: any number of threads may call
    :meth:`exchange` at once."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout: Timeout,
        protocol: str = "auto",
        client_info: Optional[Dict[str, Any]] = None,
        capabilities: Optional[Callable[[str], Dict[str, Any]]] = None,
        request_handlers: Optional[Dict[str, RequestHandler]] = None,
        probe_timeout: float = 5.0,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self.transport = transport
        self.max_buffered = max_buffered
        self.timeout = timeout
        self.protocol = protocol
        self.client_info = client_info or {"name": "mcp-sync", "version": __version__}
        self._capabilities = capabilities or (lambda era: {})
        self.request_handlers: Dict[str, RequestHandler] = {"ping": lambda params: {}}
        self.request_handlers.update(request_handlers or {})
        self.probe_timeout = probe_timeout
        self.state = ServerState()
        self.log_level: Optional[str] = None
        #: Extra HTTP headers for one outgoing request (the client's x-mcp-header mirroring, §2.1).
        self.extra_headers: Optional[Callable[[Dict[str, Any]], Dict[str, str]]] = None

        # itertools.count is atomic under the GIL; ids are never reused within a client.
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: Dict[Any, Pending] = {}
        self._handlers: List[Tuple[Optional[str], NotificationHandler]] = []
        self._connect_lock = threading.RLock()
        self._connected = False
        self._closed = False
        self._generation = 0
        self._pid = os.getpid()
        self._workers = WorkerPool("dispatch")
        # Notification handlers run one at a time, in arrival order, on their own thread.
        self._notify_queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._notify_thread: Optional[threading.Thread] = None
        transport.bind(self)

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        return self._closed

    def connect(self) -> None:
        """Open the transport and negotiate the protocol era. Idempotent; raises the real cause."""
        self._check_usable()
        if self._connected and self.transport.alive:
            return
        with self._connect_lock:
            self._check_usable()
            if self._connected and self.transport.alive:
                return
            if self._connected:
                log.info("transport %s was lost; reconnecting", self.transport.name)
                self.transport.reset()
            self._connected = False
            while True:
                self.transport.open(self.timeout)
                try:
                    self._negotiate()
                    break
                except BaseException as exc:
                    if isinstance(exc, MCPError) and self.transport.fallback(exc):
                        continue  # transport detection moved on to its next candidate
                    self.transport.close()
                    raise
            self._connected = True

    def close(self) -> None:
        """Fail every pending request, release the transport and every thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.fail_all(ConnectionClosed("the client was closed"))
        if os.getpid() == self._pid:
            self.transport.close()
        else:
            # In a forked child, the transport's sockets and processes belong to the parent:
            # forget them without closing them.
            after_fork = getattr(self.transport, "after_fork", None)
            if after_fork is not None:
                after_fork()
        self._notify_queue.put(None)
        if self._notify_thread is not None and self._notify_thread is not threading.current_thread():
            self._notify_thread.join(2.0)
        self._workers.close()

    def _check_usable(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed; create a new Client")
        if os.getpid() != self._pid:
            self._after_fork()

    def _after_fork(self) -> None:
        """First use in a forked child (gunicorn ``--preload``, Celery prefork, multiprocessing).

        The parent's sockets, processes and threads are not ours, and its locks may have been
        held by threads that do not exist here. Start over with fresh ones, never touching the
        parent's connections; a transport that cannot do that makes the client unusable here.
        """
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._connect_lock = threading.RLock()
        self._pending = {}
        self._workers = WorkerPool("dispatch")
        self._notify_queue = queue.SimpleQueue()
        self._notify_thread = None
        self._connected = False
        after_fork = getattr(self.transport, "after_fork", None)
        if after_fork is None:
            self._closed = True
            raise ClientClosedError(
                f"this Client was created in another process (before os.fork()) and its {self.transport.name} "
                "transport cannot be reopened in a child. Create a new Client in this process.")
        log.info("this Client was created before os.fork(); reconnecting in process %s", self._pid)
        after_fork()

    # ------------------------------------------------------------------ negotiation

    def _negotiate(self) -> None:
        mode = self.protocol
        # A transport that only legacy servers speak (HTTP+SSE) needs no server/discover probe.
        probe = not (mode == "auto" and getattr(self.transport, "legacy_only", False))
        if probe and (mode in ("auto", "modern") or mode in MODERN_VERSIONS):
            first = mode if mode in MODERN_VERSIONS else MODERN_VERSIONS[0]
            verdict = self._discover(first, allow_fallback=(mode == "auto"))
            if verdict == "modern":
                return
        legacy_version = mode if mode in LEGACY_VERSIONS else LATEST_LEGACY
        try:
            self._initialize(legacy_version)
        except RPCError as err:
            # A modern server that missed the probe's deadline (a stdio server still starting up)
            # refuses initialize naming its versions (§2.5): it is modern after all.
            modern = [v for v in MODERN_VERSIONS if v in _versions(err.data)]
            if not (probe and mode == "auto" and err.code == -32022 and modern):
                raise
            log.info("the server refused initialize and speaks %s; using server/discover", modern[0])
            if self._discover(modern[0], allow_fallback=False) != "modern":
                raise

    def _discover(self, version: str, allow_fallback: bool, retried: bool = False) -> str:
        """``server/discover``; returns "modern", or "legacy" when the server is legacy (§2.5)."""
        self.state.era = "modern"
        self.state.protocol_version = version
        probe = self.transport.probe_timeout(self.probe_timeout)
        timeout = Timeout.coerce(probe, self.timeout) if probe else self.timeout
        try:
            result = self.request("server/discover", None, timeout=timeout, _connecting=True)
        except RPCError as err:
            status = getattr(err, "http_status", None)
            if err.code == -32022:
                supported = _versions(err.data)
                mutual = [v for v in MODERN_VERSIONS if v in supported]
                if mutual and not retried:
                    # Retry once with the version the server names, even the one just sent: a
                    # server (or a proxy in front of it) may reject the first request of a client.
                    return self._discover(mutual[0], allow_fallback, retried=True)
                if allow_fallback and any(v in LEGACY_VERSIONS for v in supported):
                    return "legacy"
                raise UnsupportedProtocolVersion(
                    f"the server supports protocol versions {supported}; mcp_sync speaks "
                    f"{list(MODERN_VERSIONS) + list(LEGACY_VERSIONS)}", supported=supported, method="server/discover"
                ) from err
            modern_error = err.code in (-32021, -32020) or (err.code == -32602 and status == 400) or (
                err.code == -32601 and status == 404)
            if modern_error or not allow_fallback:
                raise
            log.debug("server/discover answered %s: treating the server as legacy", err)
            return "legacy"
        except SessionExpired:
            if not allow_fallback:
                raise
            return "legacy"
        except (TransportError, RequestTimeout) as err:
            if allow_fallback and self.transport.is_legacy_verdict(err):
                log.debug("server/discover failed with %r: treating the server as legacy", err)
                return "legacy"
            raise
        supported = _versions(result)
        if not supported and allow_fallback:
            # A DiscoverResult always lists its versions; a legacy server that answers unknown
            # methods with an empty result must not be mistaken for a modern one.
            log.debug("server/discover returned no supportedVersions: treating the server as legacy")
            return "legacy"
        if supported and version not in supported:
            mutual = [v for v in MODERN_VERSIONS if v in supported]
            if mutual:
                self.state.protocol_version = mutual[0]
            elif allow_fallback and any(v in LEGACY_VERSIONS for v in supported):
                return "legacy"  # e.g. go-sdk stateful servers list only legacy versions
            else:
                raise UnsupportedProtocolVersion(
                    f"the server supports protocol versions {supported} only", supported=supported,
                    method="server/discover")
        self.state.supported_versions = supported
        self.state.capabilities = _dict(result.get("capabilities"))
        self.state.instructions = result.get("instructions")
        meta = _dict(result.get("_meta"))
        self.state.server_info = _dict(meta.get("io.modelcontextprotocol/serverInfo")) or _dict(result.get("serverInfo"))
        return "modern"

    def _initialize(self, version: str) -> None:
        self.state.era = "legacy"
        self.state.protocol_version = None
        params = {"protocolVersion": version, "capabilities": self._capabilities("legacy"),
                  "clientInfo": self.client_info}
        result = self.request("initialize", params, _connecting=True, _cancellable=False)
        agreed = result.get("protocolVersion")
        if agreed not in LEGACY_VERSIONS:
            raise UnsupportedProtocolVersion(
                f"the server answered initialize with protocol version {agreed!r}, which mcp_sync does not speak",
                supported=[agreed], method="initialize")
        self.state.protocol_version = agreed
        self.state.capabilities = _dict(result.get("capabilities"))
        self.state.server_info = _dict(result.get("serverInfo"))
        self.state.instructions = result.get("instructions")
        self.state.supported_versions = [agreed]
        self.transport.set_protocol_version(agreed)
        self._generation += 1
        # The optional GET stream opens while notifications/initialized is in flight: one round
        # trip, not two, and it is in place before connect() returns.
        self.transport.on_initialized()
        self.notify("notifications/initialized", _connecting=True)
        self.transport.settle()
        if self.log_level:
            try:
                self.request("logging/setLevel", {"level": self.log_level}, _connecting=True)
            except RPCError as err:
                log.warning("the server refused logging/setLevel: %s", err)

    # ------------------------------------------------------------------ requests

    def request(self, method: str, params: Optional[Dict[str, Any]] = None, *, timeout: Optional[Timeout] = None,
                progress: Optional[Callable[[Dict[str, Any]], None]] = None, **kw: Any) -> Dict[str, Any]:
        """Send a request and block until its result; related notifications go to ``progress``."""
        # A timeout that resets on progress needs the server to report it: ask for it.
        want = progress is not None or (timeout or self.timeout).reset_on_progress
        response: Optional[Dict[str, Any]] = None
        for message in self.exchange(method, params, timeout=timeout, want_progress=want, **kw):
            if "method" in message:
                if progress is not None:
                    progress(message)
                continue
            # The response is the exchange's last item: letting the loop end it, rather than
            # returning from inside, spares a GeneratorExit thrown into it (~30 us, cold).
            response = message
        if response is None:  # pragma: no cover
            raise ConnectionClosed(f"{method}: the exchange ended without a response")
        return self.result_of(response, method)

    @staticmethod
    def result_of(message: Dict[str, Any], method: str) -> Dict[str, Any]:
        if "error" in message:
            raise RPCError.from_error(message["error"], method=method)
        result = message.get("result")
        if not isinstance(result, dict):
            raise ProtocolError(f"{method}: the result is not an object: {str(result)[:200]}", method=method)
        return result

    def exchange(
        self,
        method: str,
        params: Optional[Dict[str, Any]] = None,
        *,
        timeout: Optional[Timeout] = None,
        want_progress: bool = False,
        _connecting: bool = False,
        _cancellable: bool = True,
        _retry_on_expiry: bool = True,
        _attempt: int = 0,
        _on_pending: Optional[Callable[["Pending"], None]] = None,
    ) -> Iterator[Dict[str, Any]]:
        """Send a request; yield each related notification as it arrives, then the response message.

        Leaving the generator early (``close()``, an exception, Ctrl-C, the timeout) cancels the
        request on the wire.
        """
        if not _connecting:
            self.connect()
        else:
            self._check_usable()
        timeout = timeout or self.timeout
        pending = Pending(next(self._ids), method)
        message = {"jsonrpc": "2.0", "id": pending.id, "method": method,
                   "params": self._params(params, pending.id if want_progress else None)}
        generation = self._generation
        started = time.monotonic()
        deadline = started + timeout.call
        hard_deadline = started + timeout.max_call if timeout.max_call else None
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed")
            self._pending[pending.id] = pending
        if _on_pending is not None:
            pending.stoppable = True
            _on_pending(pending)  # so a long-lived request (subscriptions/listen) can be stopped from another thread
        finished = False
        reason = "cancelled by the client"
        try:
            try:
                self.transport.send_request(pending, message, timeout, deadline)
            except SessionExpired:
                if not _retry_on_expiry or _connecting:
                    raise
                log.info("the server ended the session (HTTP 404); initializing a new one and retrying %s", method)
                finished = True  # nothing was delivered: there is nothing to cancel
                self._reinitialize(generation)
                yield from self.exchange(method, params, timeout=timeout, want_progress=want_progress,
                                         _retry_on_expiry=False, _on_pending=_on_pending)
                return
            except (TypeError, ValueError):
                finished = True  # the params cannot be sent as JSON: nothing went out
                raise
            except MCPError as exc:
                # Nothing to cancel unless the server took the request and then kept us waiting
                # for the reply's headers (a JSON reply arrives only when the work is done).
                finished = not isinstance(exc, RequestTimeout)
                if not self._may_retry(method, exc, _attempt, _connecting):
                    raise
                yield from self.exchange(method, params, timeout=timeout, want_progress=want_progress,
                                         _retry_on_expiry=_retry_on_expiry, _attempt=_attempt + 1,
                                         _on_pending=_on_pending)
                return
            while True:
                remaining = deadline - time.monotonic()
                if hard_deadline is not None:
                    remaining = min(remaining, hard_deadline - time.monotonic())
                if remaining <= 0:
                    raise queue.Empty
                try:
                    item = self.transport.wait(pending, min(remaining, WAIT_SLICE))
                except queue.Empty:
                    continue  # the loop decides whether the deadline has passed
                if isinstance(item, BaseException):
                    # The transport already lost this request, unless we gave up on it ourselves.
                    finished = not pending.overflowed
                    if self._may_retry(method, item, _attempt, _connecting):
                        yield from self.exchange(method, params, timeout=timeout, want_progress=want_progress,
                                                 _retry_on_expiry=_retry_on_expiry, _attempt=_attempt + 1,
                                         _on_pending=_on_pending)
                        return
                    err = copy.copy(item)
                    if isinstance(err, MCPError) and err.method is None:
                        err.method = method
                    raise err from item
                if "method" in item:
                    if timeout.reset_on_progress and item.get("method") == "notifications/progress":
                        deadline = time.monotonic() + timeout.call
                    yield item
                    continue
                finished = True
                yield item
                return
        except queue.Empty:
            limit = timeout.call
            if hard_deadline is not None and time.monotonic() >= hard_deadline - 0.001:
                limit = timeout.max_call  # the absolute maximum ran out, not the (reset) call clock
            reason = f"timed out after {limit:g}s"
            raise RequestTimeout(f"{method}: no response within {limit:g}s; the request was cancelled",
                                 method=method) from None
        except GeneratorExit:
            reason = "the caller stopped reading the stream"
            raise
        except KeyboardInterrupt:
            reason = "interrupted (KeyboardInterrupt)"
            raise
        finally:
            with self._lock:
                self._pending.pop(pending.id, None)
            pending.done = True
            if not finished and _cancellable:
                self._cancel(pending, reason)

    def _may_retry(self, method: str, error: BaseException, attempt: int, connecting: bool) -> bool:
        """Re-send a read whose response was lost in transit, once, with a new id (§2.1)."""
        if attempt > 0 or connecting or self._closed or method not in IDEMPOTENT_METHODS:
            return False
        if not getattr(error, "retryable", False):
            return False
        log.warning("%s: %s; it only reads, so it is sent again", method, error)
        return True

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None, *, _connecting: bool = False) -> None:
        if not _connecting:
            self.connect()
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.transport.send_message(message)

    def _params(self, params: Optional[Dict[str, Any]], progress_token: Any) -> Dict[str, Any]:
        out = dict(params) if params else {}
        meta = dict(out.get("_meta") or {})
        if self.state.era == "modern":
            meta[PROTOCOL_VERSION_KEY] = self.state.protocol_version
            meta[CLIENT_CAPABILITIES_KEY] = self._capabilities("modern")
            meta[CLIENT_INFO_KEY] = self.client_info
            if self.log_level:
                meta[LOG_LEVEL_KEY] = self.log_level
        if progress_token is not None:
            meta["progressToken"] = progress_token
        if meta:
            out["_meta"] = meta
        return out

    def _reinitialize(self, generation: int) -> None:
        with self._connect_lock:
            if generation != self._generation:
                return  # another thread has already started a new session
            self.transport.reset()
            self.transport.open(self.timeout)
            self._initialize(self.state.protocol_version or LATEST_LEGACY)

    def stop(self, pending: Pending, reason: str) -> None:
        """Cancel a request from another thread: cancel it on the wire and wake its waiter."""
        if pending.done:
            return
        self._cancel(pending, reason)
        pending.queue.put(ConnectionClosed(reason))

    def _cancel(self, pending: Pending, reason: str) -> None:
        """Cancel on the wire: modern HTTP closes the response stream; everything else sends
        ``notifications/cancelled`` (§3.1, §3.2). Late responses are then dropped by deliver()."""
        try:
            self.transport.abort(pending)
            if self._closed or not self.transport.alive:
                return
            if self.state.era == "modern" and self.transport.cancel_by_abort:
                return
            log.debug("cancelling request %s (%s): %s", pending.id, pending.method, reason)
            self.transport.send_message({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                         "params": {"requestId": pending.id, "reason": reason}})
        except Exception as exc:  # cancellation is best effort; the caller already has its error
            log.debug("could not cancel request %s: %r", pending.id, exc)

    # ------------------------------------------------------------------ inbound

    def deliver(self, message: Any, origin: Optional[Pending] = None) -> None:
        """Route one inbound message. Called from reader threads (and from callers for JSON replies).

        ``origin`` is the request whose response stream carried the message, if any. Never raises:
        a frame that cannot be routed is logged and dropped, so a reader thread never dies of one.
        """
        if isinstance(message, list):  # 2025-03-26 batches
            for item in message:
                self.deliver(item, origin)
            return
        try:
            self._route(message, origin)
        except Exception:
            log.exception("dropping a message that could not be routed: %.200r", message)

    def _route(self, message: Any, origin: Optional[Pending]) -> None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            log.warning("dropping a frame that is not JSON-RPC 2.0: %.200r", message)
            return
        method = message.get("method")
        if method is not None:
            if not isinstance(method, str) or ("id" in message and _key(message["id"]) is None):
                log.warning("dropping a JSON-RPC message with an invalid method or id: %.200r", message)
                return
            if "id" in message:
                self._on_server_request(message)
            else:
                self._on_notification(message, origin)
            return
        if "id" in message and ("result" in message or "error" in message):
            with self._lock:
                pending = self._pending.get(_key(message["id"]))
            if pending is not None:
                pending.queue.put(message)
            elif message["id"] is None and origin is not None and "error" in message:
                origin.queue.put(message)  # an error about a request the server could not parse
            else:
                log.debug("dropping a response to unknown or cancelled request id %r", message.get("id"))
            return
        log.warning("dropping a JSON-RPC message that is neither request, response nor notification: %.200r", message)

    def _on_notification(self, message: Dict[str, Any], origin: Optional[Pending]) -> None:
        method = message["method"]
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        target = origin
        if target is None:
            # stdio and other shared streams: subscriptions/listen notifications name their
            # listen request in _meta (§4.1), so they go to that request's queue.
            sub_id = _dict(params.get("_meta")).get(SUBSCRIPTION_ID_KEY)
            if sub_id is not None:
                with self._lock:
                    target = self._pending.get(sub_id)
        if method == "notifications/progress":
            with self._lock:
                target = self._pending.get(_key(params.get("progressToken")), origin)
        elif method == "notifications/message":
            level = str(params.get("level", "info"))
            server_log.log(_LOG_LEVELS.get(level, logging.INFO), "%s%s", f"[{params['logger']}] " if params.get("logger") else "",
                           params.get("data"))
        elif method == "notifications/cancelled" and self.state.era == "modern":
            # Only a modern server cancels a request of ours (to end a subscriptions/listen, §3.1).
            # A legacy server cancels requests *it* sent us: its ids are not ours to look up.
            request_id = _key(params.get("requestId"))
            with self._lock:
                cancelled = self._pending.get(request_id)
            if cancelled is not None:
                cancelled.queue.put(ServerCancelled(f"the server cancelled the request: {params.get('reason') or 'no reason given'}"))
        if target is not None and not target.done and not target.overflowed:
            self._buffer(target, message, origin)
        if any(m is None or m == method for m, _ in self._handlers):
            self._ensure_notify_thread()
            self._notify_queue.put(message)

    def _buffer(self, target: Pending, message: Dict[str, Any], origin: Optional[Pending]) -> None:
        """Queue a related notification, bounded by ``max_buffered`` unread messages.

        A reader of the request's own stream waits for the consumer (the server then waits on
        TCP); a reader shared by every request must not, so the slow request fails instead."""
        if target.queue.qsize() < self.max_buffered:
            target.queue.put(message)
            return
        if origin is target:
            while target.queue.qsize() >= self.max_buffered and not target.done and not self._closed:
                time.sleep(0.005)
            if not target.done:
                target.queue.put(message)
            return
        if not target.overflowed:
            target.overflowed = True  # later notifications are dropped; the consumer gets this error next
            target.queue.put(ProtocolError(
                f"{target.method}: more than {self.max_buffered} notifications were waiting to be read; "
                "the request was abandoned (read the stream faster or raise max_buffered)", method=target.method))

    def _on_server_request(self, message: Dict[str, Any]) -> None:
        if self.state.era == "modern":
            log.warning("a modern server sent a request (%s), which the protocol forbids; answering with an error",
                        message.get("method"))
        self._workers.submit(self._answer, message)

    def _answer(self, message: Dict[str, Any]) -> None:
        method = message["method"]
        handler = self.request_handlers.get(method)
        reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
        if handler is None or self.state.era == "modern":
            reply["error"] = {"code": -32601, "message": f"Method not found: {method}"}
        else:
            try:
                params = message.get("params") if isinstance(message.get("params"), dict) else {}
                reply["result"] = handler(params)
            except RPCError as err:
                reply["error"] = {"code": err.code, "message": err.message, **({"data": err.data} if err.data is not None else {})}
            except Exception as exc:
                log.exception("the handler for the server's %s request failed", method)
                reply["error"] = {"code": -32603, "message": f"client handler failed: {exc}"}
        try:
            self.transport.send_message(reply)
        except MCPError as exc:
            log.warning("could not answer the server's %s request: %s", method, exc)

    # ------------------------------------------------------------------ notification handlers

    def add_handler(self, method: Optional[str], handler: NotificationHandler) -> Callable[[], None]:
        entry = (method, handler)
        with self._lock:
            self._handlers = self._handlers + [entry]

        def remove() -> None:
            with self._lock:
                self._handlers = [h for h in self._handlers if h is not entry]

        return remove

    def _ensure_notify_thread(self) -> None:
        if self._notify_thread is not None:
            return
        with self._lock:
            if self._notify_thread is None and not self._closed:
                self._notify_thread = threading.Thread(target=self._run_handlers, name="mcp-sync-notify", daemon=True)
                self._notify_thread.start()

    def _run_handlers(self) -> None:
        while True:
            message = self._notify_queue.get()
            if message is None:
                return
            for method, handler in self._handlers:
                if method is None or method == message.get("method"):
                    try:
                        handler(message)
                    except Exception:
                        log.exception("notification handler %r failed", handler)

    # ------------------------------------------------------------------ failures

    def fail(self, pending: Pending, exc: BaseException) -> None:
        """A transport lost one request (its response stream broke)."""
        if not pending.done:
            pending.queue.put(exc)

    def transport_lost(self, exc: BaseException) -> None:
        """The transport died: wake every waiter at once with the cause."""
        log.info("transport %s lost: %s", self.transport.name, exc)
        self.fail_all(exc)

    def fail_all(self, exc: BaseException) -> None:
        with self._lock:
            waiting = list(self._pending.values())
        for pending in waiting:
            pending.queue.put(exc)


def _versions(data: Any) -> List[str]:
    if not isinstance(data, dict):
        return []
    versions = data.get("supported", data.get("supportedVersions"))
    return [v for v in versions if isinstance(v, str)] if isinstance(versions, list) else []


def _key(value: Any) -> Any:
    """A JSON-RPC id usable as a dict key (ours are ints; anything unhashable matches nothing)."""
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


__all__ = ["Engine", "Pending", "ServerState", "is_modern"]
