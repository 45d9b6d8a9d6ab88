"""Streamable HTTP, both eras (spec digest §2.1 modern, §2.2 legacy).

Each request is one POST made by the caller's thread. A JSON reply is read right there; an SSE
reply is handed to a pooled reader thread, which delivers every message to the engine as it
arrives while the caller waits on its queue. Legacy servers also get the optional GET stream (its
own thread), ``Mcp-Session-Id``, resumption with ``Last-Event-ID`` and ``DELETE`` on close.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Optional, Set

import requests

from .._json import compact
from .._protocol import MCP_NAME_PARAMS, message_protocol_version
from .._sse import iter_sse
from .._threads import WorkerPool
from ..errors import ConnectionClosed, HTTPStatusError, MCPError, ProtocolError, RequestTimeout, RPCError
from ..timeouts import Timeout
from ._http import (
    HTTPTransport,
    OwnedStream,
    body_chunks,
    content_type,
    decode_json,
    map_request_error,
    read_body,
    status_error,
)
from .base import SessionExpired

if TYPE_CHECKING:  # pragma: no cover
    from .._engine import Pending

log = logging.getLogger("mcp_sync.http")

ACCEPT_BOTH = "application/json, text/event-stream"
#: Resumption: reconnect attempts in a row without receiving an event, and the backoff cap.
MAX_RECONNECTS = 5
#: How long connecting waits for the legacy GET stream to be established, at most.
GET_READY_WAIT = 2.0
BACKOFF_CAP = 30.0


def encode_header_value(value: str) -> str:
    """The spec's header value encoding (§2.1): plain when safe, else ``=?base64?...?=``."""
    import base64

    safe = value.isascii() and value == value.strip() and all(32 <= ord(c) < 127 for c in value)
    if safe and not (value.startswith("=?base64?") and value.endswith("?=")):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


