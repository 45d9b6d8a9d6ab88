"""What the HTTP transports share: the base class, auth, error mapping, JSON decoding, reading
and shutting down streams."""
from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import requests
from requests.auth import AuthBase

from .._json import loads
from ..errors import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    HTTPStatusError,
    MCPError,
    ProtocolError,
    RequestTimeout,
    RPCError,
)
from ..timeouts import Timeout
from ._session import TrackingAdapter, new_session
from .base import Transport

log = logging.getLogger("mcp_sync.http")

#: Largest JSON message accepted by default. Real tool results reach many MiB.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

AuthLike = Union[None, str, AuthBase]


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``. The token never appears in a repr or a log."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip() or any(c in token for c in "\r\n"):
            raise ValueError("a bearer token must be a non-empty single-line string")
        self._token = token.strip()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


def make_auth(auth: AuthLike) -> Optional[AuthBase]:
    if auth is None or isinstance(auth, AuthBase):
        return auth
    if isinstance(auth, str):
        return BearerAuth(auth)
    if callable(auth):
        return auth  # requests accepts any callable(PreparedRequest) -> PreparedRequest
    raise TypeError(f"auth must be a bearer-token string or a requests.auth.AuthBase, got {type(auth).__name__}")


def map_request_error(exc: requests.RequestException, url: str, method: Optional[str]) -> MCPError:
    """Translate a ``requests`` failure into ours, keeping the cause's text."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectTimeout(f"connecting to {url} timed out", method=method)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return RequestTimeout(f"{url} sent nothing within the read timeout", method=method)
    if isinstance(exc, requests.exceptions.ProxyError):
        return ConnectError(f"could not connect to {url} through its proxy (from HTTP_PROXY, HTTPS_PROXY or ALL_PROXY, "
                            f"or the session's proxies; NO_PROXY lists hosts reached directly): {_deepest(exc)}",
                            method=method)
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = _innermost(exc)
        if _chain_has(exc, ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError")):
            return ConnectError(f"could not connect to {url}: {reason}", method=method)
        if _chain_has(exc, ("ReadTimeoutError",)):  # requests wraps a stream's read timeout so
            return RequestTimeout(f"{url} sent nothing within the read timeout", method=method)
        closed = ConnectionClosed(f"the connection to {url} was lost: {reason}", method=method)
        closed.retryable = True  # type: ignore[attr-defined]  # lost in transit: a read may be re-sent
        return closed
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return ConnectError(f"invalid URL {url!r}: {exc}", method=method)
    closed = ConnectionClosed(f"HTTP request to {url} failed: {_innermost(exc)}", method=method)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):  # the body was cut short
        closed.retryable = True  # type: ignore[attr-defined]
    return closed


def _chain_has(exc: BaseException, names: Tuple[str, ...]) -> bool:
    """Whether an exception of one of ``names`` is somewhere in ``exc``'s causes (urllib3 nests)."""
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in names:
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            current = reason
            continue
        args = getattr(current, "args", ())
        nxt = next((a for a in args if isinstance(a, BaseException)), None)
        current = nxt or current.__cause__ or current.__context__
    return False


def _innermost(exc: BaseException) -> str:
    text = str(exc)
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, BaseException):
        text = str(reason)
    # urllib3 prefixes "<urllib3.connection.HTTPConnection object at 0x...>: "; keep what explains.
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text.strip("()'\" ") or type(exc).__name__


def _deepest(exc: BaseException) -> str:
    """The text of the last exception urllib3 nested in ``exc`` (e.g. the proxy's refusal)."""
    seen = {id(exc)}
    current = exc
    while True:
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None)
        if inner is None or id(inner) in seen:
            return str(current).strip("()'\" ") or type(current).__name__
        seen.add(id(inner))
        current = inner


def decode_json(data: Union[bytes, str], where: str, method: Optional[str] = None) -> Any:
    try:
        return loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply to parse
        snippet = data[:200] if isinstance(data, str) else data[:200].decode("utf-8", "replace")
        raise ProtocolError(f"{where} is not valid JSON ({exc}): {snippet!r}", method=method) from exc


def read_body(response: requests.Response, limit: int, method: Optional[str]) -> bytes:
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        response.close()
        raise ProtocolError(f"{method}: the {length}-byte response exceeds the {limit}-byte message limit",
                            method=method)
    try:
        data = response.content
    except requests.RequestException as exc:
        raise map_request_error(exc, response.url, method) from exc
    if len(data) > limit:
        raise ProtocolError(f"{method}: the response exceeds the {limit}-byte message limit", method=method)
    return data


