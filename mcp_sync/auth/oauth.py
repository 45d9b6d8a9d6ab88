"""The OAuth 2.1 authorization-code client with PKCE, as the MCP spec profiles it (spec digest
§5): discovery, client identity, scopes, the login, ``iss``/``state`` checks, tokens, refresh with
rotation and step-up. Plug it in as ``Client(url, auth=OAuth())``."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from ..errors import AuthError
from . import _discovery
from ._base import TokenAuth
from ._discovery import ServerMetadata
from .dpop import DPoPKey
from ._pkce import new_state, same, verifier_and_challenge
from ._token import ClientIdentity, choose_auth_method, expired, token_request
from ._urls import canonical_resource, check_url
from .interaction import BrowserLogin, Interaction
from .storage import MemoryTokenStorage, TokenStorage

log = logging.getLogger("mcp_sync.auth")


class OAuth(TokenAuth):
    """Log in with OAuth when the server asks for it; keep, refresh and reuse the tokens.

    :param server_url: the MCP server (default: the URL of the first request).
    :param interaction: how the user logs in (default :class:`~mcp_sync.auth.BrowserLogin`).
    :param storage: where tokens and registrations are kept (default: memory only; use
        :class:`~mcp_sync.auth.FileTokenStorage` to survive restarts).
    :param client_id: a pre-registered client (tried first). With ``client_secret`` it is a
        confidential client; ``issuer`` names the authorization server it is registered with.
    :param client_metadata_url: an HTTPS URL of your client ID metadata document, used when the
        authorization server supports them (before dynamic registration).
    :param scopes: scopes to ask for when the server's challenge names none.
    :param client_name: shown by the authorization server on its consent page.
    :param application_type: ``"native"`` (scripts, CLIs, desktop) or ``"web"``, for registration.
    :param private_key: PEM key for ``private_key_jwt`` with a pre-registered client.
    :param dpop: DPoP-bound tokens (:mod:`~mcp_sync.auth.dpop`): ``None`` (default) when the
        authorization server advertises DPoP or the MCP server demands it, ``True``, ``False``, or
        a :class:`~mcp_sync.auth.DPoPKey` (keep one to reuse stored DPoP-bound tokens after a restart).
    """

    def __init__(
        self,
        server_url: Optional[str] = None,
        *,
        interaction: Optional[Interaction] = None,
        storage: Optional[TokenStorage] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        issuer: Optional[str] = None,
        token_endpoint_auth_method: Optional[str] = None,
        private_key: Optional[str] = None,
        signing_algorithm: str = "RS256",
        client_metadata_url: Optional[str] = None,
        scopes: Optional[Sequence[str]] = None,
        client_name: str = "mcp-sync",
        application_type: str = "native",
        session: Optional[requests.Session] = None,
        timeout: float = 30.0,
        max_step_up: int = 2,
        dpop: Union[bool, DPoPKey, None] = None,
    ) -> None:
        super().__init__(server_url, session=session, timeout=timeout, max_step_up=max_step_up, dpop=dpop)
        self.interaction = interaction if interaction is not None else BrowserLogin()
        self.storage: TokenStorage = storage if storage is not None else MemoryTokenStorage()
        if client_metadata_url is not None:
            check_url(client_metadata_url, "client_metadata_url")
            if not client_metadata_url.startswith("https://") or urlsplit(client_metadata_url).path in ("", "/"):
                raise ValueError("client_metadata_url must be an https:// URL with a path")
        self.client_metadata_url = client_metadata_url
        self.scopes = list(scopes) if scopes else None
        self.client_name = client_name
        if application_type not in ("native", "web"):
            raise ValueError("application_type must be 'native' or 'web'")
        self.application_type = application_type
        self._preregistered: Optional[ClientIdentity] = None
        self._preregistered_issuer = issuer
        if client_id is not None:
            self._preregistered = ClientIdentity(client_id=client_id, client_secret=client_secret,
                                                 private_key=private_key, signing_algorithm=signing_algorithm,
                                                 auth_method=token_endpoint_auth_method or "")
        self._meta: Optional[ServerMetadata] = None
        self._resource: Optional[str] = None
        self._identity: Optional[ClientIdentity] = None
        self._requested: List[str] = []

    def __repr__(self) -> str:
        issuer = self._meta.issuer if self._meta else None
        state = "token" if self._tokens else "no token"
        return f"<mcp_sync.auth.OAuth server={self._server_url!r} issuer={issuer!r} {state}>"

    @property
    def issuer(self) -> Optional[str]:
        """The authorization server in use (None before the first login)."""
        return self._meta.issuer if self._meta else None

    # ------------------------------------------------------------------ the flow

    def _obtain(self, challenge: Dict[str, str], sent: Optional[str], *, step_up: bool) -> None:
        assert self._server_url is not None
        prm, meta = self._discover(challenge)
        switched = self._meta is not None and self._meta.issuer != meta.issuer
        if switched:
            log.info("the server now uses authorization server %s (was %s)", meta.issuer, self._meta.issuer)  # type: ignore[union-attr]
            self._tokens, self._identity, self._requested = None, None, []
        self._meta = meta
        self._resource = prm.get("resource") if prm else None
        self._activate_dpop(meta)
        record = self.storage.load(self._key, meta.issuer) or {}
        if not step_up:
            tokens = record.get("tokens") if isinstance(record.get("tokens"), dict) else None
            if tokens and not self._usable(tokens):
                log.info("the stored tokens are bound to another DPoP key; logging in again")
                tokens = None
            if tokens and tokens.get("access_token") != sent and not expired(tokens):
                self._adopt(record, tokens)
                return
            if tokens and tokens.get("refresh_token"):
                self._adopt(record, tokens)
                try:
                    self._refresh()
                    return
                except AuthError as exc:
                    log.info("refreshing failed (%s); logging in again", exc)
            self._tokens = None
        scopes = self._choose_scopes(challenge, prm, meta, record, step_up)
        self._login(meta, record, scopes)

    @property
    def _key(self) -> str:
        assert self._server_url is not None
        return canonical_resource(self._server_url)

    def _discover(self, challenge: Dict[str, str]) -> Tuple[Optional[Dict[str, Any]], ServerMetadata]:
        assert self._server_url is not None
        prm = _discovery.protected_resource_metadata(self._http, self._server_url, challenge.get("resource_metadata"),
                                                     self.timeout)
        if prm is None:
            log.info("no protected-resource metadata for %s; using the 2025-03-26 discovery", self._server_url)
            return None, _discovery.legacy_metadata(self._http, self._server_url, self.timeout)
        servers: List[str] = prm["authorization_servers"]
        # One authorization server is enough; prefer the one we hold credentials for.
        issuer = next((s for s in servers if self._meta and s == self._meta.issuer), servers[0])
        return prm, _discovery.authorization_server_metadata(self._http, issuer, self.timeout)

    def _adopt(self, record: Dict[str, Any], tokens: Dict[str, Any]) -> None:
        self._tokens = dict(tokens)
        client = record.get("client")
        # A record without a client_id (edited by hand, or not ours) identifies nobody: register anew.
        usable = isinstance(client, dict) and isinstance(client.get("client_id"), str) and client["client_id"]
        self._identity = ClientIdentity.from_record(client) if usable else None
        if self._preregistered is not None and self._identity is not None \
                and self._identity.client_id == self._preregistered.client_id:
            self._identity = self._preregistered
        scopes = record.get("scopes")
        self._requested = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []

    def _choose_scopes(self, challenge: Dict[str, str], prm: Optional[Dict[str, Any]], meta: ServerMetadata,
                       record: Dict[str, Any], step_up: bool) -> List[str]:
        challenged = (challenge.get("scope") or "").split()
        if challenged:
            scopes = challenged  # authoritative for this operation
        elif self.scopes:
            scopes = list(self.scopes)
        elif prm and isinstance(prm.get("scopes_supported"), list):
            scopes = [s for s in prm["scopes_supported"] if isinstance(s, str)]
        else:
            scopes = []
        if step_up:
            previous = self._requested or list(record.get("scopes") or [])
            scopes = list(dict.fromkeys(previous + scopes))
        if scopes and "offline_access" in meta.scopes_supported and "offline_access" not in scopes:
            scopes.append("offline_access")
        return scopes

    def _login(self, meta: ServerMetadata, record: Dict[str, Any], scopes: List[str]) -> None:
        if not meta.authorization_endpoint:
            raise AuthError(f"authorization server {meta.issuer} publishes no authorization_endpoint")
        stored = record.get("client") if isinstance(record.get("client"), dict) else None
        try:
            redirect_uri = self.interaction.prepare(stored.get("redirect_uri") if stored else None)
            identity = self._client_identity(meta, stored, redirect_uri, scopes)
            verifier, code_challenge = verifier_and_challenge()
            state = new_state()
            params = {"response_type": "code", "client_id": identity.client_id, "redirect_uri": redirect_uri,
                      "code_challenge": code_challenge, "code_challenge_method": "S256", "state": state}
            if scopes:
                params["scope"] = " ".join(scopes)
            if not meta.legacy and self._resource:
                params["resource"] = self._resource
            endpoint = meta.authorization_endpoint
            url = endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode(params)
            log.info("authorization needed: logging in at %s", meta.issuer)
            callback = self.interaction.authorize(url)
        finally:
            self.interaction.close()
        code = self._check_callback(callback, meta, state)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        if not meta.legacy and self._resource:
            form["resource"] = self._resource
        tokens = token_request(self._http, meta.token_endpoint, form, identity, jwt_audience=meta.issuer,
                               timeout=self.timeout, dpop=self._dpop)
        self._identity, self._tokens, self._requested = identity, tokens, scopes
        self._save()

    def _check_callback(self, callback: str, meta: ServerMetadata, state: str) -> str:
        query = urlsplit(callback).query if "://" in callback else callback.lstrip("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        iss = params.get("iss")
        # RFC 9207, checked before anything in the response is believed (spec digest §5 step 7).
        if iss is not None:
            if iss != meta.issuer:
                raise AuthError(f"the authorization response came from issuer {iss!r}, not {meta.issuer!r}; "
                                "refusing it (possible mix-up attack)")
        elif meta.raw.get("authorization_response_iss_parameter_supported") is True:
            raise AuthError(f"{meta.issuer} promises an iss parameter but the authorization response has none; "
                            "refusing it")
        if not same(params.get("state", ""), state):
            raise AuthError("the authorization response's state does not match the request; refusing it")
        if "error" in params:
            description = params.get("error_description", "")
            raise AuthError(f"authorization refused: {params['error'][:100]}"
                            f"{': ' + description[:300] if description else ''}")
        code = params.get("code")
        if not code:
            raise AuthError("the authorization response has no code")
        return code

    def _client_identity(self, meta: ServerMetadata, stored: Optional[Dict[str, Any]], redirect_uri: str,
                         scopes: List[str]) -> ClientIdentity:
        supported = meta.raw.get("token_endpoint_auth_methods_supported")
        # 1. Pre-registered credentials, bound to one issuer.
        pre = self._preregistered
        if pre is not None:
            if self._preregistered_issuer is None:
                self._preregistered_issuer = meta.issuer
            if self._preregistered_issuer != meta.issuer:
                raise AuthError(f"client {pre.client_id!r} is registered with {self._preregistered_issuer}, "
                                f"but the server now uses {meta.issuer}; not sending those credentials there")
            pre.auth_method = choose_auth_method(supported, has_secret=pre.client_secret is not None,
                                                 has_key=bool(pre.private_key),
                                                 registered=pre.auth_method or None)
            return pre
        # 2. A client ID metadata document (portable across authorization servers).
        if self.client_metadata_url and meta.raw.get("client_id_metadata_document_supported") is True:
            return ClientIdentity(client_id=self.client_metadata_url, auth_method="none")
        # 3. A registration this issuer gave us before, for the same redirect URI.
        if stored and stored.get("client_id") and stored.get("redirect_uri") == redirect_uri:
            return ClientIdentity.from_record(stored)
        # 4. Dynamic client registration.
        if meta.registration_endpoint:
            return self._register(meta, redirect_uri, scopes)
        raise AuthError(f"no way to identify this client to {meta.issuer}: it supports neither client ID "
                        "metadata documents (pass client_metadata_url=) nor dynamic registration; pass "
                        "client_id= (and client_secret=) of a registered client")

    def _register(self, meta: ServerMetadata, redirect_uri: str, scopes: List[str]) -> ClientIdentity:
        supported = meta.raw.get("token_endpoint_auth_methods_supported")
        listed = supported if isinstance(supported, list) else []
        wanted = "none"
        if listed and "none" not in listed:
            wanted = next((m for m in ("client_secret_basic", "client_secret_post") if m in listed), listed[0])
        body: Dict[str, Any] = {
            "client_name": self.client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": wanted,
            "application_type": self.application_type,
        }
        if scopes:
            body["scope"] = " ".join(scopes)
        assert meta.registration_endpoint is not None
        try:
            response = self._http.post(meta.registration_endpoint, json=body, timeout=self.timeout,
                                       allow_redirects=False, headers={"Accept": "application/json"})
            payload = response.json() if response.content else None
        except ValueError:
            payload = None
        except requests.RequestException as exc:
            raise AuthError(f"client registration at {meta.registration_endpoint} failed: {exc}") from exc
        if response.status_code not in (200, 201) or not isinstance(payload, dict) \
                or not isinstance(payload.get("client_id"), str):
            error = payload.get("error") if isinstance(payload, dict) else None
            description = payload.get("error_description") if isinstance(payload, dict) else None
            raise AuthError(f"client registration refused: HTTP {response.status_code}"
                            f"{' ' + str(error) if error else ''}{': ' + str(description)[:300] if description else ''}",
                            status_code=response.status_code)
        secret = payload.get("client_secret") if isinstance(payload.get("client_secret"), str) else None
        method = choose_auth_method(supported, has_secret=secret is not None, has_key=False,
                                    registered=payload.get("token_endpoint_auth_method") or (None if secret else wanted))
        log.info("registered client %s with %s", payload["client_id"], meta.issuer)
        return ClientIdentity(client_id=payload["client_id"], client_secret=secret, auth_method=method,
                              extra={"redirect_uri": redirect_uri})

    def _refresh(self) -> None:
        meta, identity, tokens = self._meta, self._identity, self._tokens
        if meta is None or identity is None or not tokens or not tokens.get("refresh_token"):
            raise AuthError("nothing to refresh with")
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        if not meta.legacy and self._resource:
            form["resource"] = self._resource
        fresh = token_request(self._http, meta.token_endpoint, form, identity, jwt_audience=meta.issuer,
                              timeout=self.timeout, dpop=self._dpop)
        # Rotation: a new refresh token replaces the old one; none means keep using the old one.
        fresh.setdefault("refresh_token", tokens["refresh_token"])
        if "scope" not in fresh and "scope" in tokens:
            fresh["scope"] = tokens["scope"]
        self._tokens = fresh
        self._save()
        log.info("refreshed the access token")

    def _renew(self) -> None:
        if self._tokens and self._tokens.get("refresh_token") and self._meta is not None:
            self._refresh()

    def _save(self) -> None:
        if self._meta is None or self._identity is None or self._tokens is None:
            return
        client = self._identity.to_record()
        if self._preregistered is not None and self._identity is self._preregistered:
            client.pop("client_secret", None)  # the caller keeps pre-registered secrets, not our files
        try:
            self.storage.save(self._key, self._meta.issuer,
                              {"client": client, "tokens": self._tokens, "scopes": self._requested})
        except Exception as exc:  # the tokens still work from memory; only the next run logs in again
            # An OSError names a path; another storage's message might quote the record.
            reason = exc if isinstance(exc, OSError) else type(exc).__name__
            log.warning("could not save the tokens for %s: %s", self._key, reason)

    def logout(self) -> None:
        """Forget the tokens (memory and storage) for the current authorization server."""
        with self._locked():
            if self._meta is not None and self._server_url is not None:
                self.storage.delete(self._key, self._meta.issuer)
            self._tokens = None
