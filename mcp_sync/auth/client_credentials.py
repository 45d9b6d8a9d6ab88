"""The client-credentials extension (``io.modelcontextprotocol/oauth-client-credentials``):
machine-to-machine access with no person present. The client is pre-registered and
authenticates with a secret or, preferably, a signed JWT (``private_key_jwt``, RFC 7523)."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Sequence

import requests

from ..errors import AuthError
from . import _discovery
from ._base import TokenAuth
from ._discovery import ServerMetadata
from ._token import ClientIdentity, choose_auth_method, token_request

log = logging.getLogger("mcp_sync.auth")

EXTENSION = "io.modelcontextprotocol/oauth-client-credentials"


class ClientCredentials(TokenAuth):
    """Get tokens with the ``client_credentials`` grant when the server asks for them, and
    replace them before they expire.

    :param client_id: the registered client.
    :param client_secret: its secret (``client_secret_basic``, or ``client_secret_post`` when that
        is all the server accepts).
    :param private_key: a PEM private key for ``private_key_jwt`` (needs ``mcp-sync[oauth]``).
    :param signing_algorithm: the JWT algorithm for the key, e.g. ``"RS256"`` or ``"ES256"``.
    :param jwt_audience: the assertion's ``aud``: ``"issuer"`` (default, RFC 7523bis),
        ``"token_endpoint"``, or an explicit value.
    :param scopes: scopes to ask for when the server's challenge names none.
    :param issuer: the authorization server the client is registered with; a server pointing
        elsewhere is refused instead of being sent these credentials.
    """

    def __init__(
        self,
        client_id: str,
        *,
        client_secret: Optional[str] = None,
        private_key: Optional[str] = None,
        signing_algorithm: str = "RS256",
        jwt_audience: str = "issuer",
        token_endpoint_auth_method: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
        issuer: Optional[str] = None,
        server_url: Optional[str] = None,
        session: Optional[requests.Session] = None,
        timeout: float = 30.0,
        max_step_up: int = 2,
    ) -> None:
        if client_secret is None and private_key is None:
            raise ValueError("ClientCredentials needs client_secret= or private_key=")
        super().__init__(server_url, session=session, timeout=timeout, max_step_up=max_step_up)
        self._identity = ClientIdentity(client_id=client_id, client_secret=client_secret, private_key=private_key,
                                        signing_algorithm=signing_algorithm,
                                        auth_method=token_endpoint_auth_method or "")
        self.jwt_audience = jwt_audience
        self.scopes = list(scopes) if scopes else None
        self.issuer = issuer
        self._meta: Optional[ServerMetadata] = None
        self._resource: Optional[str] = None
        self._scope: Optional[str] = None

    def __repr__(self) -> str:
        return (f"<mcp_sync.auth.ClientCredentials client_id={self._identity.client_id!r} "
                f"server={self._server_url!r} {'token' if self._tokens else 'no token'}>")

    def _obtain(self, challenge: Dict[str, str], sent: Optional[str], *, step_up: bool) -> None:
        assert self._server_url is not None
        prm = _discovery.protected_resource_metadata(self._http, self._server_url, challenge.get("resource_metadata"),
                                                     self.timeout)
        if prm is None:
            meta = _discovery.legacy_metadata(self._http, self._server_url, self.timeout)
        else:
            servers = prm["authorization_servers"]
            issuer = self.issuer if self.issuer in servers else servers[0]
            meta = _discovery.authorization_server_metadata(self._http, issuer, self.timeout, require_pkce=False)
        if self.issuer is None:
            self.issuer = meta.issuer
        elif meta.issuer != self.issuer:
            raise AuthError(f"client {self._identity.client_id!r} is registered with {self.issuer}, but the "
                            f"server uses {meta.issuer}; not sending those credentials there")
        self._meta = meta
        self._resource = prm.get("resource") if prm else None
        challenged = (challenge.get("scope") or "").split()
        scopes = challenged or self.scopes or (prm or {}).get("scopes_supported") or []
        if step_up and self._scope:
            scopes = list(dict.fromkeys(self._scope.split() + list(scopes)))
        self._scope = " ".join(s for s in scopes if isinstance(s, str)) or None
        self._fetch()

    def _fetch(self) -> None:
        meta = self._meta
        assert meta is not None
        identity = self._identity
        identity.auth_method = choose_auth_method(meta.raw.get("token_endpoint_auth_methods_supported"),
                                                  has_secret=identity.client_secret is not None,
                                                  has_key=bool(identity.private_key),
                                                  registered=identity.auth_method or None)
        form: Dict[str, Any] = {"grant_type": "client_credentials", "scope": self._scope}
        if not meta.legacy and self._resource:
            form["resource"] = self._resource
        audience = {"issuer": meta.issuer, "token_endpoint": meta.token_endpoint}.get(self.jwt_audience,
                                                                                      self.jwt_audience)
        self._tokens = token_request(self._http, meta.token_endpoint, form, identity, jwt_audience=audience,
                                     timeout=self.timeout)

    def _renew(self) -> None:
        if self._meta is not None:
            self._fetch()  # no refresh token in this grant: just ask again
