"""What the no-person token providers share (client credentials, enterprise-managed
authorization, workload identity): find the authorization server, choose scopes, make one token
request when the server asks for a token, and ask again (or refresh) before the token expires."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence, Union

import requests

from ..errors import AuthError
from . import _discovery
from ._base import TokenAuth
from ._discovery import ServerMetadata
from ._token import ClientIdentity, choose_auth_method, token_request
from .dpop import DPoPKey

log = logging.getLogger("mcp_sync.auth")

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GrantAuth(TokenAuth):
    """Base of the providers that need no browser. Subclasses implement :meth:`_fetch`.

    :param identity: how the client authenticates at the MCP authorization server's token
        endpoint (None: not at all, e.g. workload identity).
    :param jwt_audience: ``aud`` of ``private_key_jwt`` assertions: ``"issuer"``,
        ``"token_endpoint"`` or an explicit value.
    """

    def __init__(self, identity: Optional[ClientIdentity], *, scopes: Optional[Sequence[str]] = None,
                 issuer: Optional[str] = None, jwt_audience: str = "issuer", server_url: Optional[str] = None,
                 session: Optional[requests.Session] = None, timeout: float = 30.0, max_step_up: int = 2,
                 dpop: Union[bool, DPoPKey, None] = None) -> None:
        super().__init__(server_url, session=session, timeout=timeout, max_step_up=max_step_up, dpop=dpop)
        self._identity = identity
        self.jwt_audience = jwt_audience
        self.scopes = list(scopes) if scopes else None
        self.issuer = issuer
        self._meta: Optional[ServerMetadata] = None
        self._resource: Optional[str] = None
        self._scope: Optional[str] = None

    def _obtain(self, challenge: Dict[str, str], sent: Optional[str], *, step_up: bool) -> None:
        assert self._server_url is not None
        prm = _discovery.protected_resource_metadata(self._http, self._server_url, challenge.get("resource_metadata"),
                                                     self.timeout)
        if prm is None:
            meta = _discovery.legacy_metadata(self._http, self._server_url, self.timeout, require_pkce=False)
        else:
            servers = prm["authorization_servers"]
            issuer = self.issuer if self.issuer in servers else servers[0]
            meta = _discovery.authorization_server_metadata(self._http, issuer, self.timeout, require_pkce=False)
        if self.issuer is None:
            self.issuer = meta.issuer
        elif meta.issuer != self.issuer:
            who = f"client {self._identity.client_id!r}" if self._identity and self._identity.client_id else "this client"
            raise AuthError(f"{who} is set up for {self.issuer}, but the server uses {meta.issuer}; "
                            "not sending credentials there")
        self._meta = meta
        self._resource = prm.get("resource") if prm else None
        challenged = (challenge.get("scope") or "").split()
        scopes = challenged or self.scopes or (prm or {}).get("scopes_supported") or []
        if step_up and self._scope:
            scopes = list(dict.fromkeys(self._scope.split() + list(scopes)))
        self._scope = " ".join(s for s in scopes if isinstance(s, str)) or None
        self._activate_dpop(meta)
        self._fetch()

    def _fetch(self) -> None:
        """Get a token into ``self._tokens`` with this provider's grant (lock held)."""
        raise NotImplementedError

    def _request_token(self, form: Dict[str, Any]) -> Dict[str, Any]:
        """A token request at the MCP authorization server, with ``resource`` (RFC 8707) and our
        client authentication added."""
        meta = self._meta
        assert meta is not None
        if not meta.legacy and self._resource:
            form.setdefault("resource", self._resource)
        identity = self._identity
        if identity is not None:
            identity.auth_method = choose_auth_method(meta.raw.get("token_endpoint_auth_methods_supported"),
                                                      has_secret=identity.client_secret is not None,
                                                      has_key=bool(identity.private_key),
                                                      registered=identity.auth_method or None)
        else:
            identity = ClientIdentity(client_id="", auth_method="none")
        audience = {"issuer": meta.issuer, "token_endpoint": meta.token_endpoint}.get(self.jwt_audience,
                                                                                      self.jwt_audience)
        return token_request(self._http, meta.token_endpoint, form, identity, jwt_audience=audience,
                             timeout=self.timeout, dpop=self._dpop)

    def _renew(self) -> None:
        if self._meta is None:
            return
        refresh = self._tokens.get("refresh_token") if self._tokens else None
        if refresh:
            try:
                fresh = self._request_token({"grant_type": "refresh_token", "refresh_token": refresh})
                fresh.setdefault("refresh_token", refresh)
                self._tokens = fresh
                return
            except AuthError as exc:
                log.info("refreshing failed (%s); asking for a new token", exc)
        self._fetch()
