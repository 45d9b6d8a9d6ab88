"""Finding the authorization server (spec digest §5 steps 2-3, and the 2025-03-26 fallbacks).

Protected-resource metadata (RFC 9728) comes from the challenge's ``resource_metadata`` URL, then
the path-inserted and root well-known URLs. Authorization-server metadata (RFC 8414 and OpenID
Connect) is probed in the spec's order, and a document whose ``issuer`` differs from the issuer
the URL was built from is discarded.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import requests

from ..errors import AuthError
from ._urls import check_url, origin, resource_matches, well_known

log = logging.getLogger("mcp_sync.auth")

#: Metadata documents are small; a bigger answer is not metadata.
MAX_METADATA_SIZE = 256 * 1024


@dataclass
class ServerMetadata:
    """What the flow needs to know about the authorization server."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict)
    #: True when found by the 2025-03-26 rules (no PRM): no ``resource`` parameter is sent.
    legacy: bool = False

    def supports(self, key: str, value: str) -> bool:
        listed = self.raw.get(key)
        return isinstance(listed, list) and value in listed

    @property
    def scopes_supported(self) -> List[str]:
        scopes = self.raw.get("scopes_supported")
        return [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []


def get_json(http: requests.Session, url: str, timeout: float) -> Optional[Dict[str, Any]]:
    """GET a JSON object; None when the URL has nothing (4xx/5xx, not JSON, not an object)."""
    try:
        response = http.get(url, headers={"Accept": "application/json"}, timeout=timeout,
                            allow_redirects=False, stream=True)
    except requests.RequestException as exc:
        log.debug("GET %s failed: %r", url, exc)
        return None
    try:
        if response.status_code != 200:
            log.debug("GET %s: HTTP %s", url, response.status_code)
            return None
        body = b""
        # iter_content, not raw.read: it turns urllib3's read errors into requests exceptions.
        for chunk in response.iter_content(16 * 1024):
            body += chunk
            if len(body) > MAX_METADATA_SIZE:
                raise AuthError(f"metadata at {url} is larger than {MAX_METADATA_SIZE} bytes")
        try:
            data = json.loads(body)
        except ValueError:
            log.debug("GET %s: not JSON", url)
            return None
        return data if isinstance(data, dict) else None
    except requests.RequestException as exc:
        log.debug("GET %s: reading the answer failed: %r", url, exc)
        return None
    finally:
        response.close()


def protected_resource_metadata(http: requests.Session, server_url: str, metadata_url: Optional[str],
                                timeout: float) -> Optional[Dict[str, Any]]:
    """RFC 9728 metadata for ``server_url``, or None if the server publishes none (a 2025-03-26
    server). Raises :class:`AuthError` when the document names another resource."""
    candidates: List[str] = []
    if metadata_url:
        candidates.append(check_url(metadata_url, "resource_metadata in WWW-Authenticate"))
    if urlsplit(server_url).path.strip("/"):
        candidates.append(well_known(server_url, "oauth-protected-resource", insert_path=True))
    candidates.append(well_known(server_url, "oauth-protected-resource", insert_path=False))
    for url in dict.fromkeys(candidates):
        document = get_json(http, url, timeout)
        if document is None:
            continue
        servers = document.get("authorization_servers")
        if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers) or not servers:
            log.debug("PRM at %s lists no authorization_servers", url)
            continue
        resource = document.get("resource")
        if not isinstance(resource, str) or not resource_matches(resource, server_url):
            # RFC 9728 §3.3: metadata for another resource must not be used.
            raise AuthError(f"the protected-resource metadata at {url} is for {resource!r}, "
                            f"not {server_url}; refusing to authorize")
        log.debug("protected-resource metadata from %s", url)
        return document
    return None


def authorization_server_urls(issuer: str) -> List[str]:
    """The spec's order: RFC 8414 path-inserted, OIDC path-inserted, OIDC path-appended."""
    path = urlsplit(issuer).path.rstrip("/")
    base = origin(issuer)
    if path:
        return [f"{base}/.well-known/oauth-authorization-server{path}",
                f"{base}/.well-known/openid-configuration{path}",
                f"{base}{path}/.well-known/openid-configuration"]
    return [f"{base}/.well-known/oauth-authorization-server", f"{base}/.well-known/openid-configuration"]


def authorization_server_metadata(http: requests.Session, issuer: str, timeout: float, *,
                                  require_pkce: bool = True) -> ServerMetadata:
    check_url(issuer, "authorization server")
    for url in authorization_server_urls(issuer):
        document = get_json(http, url, timeout)
        if document is None:
            continue
        if document.get("issuer") != issuer:
            # Exact string comparison (2026-07-28): a mismatch may be a mix-up attack.
            log.warning("discarding authorization-server metadata at %s: its issuer %r is not %r",
                        url, document.get("issuer"), issuer)
            continue
        return _metadata(document, issuer, legacy=False, require_pkce=require_pkce)
    raise AuthError(f"no usable authorization-server metadata for issuer {issuer}")


def legacy_metadata(http: requests.Session, server_url: str, timeout: float, *,
                    require_pkce: bool = True) -> ServerMetadata:
    """2025-03-26: metadata at the MCP server's origin, else the default endpoints there."""
    base = origin(server_url)
    document = get_json(http, f"{base}/.well-known/oauth-authorization-server", timeout)
    if document is not None:
        issuer = document.get("issuer") if isinstance(document.get("issuer"), str) else base
        return _metadata(document, issuer, legacy=True, require_pkce=require_pkce)
    log.debug("no OAuth metadata at %s; using the 2025-03-26 default endpoints", base)
    return ServerMetadata(issuer=base, authorization_endpoint=f"{base}/authorize", token_endpoint=f"{base}/token",
                          registration_endpoint=f"{base}/register",
                          raw={"code_challenge_methods_supported": ["S256"]}, legacy=True)


def _metadata(document: Dict[str, Any], issuer: str, *, legacy: bool, require_pkce: bool = True) -> ServerMetadata:
    methods = document.get("code_challenge_methods_supported")
    if require_pkce and (not isinstance(methods, list) or "S256" not in methods):
        raise AuthError(f"authorization server {issuer} does not advertise PKCE S256 "
                        "(code_challenge_methods_supported); refusing to proceed")
    authorization = document.get("authorization_endpoint")
    token = document.get("token_endpoint")
    if not isinstance(token, str):
        raise AuthError(f"authorization server {issuer} publishes no token_endpoint")
    registration = document.get("registration_endpoint")
    return ServerMetadata(
        issuer=issuer,
        authorization_endpoint=check_url(authorization, "authorization_endpoint") if authorization else "",
        token_endpoint=check_url(token, "token_endpoint"),
        registration_endpoint=check_url(registration, "registration_endpoint") if registration else None,
        raw=document,
        legacy=legacy,
    )
