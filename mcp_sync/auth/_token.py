"""Token endpoint requests (RFC 6749 §3.2, OAuth 2.1) and client authentication: ``none``,
``client_secret_basic``, ``client_secret_post`` and ``private_key_jwt`` (RFC 7523, signed with
PyJWT from the ``mcp-sync[oauth]`` extra)."""
from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

import requests

from ..errors import AuthError

if TYPE_CHECKING:  # pragma: no cover
    from .dpop import DPoPSession

log = logging.getLogger("mcp_sync.auth")

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")
#: Refresh this many seconds before the access token expires.
EXPIRY_MARGIN = 30.0


@dataclass(repr=False)
class ClientIdentity:
    """Who we are at the token endpoint. Secrets never appear in the repr."""

    client_id: str
    client_secret: Optional[str] = None
    auth_method: str = "none"
    private_key: Optional[str] = None
    signing_algorithm: str = "RS256"
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> Dict[str, Any]:
        data = {"client_id": self.client_id, "auth_method": self.auth_method, **self.extra}
        if self.client_secret is not None:
            data["client_secret"] = self.client_secret
        return data

    @classmethod
    def from_record(cls, data: Dict[str, Any]) -> "ClientIdentity":
        extra = {k: v for k, v in data.items() if k not in ("client_id", "client_secret", "auth_method")}
        return cls(client_id=str(data["client_id"]), client_secret=data.get("client_secret"),
                   auth_method=str(data.get("auth_method") or "none"), extra=extra)

    def __repr__(self) -> str:
        return f"ClientIdentity(client_id={self.client_id!r}, auth_method={self.auth_method!r})"


def choose_auth_method(supported: Any, *, has_secret: bool, has_key: bool, registered: Optional[str] = None) -> str:
    """The registered method when the server supports it, else the best one we can do."""
    listed: List[str] = supported if isinstance(supported, list) else []
    if registered in AUTH_METHODS and (not listed or registered in listed):
        return registered  # type: ignore[return-value]
    preference = []
    if has_key:
        preference.append("private_key_jwt")
    if has_secret:
        preference += ["client_secret_basic", "client_secret_post"]
    preference.append("none")
    if not listed:  # RFC 8414 default: client_secret_basic
        return "client_secret_basic" if has_secret else preference[0]
    for method in preference:
        if method in listed:
            return method
    raise AuthError(f"the authorization server accepts {listed} at its token endpoint; "
                    "none of them fits the client credentials we have")


