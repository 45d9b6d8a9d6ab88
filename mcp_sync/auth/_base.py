"""The ``requests`` plumbing every token provider shares: the ``Authorization`` header on requests
to the MCP server's origin only, and a response hook that answers ``401`` (get a token, retry once)
and ``403 insufficient_scope`` (step up, retry, capped) on the same connection settings, so a
streamed request is retried as a streamed request. DPoP-bound tokens (:mod:`.dpop`) get a fresh
proof on every request, and a ``use_dpop_nonce`` challenge is answered by one retry with the
server's nonce. Subclasses only say how to get a token."""
from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import Any, Dict, Iterator, Optional, Tuple, Union
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar

from ..errors import AuthError
from . import dpop as _dpop
from ._discovery import ServerMetadata
from ._token import expired
from ._urls import origin, parse_challenges

log = logging.getLogger("mcp_sync.auth")

_STATE_ATTR = "_mcp_sync_auth_state"
#: The URL a request's DPoP proof was made for. requests copies the headers, not this, when it
#: follows a redirect: a redirected request then carries (or, through our own session, has
#: had stripped) a proof made for, and used at, the first URL.
_PROOF_FOR_ATTR = "_mcp_sync_dpop_proof_for"
#: Bytes of a 401/403 body read before the retry (the rest is discarded with the connection).
_DRAIN_LIMIT = 64 * 1024


