"""How the person who logs in is sent to the authorization server, and how the redirect comes
back. Each interaction gives the flow a ``redirect_uri`` and turns an authorization URL into the
URL the authorization server redirected to (``...?code=...&state=...``).

- :class:`BrowserLogin` (default): open the system browser; a one-shot listener on
  ``127.0.0.1`` receives the redirect.
- :class:`PasteLogin`: headless; show the URL, read the pasted redirect URL.
- :class:`CallbackLogin`: a web app (Flask, Django) sends its user to the URL itself and hands
  the redirect it received to :meth:`CallbackLogin.deliver`.
- :class:`AutoApprove`: for authorization servers that approve without a person (tests, the
  conformance suite, trusted internal servers): fetch the URL and read the redirect.
"""
from __future__ import annotations

import abc
import logging
import queue
import re
import sys
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable, Optional
from urllib.parse import urljoin, urlsplit

import requests

from ..errors import AuthError
from ._urls import check_url

log = logging.getLogger("mcp_sync.auth")

DEFAULT_LOGIN_TIMEOUT = 300.0


class Interaction(abc.ABC):
    """Base class. :meth:`prepare` is called before the authorization URL is built (it may be
    given the redirect URI a stored registration used), :meth:`authorize` once per login, and
    :meth:`close` after every attempt."""

    timeout: float = DEFAULT_LOGIN_TIMEOUT

    @abc.abstractmethod
    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        """Return the redirect URI this login will use."""

    @abc.abstractmethod
    def authorize(self, url: str) -> str:
        """Send the user to ``url``; return the URL the authorization server redirected to."""

    def close(self) -> None:
        """Release whatever :meth:`prepare` set up."""


# ---------------------------------------------------------------- browser + loopback listener

_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>Signed in</title>"
              b"<p>Authorization finished. You can close this window.</p>")


