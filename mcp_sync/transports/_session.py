"""The ``requests.Session`` mcp_sync makes for itself (a session you pass in is used as it is).

Two things differ from a plain ``requests.Session``:

- a :class:`TrackingAdapter`, so ``close()`` can wake a thread blocked waiting for a reply;
- the environment (proxy variables, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, ``~/.netrc``) is
  read once per server origin, not on every request. ``requests`` scans every environment
  variable and stats the netrc files for each request: with a JSON-RPC call per request that was
  the largest share of the client's CPU time per call.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Dict, Optional, Tuple

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies, get_netrc_auth, urlparse

#: Origins whose environment settings a session remembers (a client talks to one or two).
MAX_ORIGINS = 32


class TrackingAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` that remembers its live connections, so :meth:`shutdown_all` can wake a
    thread blocked waiting for a reply (the only way to interrupt a blocking ``recv``).

    Used for the session mcp_sync creates itself; a session you pass in keeps its own adapters.
    The pool is sized for many threads sharing one client.
    """

    def __init__(self, pool_maxsize: int = 64) -> None:
        import weakref

        self._live: "weakref.WeakSet[Any]" = weakref.WeakSet()
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        from urllib3.connection import HTTPConnection, HTTPSConnection
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        live = self._live

        class Conn(HTTPConnection):
            def connect(self) -> None:
                super().connect()
                live.add(self)

        class SConn(HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                live.add(self)

        class Pool(HTTPConnectionPool):
            ConnectionCls = Conn

        class SPool(HTTPSConnectionPool):
            ConnectionCls = SConn

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SPool}

    def __getstate__(self) -> Dict[str, Any]:  # requests pickles adapters; a WeakSet cannot be
        state = super().__getstate__()
        state.pop("_live", None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        import weakref

        self._live = weakref.WeakSet()
        super().__setstate__(state)

    def shutdown_all(self) -> None:
        import socket

        for conn in list(self._live):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class EnvironmentOnceSession(requests.Session):
    """A ``requests.Session`` that reads the environment once per origin (scheme, host, port).

    What is read is what ``requests`` itself would read for a request, and applied as it would,
    redirects included (with one difference: netrc credentials never replace an ``Authorization``
    header a redirected request still carries). ``requests``' own per-request reading is off
    (``trust_env`` is False); ``use_environment = False`` turns ours off as well.
    """

    def __init__(self) -> None:
        super().__init__()
        self.use_environment = True
        self.trust_env = False  # requests' own per-request reads; ours follow use_environment
        self._environment: Dict[Tuple[str, Optional[str]], Tuple[Dict[str, str], Any, Any]] = {}
        self._environment_lock = threading.Lock()

    __attrs__ = [*requests.Session.__attrs__, "use_environment"]  # what pickling keeps

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)
        self._environment = {}
        self._environment_lock = threading.Lock()

    def _from_environment(self, url: str, no_proxy: Optional[str]) -> Tuple[Dict[str, str], Any, Any]:
        """(proxies, CA bundle, netrc auth) for ``url``'s origin, as requests would find them."""
        parts = urlparse(url)
        key = (f"{parts.scheme}://{parts.netloc}", no_proxy)
        found = self._environment.get(key)
        if found is None:
            found = (get_environ_proxies(url, no_proxy=no_proxy),
                     os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"),
                     get_netrc_auth(url))
            with self._environment_lock:
                if len(self._environment) >= MAX_ORIGINS:
                    self._environment.clear()
                self._environment[key] = found
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.use_environment and not request.auth and not self.auth and request.url:
            request.auth = self._from_environment(request.url, None)[2]
        return super().prepare_request(request)

    # requests re-reads the environment for every redirect (trust_env); these use our cache.

    def rebuild_proxies(self, prepared_request: requests.PreparedRequest, proxies: Any) -> Dict[str, str]:
        if self.use_environment and prepared_request.url:
            proxies = dict(proxies or {})
            env_proxies = self._from_environment(prepared_request.url, proxies.get("no_proxy"))[0]
            for key, value in env_proxies.items():
                proxies.setdefault(key, value)
        return super().rebuild_proxies(prepared_request, proxies)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)  # drops Authorization on a new host
        # A DPoP proof is good for one request to one URL (RFC 9449): never replay it. Our OAuth
        # providers answer the server's refusal with a fresh proof.
        prepared_request.headers.pop("DPoP", None)
        if self.use_environment and prepared_request.url and "Authorization" not in prepared_request.headers:
            auth = self._from_environment(prepared_request.url, None)[2]
            if auth is not None:
                prepared_request.prepare_auth(auth)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Dict[str, Any]:
        if self.use_environment:
            no_proxy = proxies.get("no_proxy") if proxies is not None else None
            env_proxies, ca_bundle, _ = self._from_environment(url, no_proxy)
            if proxies is not None:
                for key, value in env_proxies.items():
                    proxies.setdefault(key, value)
            if verify is True or verify is None:
                verify = ca_bundle or verify
        return {"proxies": merge_setting(proxies, self.proxies), "stream": merge_setting(stream, self.stream),
                "verify": merge_setting(verify, self.verify), "cert": merge_setting(cert, self.cert)}


def new_session() -> requests.Session:
    session = EnvironmentOnceSession()
    adapter = TrackingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
