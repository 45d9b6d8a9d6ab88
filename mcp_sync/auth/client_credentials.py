"""The client-credentials extension (``io.modelcontextprotocol/oauth-client-credentials``):
machine-to-machine access with no person present. The client is pre-registered and
authenticates with a secret or, preferably, a signed JWT (``private_key_jwt``, RFC 7523)."""
from __future__ import annotations

import logging
from typing import Optional, Sequence, Union

import requests

from ._grant import GrantAuth
from ._token import ClientIdentity
from .dpop import DPoPKey

log = logging.getLogger("mcp_sync.auth")

EXTENSION = "io.modelcontextprotocol/oauth-client-credentials"


class ClientCredentials(GrantAuth):
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
    :param dpop: DPoP-bound tokens, see :mod:`mcp_sync.auth.dpop`.
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
        dpop: Union[bool, DPoPKey, None] = None,
    ) -> None:
        if client_secret is None and private_key is None:
            raise ValueError("ClientCredentials needs client_secret= or private_key=")
        identity = ClientIdentity(client_id=client_id, client_secret=client_secret, private_key=private_key,
                                  signing_algorithm=signing_algorithm, auth_method=token_endpoint_auth_method or "")
        super().__init__(identity, scopes=scopes, issuer=issuer, jwt_audience=jwt_audience, server_url=server_url,
                         session=session, timeout=timeout, max_step_up=max_step_up, dpop=dpop)

    def __repr__(self) -> str:
        assert self._identity is not None
        return (f"<mcp_sync.auth.ClientCredentials client_id={self._identity.client_id!r} "
                f"server={self._server_url!r} {'token' if self._tokens else 'no token'}>")

    def _fetch(self) -> None:
        self._tokens = self._request_token({"grant_type": "client_credentials", "scope": self._scope})