def content_type(response: requests.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def status_error(response: requests.Response, method: Optional[str]) -> MCPError:
    """The error for a non-2xx answer: a JSON-RPC error body becomes an :class:`RPCError` (with
    ``http_status``); 401/403 an :class:`AuthError`; anything else an :class:`HTTPStatusError`."""
    status = response.status_code
    try:
        body = response.content[:65536]
    except requests.RequestException:
        body = b""
    text = body[:4096].decode("utf-8", "replace")
    err: MCPError
    if status in (401, 403):
        challenge = response.headers.get("www-authenticate", "")
        err = AuthError(f"{method or 'request'}: HTTP {status} from {response.url}"
                        f"{': ' + challenge if challenge else ''}", status_code=status, method=method)
        err.www_authenticate = challenge  # type: ignore[attr-defined]
        return err
    if content_type(response) == "application/json" and body:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            err = RPCError.from_error(payload["error"], method=method)
            err.http_status = status  # type: ignore[attr-defined]
            return err
    reason = response.reason or ""
    return HTTPStatusError(f"{method or 'request'}: HTTP {status} {reason} from {response.url}"
                           f"{': ' + text[:200] if text else ''}", status_code=status, body=text,
                           url=response.url, headers=dict(response.headers), method=method)


def shutdown(response: Optional[requests.Response]) -> None:
    """Wake a thread blocked reading ``response`` and release its connection."""
    if response is None:
        return
    raw = getattr(response, "raw", None)
    try:
        if raw is not None and hasattr(raw, "shutdown"):
            raw.shutdown()  # urllib3 >= 2.3: SHUT_RD wakes a blocked recv in another thread
    except Exception:  # already released or closed
        pass
    try:
        response.close()
    except Exception:
        pass


def body_chunks(response: requests.Response) -> Iterator[bytes]:
    """A streamed body as it arrives. ``iter_content(chunk_size=None)`` does that only for a
    chunked body; a stream without length or chunking (HTTP/1.0 style) would be read to its end
    first, so read whatever the socket has instead."""
    raw = response.raw
    if getattr(raw, "chunked", False) or not hasattr(raw, "read1"):
        yield from response.iter_content(chunk_size=None)
        return
    while True:
        data = raw.read1(65536, decode_content=True)
        if not data:
            return
        yield data


class HTTPTransport(Transport):
    """What the HTTP transports share: the ``requests`` session (ours, or the caller's, which we
    never close), extra headers, auth, the message size limit, and waking blocked POSTs."""

    def __init__(
        self,
        url: str,
        *,
        session: Optional[requests.Session] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: AuthLike = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.url = url
        self._own_session = session is None
        self.http = session if session is not None else new_session()
        self.headers = dict(headers or {})
        self.auth = make_auth(auth)
        self.max_message_size = max_message_size
        self.protocol_version: Optional[str] = None
        self.timeout = Timeout()
        self._alive = False
        self._closing = threading.Event()
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._alive

    def set_protocol_version(self, version: str) -> None:
        self.protocol_version = version

    def _wake_blocked_posts(self) -> None:
        """Shut down our session's sockets: a caller blocked waiting for a reply's headers has no
        stream to shut down yet. (A session you passed in keeps its adapters untouched.)"""
        if self._own_session:
            for adapter in set(self.http.adapters.values()):
                if isinstance(adapter, TrackingAdapter):
                    adapter.shutdown_all()

    def _close_session(self) -> None:
        if self._own_session:
            self.http.close()
        # Our OAuth providers keep connections to the authorization server open; only they can
        # be such an auth, and only once their module was imported.
        auth_base = sys.modules.get("mcp_sync.auth._base")
        if auth_base is not None and isinstance(self.auth, auth_base.TokenAuth):
            self.auth.close()

    def _forget_connections(self) -> None:
        """In a forked child: drop the parent's connections without touching them (shutting down
        a socket shared with the parent would break its calls; a pooled keep-alive connection used
        by both would interleave their bytes). Locks are new: the parent's may be held."""
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._alive = False
        self.protocol_version = None
        if self._own_session:
            self.http = new_session()  # dropping the old one closes only this process's copies of its fds
        else:
            for adapter in self.http.adapters.values():
                adapter.close()  # empties your session's pools in this process (close, no shutdown)


class OwnedStream:
    """A streamed response that one thread reads and any thread may abort.

    urllib3 returns a connection to its pool by itself when a body ends, inside the reader's read
    call. An abort from another thread just after that would shut down a socket that a new request
    may already be using, and urllib3's release racing ours could pool the connection twice. So the
    pool is hidden from urllib3: :meth:`finish` (the reader, once the body ended) returns the
    connection, once; :meth:`abort` discards it. Whichever comes first wins.
    """

    __slots__ = ("response", "_lock", "_state", "_pool")

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self._lock = threading.Lock()
        self._state = "reading"
        raw = response.raw
        self._pool = getattr(raw, "_pool", None)
        if self._pool is not None and hasattr(raw, "_connection"):
            raw._pool = None  # urllib3's release_conn() is now a no-op for this response
        else:
            self._pool = None  # another urllib3: fall back to its own release

    def finish(self) -> None:
        """The reader is done: a body read to its end gives its connection back to the pool."""
        with self._lock:
            if self._state != "reading":
                return
            self._state = "finished"
        raw = self.response.raw
        conn = getattr(raw, "_connection", None)
        if self._pool is not None and conn is not None and raw.closed:
            raw._connection = None
            self._pool._put_conn(conn)
            return
        shutdown(self.response)

    def abort(self) -> None:
        """Stop the reader (wakes a blocked read) and discard the connection."""
        with self._lock:
            if self._state != "reading":
                return
            self._state = "aborted"
        shutdown(self.response)