class _OneShotServer(HTTPServer):
    callback_path = "/callback"
    received: Optional[str] = None

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        log.debug("error serving the OAuth redirect", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _OneShotServer
    # Connections are served one at a time, and browsers open speculative ones they may never
    # use: an idle connection is dropped after this many seconds, not waited on for ever.
    timeout = 2.0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path != self.server.callback_path or self.server.received is not None:
            self.send_error(404)
            return
        host = self.server.server_address[0]
        self.server.received = f"http://{host}:{self.server.server_address[1]}{self.path}"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DONE_PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(_DONE_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        # Not to stderr, and without the query: the request line carries the authorization code.
        log.debug("loopback listener: %s", re.sub(r"\?\S*", "?...", format % args))


class BrowserLogin(Interaction):
    """Open the system browser and receive the redirect on ``http://127.0.0.1:<port>/callback``.

    :param port: 0 (default) picks a free port, or reuses the port of a stored registration.
    :param open_browser: set False to only log (and ``show``) the URL, e.g. over SSH with port
        forwarding.
    :param show: called with the URL as well (default: write it to stderr, in case no browser opens).
    :param timeout: seconds to wait for the redirect.
    """

    def __init__(self, *, port: int = 0, path: str = "/callback", open_browser: bool = True,
                 show: Optional[Callable[[str], None]] = None, timeout: float = DEFAULT_LOGIN_TIMEOUT) -> None:
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self.open_browser = open_browser
        self.show = show if show is not None else _to_stderr
        self.timeout = timeout
        self._server: Optional[_OneShotServer] = None

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        self.close()
        ports = [self.port]
        if not self.port and preferred_redirect_uri:
            parts = urlsplit(preferred_redirect_uri)
            if parts.hostname == "127.0.0.1" and parts.port and parts.path == self.path:
                ports.insert(0, parts.port)  # keep a registered redirect URI valid across runs
        for port in ports:
            try:
                server = _OneShotServer(("127.0.0.1", port), _Handler)
            except OSError:
                if port == ports[-1]:
                    raise AuthError(f"cannot listen on 127.0.0.1:{port} for the OAuth redirect") from None
                continue
            server.callback_path = self.path
            self._server = server
            break
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def authorize(self, url: str) -> str:
        server = self._server
        if server is None:
            raise AuthError("BrowserLogin.authorize() called before prepare()")
        check_url(url, "authorization URL")
        self.show(url)
        if self.open_browser:
            try:
                webbrowser.open(url)  # never through a shell
            except Exception as exc:  # no browser: the URL was shown
                log.info("could not open a browser: %s", exc)
        deadline = time.monotonic() + self.timeout
        try:
            while server.received is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AuthError(f"no OAuth redirect arrived within {self.timeout:g}s")
                server.timeout = min(left, 1.0)
                server.handle_request()
            return server.received
        finally:
            self.close()

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.server_close()

    def __repr__(self) -> str:
        return f"BrowserLogin(port={self.port}, timeout={self.timeout:g})"


def _to_stderr(url: str) -> None:
    sys.stderr.write(f"\nTo authorize, open this URL in a browser:\n\n    {url}\n\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- headless: paste the redirect

class PasteLogin(Interaction):
    """Headless: show the authorization URL and read the URL the browser was redirected to (it
    fails to load on a machine without a listener; copy it from the address bar).

    :param redirect_uri: registered redirect URI (a loopback URL nothing needs to listen on).
    :param show: called with the URL (default: write to stderr).
    :param read: returns the pasted URL (default: a prompt on stderr, then a line from stdin).
    :param timeout: how long the default reader waits for the paste, in seconds. (A notebook's
        stdin has no file descriptor to wait on; there the prompt waits as ``input()`` does.)
    """

    def __init__(self, *, redirect_uri: str = "http://127.0.0.1:8976/callback",
                 show: Optional[Callable[[str], None]] = None, read: Optional[Callable[[], str]] = None,
                 timeout: float = DEFAULT_LOGIN_TIMEOUT) -> None:
        self.redirect_uri = check_url(redirect_uri, "redirect_uri")
        self.show = show if show is not None else _to_stderr
        self.read = read if read is not None else self._read_stdin
        self.timeout = timeout

    def _read_stdin(self) -> str:
        prompt = "Paste the URL you were redirected to: "
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):  # Jupyter: input() shows its own box
            return input(prompt)
        import select

        sys.stderr.write(prompt)
        sys.stderr.flush()
        ready, _, _ = select.select([fd], [], [], self.timeout)
        if not ready:
            raise AuthError(f"no redirect URL was pasted within {self.timeout:g}s")
        return sys.stdin.readline()

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        return self.redirect_uri

    def authorize(self, url: str) -> str:
        check_url(url, "authorization URL")
        self.show(url)
        pasted = (self.read() or "").strip()
        if not pasted:
            raise AuthError("no redirect URL was pasted")
        return pasted

    def __repr__(self) -> str:
        return f"PasteLogin(redirect_uri={self.redirect_uri!r})"


# ---------------------------------------------------------------- web apps drive the redirect

class CallbackLogin(Interaction):
    """For web apps: ``send_user_to(url)`` is called with the authorization URL (redirect the
    user there, e.g. from a Flask view); the route serving ``redirect_uri`` passes the full
    request URL to :meth:`deliver`. The thread that needs the token waits up to ``timeout``.
    """

    def __init__(self, redirect_uri: str, send_user_to: Callable[[str], None], *,
                 timeout: float = DEFAULT_LOGIN_TIMEOUT) -> None:
        self.redirect_uri = check_url(redirect_uri, "redirect_uri")
        self.send_user_to = send_user_to
        self.timeout = timeout
        self._arrived: "queue.Queue[str]" = queue.Queue(maxsize=1)

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        while not self._arrived.empty():  # a stale redirect from an abandoned login
            self._arrived.get_nowait()
        return self.redirect_uri

    def authorize(self, url: str) -> str:
        check_url(url, "authorization URL")
        self.send_user_to(url)
        try:
            return self._arrived.get(timeout=self.timeout)
        except queue.Empty:
            raise AuthError(f"no OAuth redirect was delivered within {self.timeout:g}s") from None

    def deliver(self, callback_url: str) -> None:
        """Hand over the URL the authorization server redirected the user to."""
        try:
            self._arrived.put_nowait(callback_url)
        except queue.Full:
            log.warning("ignoring a second OAuth redirect for the same login")

    def __repr__(self) -> str:
        return f"CallbackLogin(redirect_uri={self.redirect_uri!r})"


# ---------------------------------------------------------------- no person at all

class AutoApprove(Interaction):
    """Fetch the authorization URL and follow the authorization server's own redirects (at most
    ``max_hops``, each URL checked) until one points at ``redirect_uri``. Only for servers that
    approve without a login page: tests, the conformance suite, trusted internal servers."""

    def __init__(self, *, redirect_uri: str = "http://127.0.0.1:8976/callback",
                 session: Optional[requests.Session] = None, timeout: float = 30.0, max_hops: int = 5) -> None:
        self.redirect_uri = check_url(redirect_uri, "redirect_uri")
        self.session = session
        self.timeout = timeout
        self.max_hops = max_hops

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        return self.redirect_uri

    def authorize(self, url: str) -> str:
        http = self.session or requests.Session()
        try:
            for _ in range(self.max_hops):
                check_url(url, "authorization URL")
                response = http.get(url, allow_redirects=False, timeout=self.timeout)
                response.close()
                location = response.headers.get("location")
                if response.status_code not in (301, 302, 303, 307, 308) or not location:
                    raise AuthError(f"the authorization server answered HTTP {response.status_code} "
                                    "instead of redirecting")
                target = urljoin(url, location)
                if target.split("?", 1)[0] == self.redirect_uri.split("?", 1)[0]:
                    return target
                url = target
        except requests.RequestException as exc:
            raise AuthError(f"the authorization request failed: {exc}") from exc
        finally:
            if self.session is None:
                http.close()
        raise AuthError(f"no redirect to {self.redirect_uri} within {self.max_hops} hops")

    def __repr__(self) -> str:
        return f"AutoApprove(redirect_uri={self.redirect_uri!r})"