def client_assertion(identity: ClientIdentity, audience: str, lifetime: int = 300) -> str:
    """An RFC 7523 JWT: ``iss`` = ``sub`` = client_id, ``aud``, short ``exp``, unique ``jti``."""
    try:
        import jwt  # PyJWT
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise AuthError("private_key_jwt needs PyJWT and cryptography: pip install 'mcp-sync[oauth]'") from None
    now = int(time.time())
    claims = {"iss": identity.client_id, "sub": identity.client_id, "aud": audience,
              "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    try:
        return jwt.encode(claims, identity.private_key, algorithm=identity.signing_algorithm)
    except Exception as exc:  # PyJWT raises several types; never echo the key
        raise AuthError(f"could not sign the client assertion with {identity.signing_algorithm}: "
                        f"{type(exc).__name__}") from None


def authenticate(identity: ClientIdentity, form: Dict[str, str], headers: Dict[str, str], *,
                 jwt_audience: str) -> None:
    """Add the client authentication for ``identity.auth_method`` to a token request."""
    method = identity.auth_method
    # client_id goes in the form with every method: it is not a credential, and some servers
    # (the official SDK's among them) look the client up by it even with Basic authentication.
    if identity.client_id:  # empty for grants that identify no client (workload identity)
        form["client_id"] = identity.client_id
    if method == "client_secret_basic":
        if identity.client_secret is None:
            raise AuthError("client_secret_basic needs a client secret")
        import base64

        # RFC 6749 §2.3.1: form-urlencode id and secret before joining them.
        pair = f"{quote(identity.client_id, safe='')}:{quote(identity.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    elif method == "client_secret_post":
        if identity.client_secret is None:
            raise AuthError("client_secret_post needs a client secret")
        form["client_secret"] = identity.client_secret
    elif method == "private_key_jwt":
        if not identity.private_key:
            raise AuthError("private_key_jwt needs a private key")
        form["client_assertion_type"] = JWT_BEARER_ASSERTION
        form["client_assertion"] = client_assertion(identity, jwt_audience)


def post_token(http: requests.Session, endpoint: str, form: Dict[str, str], identity: ClientIdentity, *,
               jwt_audience: str, timeout: float, dpop: Optional["DPoPSession"] = None) -> Dict[str, Any]:
    """POST a token request with client authentication (and a DPoP proof when ``dpop`` is given,
    retried once with the server's nonce on ``use_dpop_nonce``, RFC 9449 §8); return the JSON
    answer or raise :class:`AuthError` carrying the server's ``error`` code as ``.error``."""
    grant = form.get("grant_type")
    fields = {k: v for k, v in form.items() if v is not None}
    for attempt in range(2):
        def build() -> Tuple[Dict[str, str], Dict[str, str]]:
            headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
            body = dict(fields)
            authenticate(identity, body, headers, jwt_audience=jwt_audience)  # fresh client assertion each time
            if dpop is not None:
                headers["DPoP"] = dpop.proof("POST", endpoint)  # and a fresh proof
            return body, headers

        response = _post_once_more_on_reset(http, endpoint, build, timeout, grant)
        try:
            payload = json.loads(response.content[:256 * 1024])
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        fresh_nonce = dpop.observe(response) if dpop is not None else False
        if error == "use_dpop_nonce" and dpop is not None and fresh_nonce and attempt == 0:
            log.debug("the authorization server wants a DPoP nonce; retrying the token request with it")
            continue
        if response.status_code != 200 or not isinstance(payload, dict):
            description = payload.get("error_description") if isinstance(payload, dict) else None
            err = AuthError(f"token request ({grant}) refused: HTTP {response.status_code}"
                            f"{' ' + str(error) if error else ''}"
                            f"{': ' + str(description)[:300] if description else ''}",
                            status_code=response.status_code)
            err.error = error  # type: ignore[attr-defined]
            raise err
        return payload
    raise AssertionError("unreachable")  # pragma: no cover


def _post_once_more_on_reset(http: requests.Session, endpoint: str,
                             build: Callable[[], Tuple[Dict[str, str], Dict[str, str]]], timeout: float,
                             grant: Optional[str]) -> requests.Response:
    # A pooled keep-alive connection the server closed while idle fails the POST with a reset
    # before any answer; one more try on a new connection is safe (a code that was in fact
    # redeemed is refused as invalid_grant, never redeemed twice).
    for attempt in range(2):
        try:
            body, headers = build()
            return http.post(endpoint, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.ConnectionError as exc:
            if attempt == 0 and not isinstance(exc, requests.ConnectTimeout):
                log.debug("token request (%s) to %s: connection lost (%s); trying once more", grant, endpoint, exc)
                continue
            raise AuthError(f"token request ({grant}) to {endpoint} failed: {exc}") from exc
        except requests.RequestException as exc:
            raise AuthError(f"token request ({grant}) to {endpoint} failed: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def token_request(http: requests.Session, endpoint: str, form: Dict[str, str], identity: ClientIdentity, *,
                  jwt_audience: str, timeout: float, dpop: Optional["DPoPSession"] = None) -> Dict[str, Any]:
    """POST to the token endpoint; return the token record (``access_token``, ``token_type``,
    ``expires_at``, ``refresh_token``, ``scope``, and ``dpop_jkt`` for a DPoP-bound token) or
    raise :class:`AuthError` with the server's error code."""
    grant = form.get("grant_type")
    payload = post_token(http, endpoint, form, identity, jwt_audience=jwt_audience, timeout=timeout, dpop=dpop)
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError(f"the token response ({grant}) has no access_token")
    token_type = payload.get("token_type")
    kind = token_type.lower() if isinstance(token_type, str) else "bearer"
    record: Dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
    if kind == "dpop":
        if dpop is None:
            raise AuthError(f"the token response ({grant}) is a DPoP-bound token, but no DPoP proof was sent")
        record["token_type"] = "DPoP"
        record["dpop_jkt"] = dpop.key.thumbprint
    elif kind != "bearer":
        raise AuthError(f"unsupported token_type {token_type!r} (only Bearer and DPoP)")
    elif dpop is not None:
        log.info("the authorization server issued a bearer token despite the DPoP proof")
    expires_in = payload.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        record["issued_at"] = time.time()
        record["expires_at"] = record["issued_at"] + float(expires_in)
    if isinstance(payload.get("refresh_token"), str):
        record["refresh_token"] = payload["refresh_token"]
    if isinstance(payload.get("scope"), str):
        record["scope"] = payload["scope"]
    elif "scope" in form and form["scope"] is not None:
        record["scope"] = form["scope"]  # RFC 6749 §5.1: omitted means as requested
    log.info("obtained an access token (%s grant, %s) from %s", grant, record["token_type"], endpoint)
    return record


def expired(tokens: Optional[Dict[str, Any]], margin: float = EXPIRY_MARGIN) -> bool:
    if not tokens or not tokens.get("access_token"):
        return True
    expires_at = tokens.get("expires_at")
    if not isinstance(expires_at, (int, float)):
        return False
    issued_at = tokens.get("issued_at")
    if isinstance(issued_at, (int, float)) and expires_at > issued_at:
        margin = min(margin, (expires_at - issued_at) / 10)  # short-lived tokens: refresh late, not always
    return time.time() + margin >= expires_at
