"""Enterprise-managed authorization (``io.modelcontextprotocol/enterprise-managed-authorization``,
SEP-990): the user signs in once with the company's identity provider (IdP); the IdP, applying the
company's policy, vouches for them to each MCP server with an Identity Assertion JWT Authorization
Grant (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant). Two token requests, no browser:

1. token exchange (RFC 8693) at the IdP: the user's ID token (or SAML assertion) for an ID-JAG
   whose audience is the MCP server's authorization server and whose resource is the MCP server;
2. the JWT bearer grant (RFC 7523) at that authorization server: the ID-JAG for an access token.

Getting the ID token (the SSO login itself) is the application's business: pass it as a string,
or as a callable that returns a current one.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence, Union

import requests

from ..errors import AuthError
from . import _discovery
from ._grant import JWT_BEARER_GRANT, GrantAuth
from ._token import ClientIdentity, choose_auth_method, post_token
from ._urls import canonical_resource, check_url
from .dpop import DPoPKey

log = logging.getLogger("mcp_sync.auth")

EXTENSION = "io.modelcontextprotocol/enterprise-managed-authorization"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
SAML2 = "urn:ietf:params:oauth:token-type:saml2"

TokenSource = Union[str, Callable[[], str]]


class EnterpriseAuth(GrantAuth):
    """Access MCP servers with the user's enterprise SSO session, via an ID-JAG.

    :param client_id: this client at the MCP server's authorization server.
    :param client_secret: its secret there (or ``private_key`` for ``private_key_jwt``).
    :param id_token: the user's identity assertion from the IdP: a string, or a callable
        returning a current one (called for every new ID-JAG, so it can refresh the SSO session).
    :param idp_token_endpoint: the IdP's token endpoint; or give ``idp_issuer`` to discover it.
    :param idp_client_id: this client at the IdP (the ID token's audience).
    :param idp_client_secret: its secret at the IdP, if it is a confidential client there.
    :param subject_token_type: ``ID_TOKEN`` (default) or ``SAML2``.
    :param scopes: scopes to ask for when the server's challenge names none.
    :param issuer: the MCP authorization server the client is registered with.
    :param dpop: DPoP-bound tokens at the MCP server, see :mod:`mcp_sync.auth.dpop`.
    """

    def __init__(
        self,
        client_id: str,
        *,
        id_token: TokenSource,
        idp_token_endpoint: Optional[str] = None,
        idp_issuer: Optional[str] = None,
        idp_client_id: Optional[str] = None,
        idp_client_secret: Optional[str] = None,
        subject_token_type: str = ID_TOKEN,
        client_secret: Optional[str] = None,
        private_key: Optional[str] = None,
        signing_algorithm: str = "RS256",
        token_endpoint_auth_method: Optional[str] = None,
        jwt_audience: str = "issuer",
        scopes: Optional[Sequence[str]] = None,
        issuer: Optional[str] = None,
        server_url: Optional[str] = None,
        session: Optional[requests.Session] = None,
        timeout: float = 30.0,
        max_step_up: int = 2,
        dpop: Union[bool, DPoPKey, None] = None,
    ) -> None:
        if idp_token_endpoint is None and idp_issuer is None:
            raise ValueError("EnterpriseAuth needs idp_token_endpoint= or idp_issuer=")
        if idp_token_endpoint is not None:
            check_url(idp_token_endpoint, "idp_token_endpoint")
        identity = ClientIdentity(client_id=client_id, client_secret=client_secret, private_key=private_key,
                                  signing_algorithm=signing_algorithm, auth_method=token_endpoint_auth_method or "")
        super().__init__(identity, scopes=scopes, issuer=issuer, jwt_audience=jwt_audience, server_url=server_url,
                         session=session, timeout=timeout, max_step_up=max_step_up, dpop=dpop)
        self._id_token = id_token
        self.idp_token_endpoint = idp_token_endpoint
        self.idp_issuer = idp_issuer
        self._idp_identity = ClientIdentity(client_id=idp_client_id or "", client_secret=idp_client_secret,
                                            auth_method="")
        self._idp_auth_methods: Any = None
        self.subject_token_type = subject_token_type

    def __repr__(self) -> str:
        assert self._identity is not None
        return (f"<mcp_sync.auth.EnterpriseAuth client_id={self._identity.client_id!r} "
                f"idp={self.idp_issuer or self.idp_token_endpoint!r} server={self._server_url!r} "
                f"{'token' if self._tokens else 'no token'}>")

    def _fetch(self) -> None:
        grant = self.request_id_jag()
        self._tokens = self._request_token({"grant_type": JWT_BEARER_GRANT, "assertion": grant, "scope": self._scope})

    def request_id_jag(self) -> str:
        """Step 1: exchange the identity assertion for an ID-JAG for the current MCP server's
        authorization server (known after the first 401). Returns the ID-JAG."""
        meta = self._meta
        if meta is None or self._server_url is None:
            raise AuthError("the MCP server's authorization server is not known yet (no 401 seen)")
        endpoint = self._idp_endpoint()
        subject = self._id_token() if callable(self._id_token) else self._id_token
        if not isinstance(subject, str) or not subject:
            raise AuthError("no identity assertion (id_token) to exchange at the identity provider")
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "requested_token_type": ID_JAG,
            "audience": meta.issuer,
            "resource": self._resource or canonical_resource(self._server_url),
            "scope": self._scope,
            "subject_token": subject,
            "subject_token_type": self.subject_token_type,
        }
        idp = self._idp_identity
        idp.auth_method = choose_auth_method(self._idp_auth_methods, has_secret=idp.client_secret is not None,
                                             has_key=False, registered=idp.auth_method or None)
        payload = post_token(self._http, endpoint, form, idp, jwt_audience=self.idp_issuer or endpoint,
                             timeout=self.timeout)
        issued = payload.get("issued_token_type")
        jag = payload.get("access_token")
        if issued != ID_JAG or not isinstance(jag, str) or not jag:
            raise AuthError(f"the identity provider answered the token exchange with {issued!r}, not an ID-JAG")
        log.info("obtained an ID-JAG for %s from the identity provider", meta.issuer)
        return jag

    def _idp_endpoint(self) -> str:
        if self.idp_token_endpoint is not None and self._idp_auth_methods is not None:
            return self.idp_token_endpoint
        if self.idp_issuer is not None:
            for url in _discovery.authorization_server_urls(self.idp_issuer):
                document = _discovery.get_json(self._http, url, self.timeout)
                if document is None:
                    continue
                if document.get("issuer") != self.idp_issuer:
                    log.debug("IdP metadata at %s names issuer %r; ignored", url, document.get("issuer"))
                    continue
                self._idp_auth_methods = document.get("token_endpoint_auth_methods_supported") or []
                if self.idp_token_endpoint is None:
                    endpoint = document.get("token_endpoint")
                    self.idp_token_endpoint = check_url(endpoint, "the identity provider's token_endpoint")
                break
        if self.idp_token_endpoint is None:
            raise AuthError(f"no token endpoint found for identity provider {self.idp_issuer}")
        if self._idp_auth_methods is None:
            self._idp_auth_methods = []
        return self.idp_token_endpoint