class TokenAuth(AuthBase):
    """Base of :class:`~mcp_sync.auth.OAuth` and :class:`~mcp_sync.auth.ClientCredentials`.

    :param server_url: the MCP server's URL; by default, the URL of the first request made with
        this object. Tokens are only ever sent to this URL's origin.
    :param max_step_up: re-authorizations on ``403 insufficient_scope`` for one operation before
        the refusal is final.
    :param lock_timeout: how long a request waits for another thread's login to finish.
    :param dpop: DPoP-bound tokens (RFC 9449): ``None`` when a server asks for them, ``True``
        always, ``False`` never, or a :class:`~mcp_sync.auth.DPoPKey` to sign proofs with.
    """

    def __init__(self, server_url: Optional[str] = None, *, session: Optional[requests.Session] = None,
                 timeout: float = 30.0, max_step_up: int = 2, lock_timeout: float = 600.0,
                 dpop: Union[bool, "_dpop.DPoPKey", None] = None) -> None:
        self._server_url: Optional[str] = None
        self._origin: Optional[str] = None
        if server_url is not None:
            self._bind(server_url)
        self._own_http = session is None
        self._http = session if session is not None else requests.Session()
        self.timeout = timeout
        self.max_step_up = max_step_up
        self.lock_timeout = lock_timeout
        self._lock = threading.RLock()
        self._tokens: Optional[Dict[str, Any]] = None
        self._step_ups: Dict[Tuple[str, frozenset], int] = {}
        self._dpop_setting = dpop
        self._dpop: Optional[_dpop.DPoPSession] = None
        self._dpop_demanded = False  # the MCP server challenged with the DPoP scheme

    # ------------------------------------------------------------------ subclass interface

    def _obtain(self, challenge: Dict[str, str], sent: Optional[str], *, step_up: bool) -> None:
        """Get a new token into ``self._tokens`` (called with the lock held), or raise AuthError."""
        raise NotImplementedError

    def _renew(self) -> None:
        """Replace an expiring token before use, if possible without the server's help."""

    def _activate_dpop(self, meta: ServerMetadata) -> Optional[_dpop.DPoPSession]:
        """Decide on DPoP for token requests to ``meta``'s server (called with the lock held).
        The key is kept while it suits the server, so tokens bound to it stay usable."""
        advertised = meta.raw.get("dpop_signing_alg_values_supported")
        current = self._dpop
        if current is not None and self._dpop_setting is not False:
            if not isinstance(advertised, list) or not advertised or current.key.algorithm in advertised:
                return current
        key = _dpop.resolve(self._dpop_setting, advertised, demanded=self._dpop_demanded)
        self._dpop = _dpop.DPoPSession(key) if key is not None else None
        if key is not None:
            log.info("using DPoP-bound tokens (%s key %s)", key.algorithm, key.thumbprint)
        return self._dpop

    def _usable(self, tokens: Optional[Dict[str, Any]]) -> bool:
        """A DPoP-bound token is only usable with the key it is bound to (e.g. not after a restart
        with a fresh key)."""
        if not tokens or str(tokens.get("token_type", "Bearer")).lower() != "dpop":
            return bool(tokens)
        return self._dpop is not None and tokens.get("dpop_jkt") == self._dpop.key.thumbprint

    def close(self) -> None:
        """Close the connections kept open to the authorization server (a session you passed in
        is left alone). The object stays usable: a later token request connects again. A
        :class:`~mcp_sync.Client` calls this when it closes."""
        if self._own_http:
            self._http.close()

    @property
    def dpop_key(self) -> Optional[_dpop.DPoPKey]:
        """The key DPoP proofs are signed with (None while tokens are plain bearer tokens)."""
        return self._dpop.key if self._dpop is not None else None

    # ------------------------------------------------------------------ requests hooks

    @property
    def server_url(self) -> Optional[str]:
        return self._server_url

    @property
    def access_token(self) -> Optional[str]:
        """The current access token (None before the first login). Handle with care."""
        return self._tokens.get("access_token") if self._tokens else None

    def _bind(self, url: str) -> None:
        parts = urlsplit(url)
        self._server_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self._origin = origin(url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = request.url or ""
        if self._origin is None:
            with self._locked():
                if self._origin is None:
                    self._bind(url)
        if origin(url) != self._origin:
            log.debug("not sending the token to %s (another origin)", origin(url))
            return request
        self._authorize(request, self._token_for_use())
        body = request.body
        if hasattr(body, "seek") and hasattr(body, "tell"):
            setattr(request, "_mcp_sync_body_pos", body.tell())  # type: ignore[union-attr]
        request.register_hook("response", self._on_response)
        return request

    def _authorize(self, request: requests.PreparedRequest, tokens: Optional[Dict[str, Any]]) -> None:
        token = tokens.get("access_token") if tokens else None
        request.headers.pop("DPoP", None)  # a proof is never reused, not even on a retry
        if not token:
            return
        session = self._dpop
        if str(tokens.get("token_type", "")).lower() == "dpop":  # type: ignore[union-attr]
            if session is None or not self._usable(tokens):
                request.headers.pop("Authorization", None)  # bound to a key we no longer hold
                return
            request.headers["Authorization"] = f"DPoP {token}"
            request.headers["DPoP"] = session.proof(request.method or "GET", request.url or "", token)
            setattr(request, _PROOF_FOR_ATTR, request.url)
        else:
            request.headers["Authorization"] = f"Bearer {token}"

    def _token_for_use(self) -> Optional[Dict[str, Any]]:
        tokens = self._tokens
        if tokens and expired(tokens):
            with self._locked():
                if self._tokens and expired(self._tokens):
                    try:
                        self._renew()
                    except AuthError as exc:
                        log.info("could not renew the access token before use: %s", exc)
                tokens = self._tokens
        return tokens if tokens and tokens.get("access_token") else None

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        # Bounded: one 401 retry, one DPoP nonce retry, one fresh-proof retry after a redirect,
        # plus max_step_up 403 retries per request.
        for _ in range(4 + self.max_step_up):
            status = response.status_code
            if response.request is None or origin(response.request.url or "") != self._origin:
                # A redirect took the request elsewhere: its 401 is not ours to answer, and the
                # retry would carry our token there.
                return response
            session = self._dpop
            fresh_nonce = session.observe(response) if session is not None else False
            if status not in (401, 403):
                return response
            request = response.request
            state: Dict[str, int] = getattr(request, _STATE_ATTR, None) or {"401": 0, "403": 0, "nonce": 0}
            if _sent_scheme(request) == "dpop" and getattr(request, _PROOF_FOR_ATTR, None) != request.url:
                # A redirect's copy of our request: its proof was not made for this URL. Not the
                # token's fault; one retry with a proof of its own, rather than a new token.
                if state.get("proof", 0) >= 1:
                    return response
                state["proof"] = 1
                log.debug("retrying a redirected request with a DPoP proof for %s", request.url)
                response = self._resend(response, state, kwargs)
                continue
            if _dpop.nonce_challenge(response) and "DPoP" in request.headers:
                # RFC 9449 §9: the token is fine; the proof needs the server's nonce.
                if state.get("nonce", 0) >= 1 or not fresh_nonce:
                    return response
                state["nonce"] = state.get("nonce", 0) + 1
                log.debug("the MCP server wants a DPoP nonce; retrying with it")
                response = self._resend(response, state, kwargs)
                continue
            challenges = parse_challenges(response.headers.get("www-authenticate", ""))
            challenge = _pick_challenge(challenges, dpop="DPoP" in request.headers)
            if status == 401 and challenges and all(c.get("scheme") == "dpop" for c in challenges) \
                    and not self._dpop_demanded:
                self._dpop_demanded = True  # only DPoP is accepted here: use it even if the AS is silent
            if status == 403 and challenge.get("error") != "insufficient_scope":
                return response
            sent = _sent_token(request)
            if status == 401:
                if state["401"] >= 1:
                    return response
                state["401"] += 1
            else:
                key = (_operation(request), frozenset((challenge.get("scope") or "").split()))
                with self._locked():
                    tries = self._step_ups.get(key, 0)
                    if state["403"] >= self.max_step_up or tries >= self.max_step_up:
                        log.warning("giving up on insufficient_scope for %s after %d step-up(s)", key[0], tries)
                        return response
                    self._step_ups[key] = tries + 1
                state["403"] += 1
            try:
                with self._locked():
                    current = self.access_token
                    if not (current and current != sent):  # another thread may already have a new one
                        self._obtain(challenge, sent, step_up=status == 403)
            except BaseException:
                _discard(response)
                raise
            response = self._resend(response, state, kwargs)
        return response

    def _resend(self, response: requests.Response, state: Dict[str, int], kwargs: Dict[str, Any]) -> requests.Response:
        _discard(response)
        original = response.request
        prepared = original.copy()
        setattr(prepared, _STATE_ATTR, state)
        position = getattr(original, "_mcp_sync_body_pos", None)
        if position is not None:
            prepared.body.seek(position)  # type: ignore[union-attr]
            setattr(prepared, "_mcp_sync_body_pos", position)
        extract_cookies_to_jar(prepared._cookies, original, response.raw)  # type: ignore[attr-defined]
        prepared.prepare_cookies(prepared._cookies)  # type: ignore[attr-defined]
        prepared.headers.pop("Authorization", None)
        self._authorize(prepared, self._tokens)
        retried = response.connection.send(prepared, **kwargs)
        retried.history.append(response)
        retried.request = prepared
        return retried

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self.lock_timeout):
            raise AuthError(f"gave up waiting {self.lock_timeout:g}s for another thread's authorization")
        try:
            yield
        finally:
            self._lock.release()