class StreamableHTTPTransport(HTTPTransport):
    name = "streamable-http"
    cancel_by_abort = True

    def __init__(self, url: str, *, get_stream: bool = True, **options: Any) -> None:
        super().__init__(url, **options)
        self.want_get_stream = get_stream
        self._get_ready: Optional[threading.Event] = None
        self.session_id: Optional[str] = None
        self._streams: Set[OwnedStream] = set()
        self._readers: Optional[WorkerPool] = None
        self._get_thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ lifecycle

    def open(self, timeout: Timeout) -> None:
        self.timeout = timeout
        self.session_id = None
        self.protocol_version = None
        self._closing.clear()
        self._alive = True

    def on_initialized(self) -> None:
        self._get_ready = None
        if self.want_get_stream:
            self._get_ready = threading.Event()
            self._get_thread = threading.Thread(target=self._run_get_stream, args=(self._get_ready,),
                                                name="mcp-sync-reader-get", daemon=True)
            self._get_thread.start()

    def settle(self) -> None:
        # Wait (briefly) until the server has answered the GET, so that the stream is in place
        # before our first request: otherwise a server may pick the late GET, not the request's
        # own stream or its resumption, for messages it sends in the meantime.
        if self._get_ready is not None:
            self._get_ready.wait(min(self.timeout.connect, GET_READY_WAIT))

    def reset(self) -> None:
        self._stop(delete=False)

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections without touching them (shutting
        down a socket shared with the parent would break its calls; a pooled keep-alive
        connection used by both would interleave their bytes). The next call connects afresh,
        with a new legacy session of the child's own."""
        self._forget_connections()
        self._streams = set()
        self._readers = None
        self._get_thread = None
        self.session_id = None

    def close(self) -> None:
        self._stop(delete=True)
        self._close_session()

    def _stop(self, delete: bool) -> None:
        self._closing.set()
        self._alive = False
        with self._lock:
            streams = list(self._streams)
            self._streams.clear()
        for stream in streams:
            stream.abort()
        self._wake_blocked_posts()
        if delete and self.session_id:
            # End the legacy session (a 405 means the server does not allow it: fine).
            try:
                self.http.delete(self.url, headers=self._headers(None, accept=None), auth=self.auth,
                                 timeout=(self.timeout.connect, 2.0))
            except requests.RequestException as exc:
                log.debug("DELETE of the session failed: %r", exc)
        self.session_id = None
        thread, self._get_thread = self._get_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        readers, self._readers = self._readers, None
        if readers is not None:
            readers.close()

    # ------------------------------------------------------------------ sending

    def _headers(self, message: Optional[Dict[str, Any]], accept: Optional[str] = ACCEPT_BOTH) -> Dict[str, str]:
        headers = dict(self.headers)
        if accept:
            headers["Accept"] = accept
        if message is not None:
            headers["Content-Type"] = "application/json"
        modern_version = message_protocol_version(message) if message is not None else None
        if modern_version:
            # 2026-07-28: the header must equal the request's _meta version; Mcp-Method on every
            # request and Mcp-Name where the spec names it.
            headers["MCP-Protocol-Version"] = modern_version
            method = message.get("method") if message else None
            if method:
                headers["Mcp-Method"] = method
                key = MCP_NAME_PARAMS.get(method)
                params = message.get("params") or {}
                if key and isinstance(params.get(key), str):
                    headers["Mcp-Name"] = encode_header_value(params[key])
                extra = getattr(getattr(self, "engine", None), "extra_headers", None)
                if extra is not None:
                    headers.update(extra(message))  # Mcp-Param-* from x-mcp-header arguments
        elif self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if self.session_id and not modern_version:
            headers["Mcp-Session-Id"] = self.session_id
        return headers

    def _post(self, message: Dict[str, Any], read_timeout: float) -> requests.Response:
        method = message.get("method")
        try:
            return self.http.post(self.url, data=compact(message), headers=self._headers(message), auth=self.auth,
                                  stream=True, timeout=(self.timeout.connect, read_timeout))
        except requests.RequestException as exc:
            if self._closing.is_set():
                raise ConnectionClosed("the client was closed", method=method) from exc
            raise map_request_error(exc, self.url, method) from exc

    def send_request(self, pending: "Pending", message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        method = message["method"]
        # Waiting for the reply's headers counts against the call's deadline: a JSON-reply server
        # sends nothing until the tool is done. Later socket reads are bounded the same way.
        read_timeout = max(0.01, min(timeout.read, deadline - time.monotonic()))
        had_session = self.session_id is not None
        try:
            response = self._post(message, read_timeout)
        except RequestTimeout as exc:
            if read_timeout >= timeout.read:
                raise RequestTimeout(f"{method}: the server sent nothing for {timeout.read:g}s (Timeout.read); "
                                     "the request was cancelled", method=method) from exc
            raise RequestTimeout(f"{method}: no response within {timeout.call:g}s; the request was cancelled",
                                 method=method) from exc
        if method == "initialize":
            self.session_id = response.headers.get("mcp-session-id") or None
        status = response.status_code
        if status >= 300:
            try:
                if status == 404 and had_session and not message_protocol_version(message):
                    raise SessionExpired(f"{method}: the server no longer knows session {self.session_id} (HTTP 404)",
                                         method=method)
                raise status_error(response, method)
            finally:
                response.close()
        kind = content_type(response)
        if kind == "application/json":
            try:
                payload = decode_json(read_body(response, self.max_message_size, method), "the JSON reply", method)
            finally:
                response.close()
            self.engine.deliver(payload, pending)
            return
        if kind == "text/event-stream":
            stream = pending.stream = OwnedStream(response)
            with self._lock:
                if self._closing.is_set():
                    stream.abort()
                    raise ConnectionClosed("the client was closed", method=method)
                self._streams.add(stream)
                if self._readers is None:
                    self._readers = WorkerPool("reader")
                readers = self._readers
            readers.submit(self._read_response_stream, stream, pending)
            return
        body = b""
        try:
            body = response.content[:200]
        except requests.RequestException:
            pass
        finally:
            response.close()
        if status == 202:
            raise ProtocolError(f"{method}: the server accepted the request (202) but sent no response", method=method)
        raise ProtocolError(f"{method}: expected a JSON or SSE reply, got HTTP {status} with content type "
                            f"{kind or 'none'}: {body.decode('utf-8', 'replace')!r}", method=method)

    def send_message(self, message: Dict[str, Any]) -> None:
        method = message.get("method") or "response"
        response = self._post(message, self.timeout.call)
        try:
            if response.status_code >= 300:
                if response.status_code == 404 and self.session_id:
                    raise SessionExpired(f"{method}: the session has ended (HTTP 404)", method=method)
                raise status_error(response, method)
            if content_type(response) == "application/json" and method == "response":
                pass  # some servers answer a posted response with JSON; nothing to do
        finally:
            response.close()

    def abort(self, pending: "Pending") -> None:
        stream = pending.stream
        if stream is not None:
            pending.stream = None
            with self._lock:
                self._streams.discard(stream)
            stream.abort()

    # ------------------------------------------------------------------ reading streams

    def _read_response_stream(self, stream: OwnedStream, pending: "Pending") -> None:
        """Deliver every event of a POST's SSE reply; resume with GET + Last-Event-ID (legacy)
        when the stream ends before the response."""
        state = _StreamState()
        attempts = 0
        try:
            while True:
                error = self._pump(stream.response, pending, state)
                if state.answered or pending.done or self._closing.is_set():
                    return
                if isinstance(error, RequestTimeout):
                    # A stream silent beyond Timeout.read is dead, not paused: close and report it.
                    self.engine.fail(pending, RequestTimeout(
                        f"{pending.method}: the response stream sent nothing for {self.timeout.read:g}s "
                        "(Timeout.read); it was closed", method=pending.method))
                    return
                if state.last_id is None or attempts >= MAX_RECONNECTS or self.protocol_version is None:
                    cause = f": {error}" if error else ""
                    lost = ConnectionClosed(
                        f"{pending.method}: the response stream ended before the response{cause}", method=pending.method)
                    lost.retryable = True  # type: ignore[attr-defined]
                    self.engine.fail(pending, lost)
                    return
                attempts = 0 if state.progressed else attempts + 1
                state.progressed = False
                if self._closing.wait(_delay(state.retry_ms, attempts)):
                    return
                with self._lock:
                    self._streams.discard(stream)
                stream.finish()
                try:
                    stream = self._resume(state.last_id, pending)
                except MCPError as exc:
                    self.engine.fail(pending, exc)
                    return
        finally:
            with self._lock:
                self._streams.discard(stream)
            stream.finish()

    def _resume(self, last_event_id: str, pending: "Pending") -> OwnedStream:
        log.debug("resuming the stream of request %s after event %s", pending.id, last_event_id)
        headers = self._headers(None, accept="text/event-stream")
        headers["Last-Event-ID"] = last_event_id
        try:
            response = self.http.get(self.url, headers=headers, auth=self.auth, stream=True,
                                     timeout=(self.timeout.connect, self.timeout.read))
        except requests.RequestException as exc:
            raise map_request_error(exc, self.url, pending.method) from exc
        if response.status_code != 200 or content_type(response) != "text/event-stream":
            err = status_error(response, pending.method) if response.status_code >= 300 else ProtocolError(
                f"{pending.method}: resuming the stream got HTTP {response.status_code} {content_type(response)}")
            response.close()
            raise err
        stream = pending.stream = OwnedStream(response)
        with self._lock:
            self._streams.add(stream)
        return stream

    def _pump(self, response: requests.Response, pending: Optional["Pending"],
              state: "_StreamState") -> Optional[BaseException]:
        """Read one HTTP response's events until it ends; return why it ended, if by error."""
        try:
            for event in iter_sse(body_chunks(response), self.max_message_size):
                if event.id is not None:
                    state.last_id = event.id
                if event.retry is not None:
                    state.retry_ms = event.retry
                state.progressed = True
                if not event.data:
                    continue  # priming events and keep-alives
                if event.event != "message":
                    log.debug("ignoring SSE event of type %r", event.event)
                    continue
                try:
                    message = decode_json(event.data, "an SSE message")
                except ProtocolError as exc:
                    if pending is not None:
                        self.engine.fail(pending, exc)
                        state.answered = True
                        return None
                    log.warning("%s", exc)
                    continue
                self.engine.deliver(message, pending)
                if pending is not None and isinstance(message, dict) and message.get("id") == pending.id and (
                        "result" in message or "error" in message):
                    state.answered = True
        except ProtocolError as exc:
            if pending is not None:
                self.engine.fail(pending, exc)
                state.answered = True
                return None
            return exc
        except (requests.RequestException, OSError, ValueError) as exc:
            if pending is not None and pending.done:
                return None
            return map_request_error(exc, self.url, None) if isinstance(exc, requests.RequestException) else exc
        except Exception as exc:  # urllib3 errors raised through iter_content
            return exc
        return None

    def _run_get_stream(self, ready: threading.Event) -> None:
        """The optional legacy GET stream for server-initiated messages (§2.2)."""
        try:
            self._get_stream_loop(ready)
        finally:
            ready.set()

    def _get_stream_loop(self, ready: threading.Event) -> None:
        state = _StreamState()
        failures = 0
        while not self._closing.is_set():
            headers = self._headers(None, accept="text/event-stream")
            if state.last_id is not None:
                headers["Last-Event-ID"] = state.last_id
            try:
                response = self.http.get(self.url, headers=headers, auth=self.auth, stream=True,
                                         timeout=(self.timeout.connect, self.timeout.read))
            except requests.RequestException as exc:
                failures += 1
                log.debug("GET stream failed: %r", exc)
                if failures > MAX_RECONNECTS or self._closing.wait(_delay(state.retry_ms, failures)):
                    return
                continue
            if response.status_code != 200 or content_type(response) != "text/event-stream":
                level = logging.DEBUG if response.status_code in (405, 404, 400) else logging.WARNING
                log.log(level, "the server offers no GET stream (HTTP %s)", response.status_code)
                response.close()
                return
            stream = OwnedStream(response)
            with self._lock:
                if self._closing.is_set():
                    stream.abort()
                    return
                self._streams.add(stream)
            ready.set()
            opened = time.monotonic()
            try:
                self._pump(response, None, state)
            finally:
                with self._lock:
                    self._streams.discard(stream)
                stream.finish()
            # A quiet stream that lived (until the read timeout, say) was healthy: reconnect
            # without counting it; only streams that die at once add up to giving up.
            lived = time.monotonic() - opened >= min(5.0, self.timeout.read)
            failures = 0 if state.progressed or lived else failures + 1
            state.progressed = False
            if failures > MAX_RECONNECTS or self._closing.wait(_delay(state.retry_ms, failures)):
                return

    # ------------------------------------------------------------------ detection

    def is_legacy_verdict(self, error: BaseException) -> bool:
        # A session-requiring legacy server answers a session-less modern POST with 400/404/405
        # and no modern JSON-RPC body (§2.5). Network errors are never a verdict.
        if isinstance(error, HTTPStatusError):
            return error.status_code in (400, 404, 405, 406, 415, 422)
        if isinstance(error, RPCError):
            return True
        return isinstance(error, ProtocolError)


class _StreamState:
    __slots__ = ("last_id", "retry_ms", "answered", "progressed")

    def __init__(self) -> None:
        self.last_id: Optional[str] = None
        self.retry_ms: Optional[int] = None
        self.answered = False
        self.progressed = False


def _delay(retry_ms: Optional[int], attempt: int) -> float:
    """The server's ``retry:`` when it sent one; else exponential backoff with jitter, capped."""
    if retry_ms is not None:
        return retry_ms / 1000.0
    base = min(BACKOFF_CAP, 0.5 * (2 ** max(0, attempt - 1)))
    return base * (0.5 + random.random() / 2)
