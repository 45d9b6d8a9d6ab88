"""The legacy HTTP+SSE transport (2024-11-05; spec digest §2.3).

One GET stream, held by a reader thread, carries every server-to-client message. Its first
``endpoint`` event names the URL that every client message is POSTed to (answered ``202``); the
replies come back on the stream and are routed by id. Losing the stream loses the connection: every
pending call fails at once with the cause, and the engine opens a new stream (and a new
``initialize``) on the next call.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Optional
from urllib.parse import urljoin, urlsplit

import requests

from .._json import compact
from .._sse import iter_sse
from ..errors import ConnectError, ConnectionClosed, ConnectTimeout, MCPError, ProtocolError, RequestTimeout
from ..timeouts import Timeout
from ._http import (
    HTTPTransport,
    body_chunks,
    content_type,
    decode_json,
    map_request_error,
    shutdown,
    status_error,
)
from .base import SessionExpired

if TYPE_CHECKING:  # pragma: no cover
    from .._engine import Pending

log = logging.getLogger("mcp_sync.sse")


class SSETransport(HTTPTransport):
    """HTTP+SSE: ``GET url`` for the stream, ``POST <endpoint>`` for each message."""

    name = "sse"
    #: 2024-11-05 servers speak only the ``initialize`` handshake; no ``server/discover`` probe.
    legacy_only = True

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.endpoint: Optional[str] = None
        self._ready = threading.Event()
        self._stream: Optional[requests.Response] = None
        self._reader: Optional[threading.Thread] = None
        self._open_error: Optional[MCPError] = None

    # ------------------------------------------------------------------ lifecycle

    def open(self, timeout: Timeout) -> None:
        self.timeout = timeout
        self.endpoint = None
        self.protocol_version = None
        self._open_error = None
        self._closing.clear()
        self._ready.clear()
        headers = dict(self.headers)
        headers["Accept"] = "text/event-stream"
        headers["Cache-Control"] = "no-store"
        try:
            response = self.http.get(self.url, headers=headers, auth=self.auth, stream=True,
                                     timeout=(timeout.connect, timeout.read))
        except requests.RequestException as exc:
            raise map_request_error(exc, self.url, None) from exc
        if response.status_code != 200:
            try:
                raise status_error(response, None)
            finally:
                response.close()
        if content_type(response) != "text/event-stream":
            kind = content_type(response) or "none"
            response.close()
            raise ProtocolError(f"GET {self.url} answered with content type {kind}, not an SSE stream")
        with self._lock:
            self._stream = response
        self._alive = True
        self._reader = threading.Thread(target=self._read, args=(response,), name="mcp-sync-reader-sse", daemon=True)
        self._reader.start()
        # The endpoint event is the server's first; a server that never sends it is not HTTP+SSE.
        if not self._ready.wait(timeout.connect):
            self._stop()
            raise ConnectTimeout(f"GET {self.url}: no 'endpoint' event within {timeout.connect:g}s")
        if self._open_error is not None:
            self._stop()
            raise self._open_error
        log.debug("HTTP+SSE stream open at %s; posting to %s", self.url, self.endpoint)

    def reset(self) -> None:
        self._stop()

    def close(self) -> None:
        self._stop()
        self._close_session()

    def after_fork(self) -> None:
        """In a forked child: drop the parent's stream and connections without touching them;
        the next call opens a stream (and a session) of the child's own."""
        self._forget_connections()
        self._ready = threading.Event()
        self._stream = None
        self._reader = None
        self.endpoint = None

    def _stop(self) -> None:
        self._closing.set()
        self._alive = False
        with self._lock:
            stream, self._stream = self._stream, None
        shutdown(stream)
        self._wake_blocked_posts()  # a server that stopped reading never answers a POST
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(2.0)
        self.endpoint = None

    def describe(self) -> str:
        return f"sse {self.url}"

    # ------------------------------------------------------------------ reading the stream

    def _read(self, response: requests.Response) -> None:
        cause = "the server closed it"
        try:
            for event in iter_sse(body_chunks(response), self.max_message_size):
                if self._closing.is_set():
                    return
                if event.event == "endpoint":
                    self._on_endpoint(event.data)
                    continue
                if not event.data.strip():
                    continue  # keep-alive
                if event.event != "message":
                    log.debug("ignoring SSE event of type %r", event.event)
                    continue
                try:
                    message = decode_json(event.data, "an SSE message")
                except ProtocolError as exc:
                    log.warning("%s", exc)  # nothing to route it to
                    continue
                self.engine.deliver(message)
        except ProtocolError as exc:
            cause = str(exc)
        except requests.RequestException as exc:
            cause = str(map_request_error(exc, self.url, None))
        except Exception as exc:  # urllib3 errors raised through iter_content; socket errors
            cause = repr(exc)
        finally:
            shutdown(response)
        if self._closing.is_set():
            return
        self._alive = False
        error = ConnectionClosed(f"the HTTP+SSE stream from {self.url} ended: {cause}")
        if not self._ready.is_set():
            self._open_error = ConnectError(f"GET {self.url}: the stream ended before the 'endpoint' event ({cause})")
            self._ready.set()
            return
        self.engine.transport_lost(error)

    def _on_endpoint(self, data: str) -> None:
        if self._ready.is_set():
            log.debug("ignoring a second 'endpoint' event: %r", data)
            return
        endpoint = urljoin(self.url, data.strip())
        ours, theirs = urlsplit(self.url), urlsplit(endpoint)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            # Posting our messages (and credentials) to a host the user never named is not done.
            self._open_error = ProtocolError(
                f"GET {self.url}: the server's endpoint {endpoint!r} is on another origin; refusing it")
        else:
            self.endpoint = endpoint
        self._ready.set()

    # ------------------------------------------------------------------ sending

    def _post(self, message: Dict[str, Any], read_timeout: float) -> None:
        method = message.get("method") or "response"
        endpoint = self.endpoint
        if not self._alive or endpoint is None:
            raise ConnectionClosed(f"{method}: the HTTP+SSE stream from {self.url} is closed", method=method)
        headers = dict(self.headers)
        headers["Content-Type"] = "application/json"
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        try:
            response = self.http.post(endpoint, data=compact(message), headers=headers, auth=self.auth,
                                      timeout=(self.timeout.connect, read_timeout))
        except requests.RequestException as exc:
            if self._closing.is_set():
                raise ConnectionClosed("the client was closed", method=method) from exc
            raise map_request_error(exc, endpoint, method) from exc
        try:
            if response.status_code >= 300:
                if response.status_code == 404 and self.protocol_version:
                    # The server forgot our session (it restarted; our stream may not have noticed
                    # yet). It never took the message: the engine opens a new session and re-sends.
                    self._alive = False
                    raise SessionExpired(f"{method}: the server no longer knows our HTTP+SSE session "
                                         f"(HTTP 404 from {endpoint})", method=method)
                raise status_error(response, method)
            if content_type(response) == "application/json" and response.content.strip():
                # Not the protocol, but some servers answer the POST itself; take the reply.
                self.engine.deliver(decode_json(response.content, "the POST reply", method))
        finally:
            response.close()

    def send_request(self, pending: "Pending", message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        read_timeout = max(0.01, min(timeout.read, deadline - time.monotonic()))
        try:
            self._post(message, read_timeout)
        except RequestTimeout as exc:
            raise RequestTimeout(f"{pending.method}: the server did not accept the request within "
                                 f"{read_timeout:g}s", method=pending.method) from exc

    def send_message(self, message: Dict[str, Any]) -> None:
        self._post(message, self.timeout.call)

    # ------------------------------------------------------------------ detection

    def is_legacy_verdict(self, error: BaseException) -> bool:
        from ..errors import RPCError

        return isinstance(error, (RPCError, RequestTimeout))