def _sent_token(request: requests.PreparedRequest) -> Optional[str]:
    header = request.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "dpop") and token.strip() else None


def _sent_scheme(request: requests.PreparedRequest) -> str:
    return (request.headers.get("Authorization") or "").partition(" ")[0].lower()


def _pick_challenge(challenges: Any, *, dpop: bool) -> Dict[str, str]:
    """The challenge for the scheme in use: DPoP's when we sent a proof, else Bearer's, else any
    DPoP challenge (a server accepting only DPoP still names its metadata and scopes there)."""
    order = ("dpop", "bearer") if dpop else ("bearer", "dpop")
    for scheme in order:
        for challenge in challenges:
            if challenge.get("scheme") == scheme:
                return challenge
    return {}


def _operation(request: requests.PreparedRequest) -> str:
    """What a step-up counter is kept for: the JSON-RPC method (and tool name), else the URL."""
    body = request.body
    if isinstance(body, (bytes, str)) and len(body) < 1_000_000:
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if isinstance(message, dict) and isinstance(message.get("method"), str):
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            name = params.get("name") if isinstance(params.get("name"), str) else ""
            return f"{message['method']} {name}".strip()
    return f"{request.method} {request.url}"


def _discard(response: requests.Response) -> None:
    try:
        if not response._content_consumed:  # type: ignore[attr-defined]
            response.raw.read(_DRAIN_LIMIT, decode_content=False)
    except Exception:  # the connection is discarded below anyway
        pass
    response.close()
