"""A small, strict, real OAuth world on loopback for tests/test_auth_extensions.py: an enterprise
identity provider (token exchange for ID-JAGs), an authorization server (client credentials and
JWT bearer grants, DPoP-bound tokens with optional nonces) and a protected resource that checks
every token and DPoP proof (RFC 9449 §4.3, §7) before proxying the JSON-RPC POST to a real MCP
server. Each check a client fails is recorded in ``World.errors``; the servers run on daemon
threads and verify signatures with PyJWT."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
WORKLOAD_ISSUER = "https://workload-issuer.test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Dict[str, str]) -> str:
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return b64url(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


@dataclass
class World:
    """Knobs (set before the client runs) and observations (read after)."""

    backend: str  # the real MCP server's URL
    clients: Dict[str, str] = field(default_factory=lambda: {"mcp-client": "mcp-secret"})
    dpop_algs: Optional[List[str]] = None  # advertised dpop_signing_alg_values_supported
    as_nonce: bool = False
    rs_nonce: bool = False
    rs_dpop_only: bool = False  # the resource server's challenge names only the DPoP scheme
    rs_redirects: int = 0  # answer that many DPoP-authorized requests with a 307 to /mcp-moved
    token_ttl: int = 3600
    idp_refuses: bool = False
    # observations
    token_requests: List[Dict[str, Any]] = field(default_factory=list)
    exchanges: List[Dict[str, Any]] = field(default_factory=list)
    rs_requests: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.idp_key = ec.generate_private_key(ec.SECP256R1())
        self.jag_key = ec.generate_private_key(ec.SECP256R1())
        self.workload_key = ec.generate_private_key(ec.SECP256R1())
        self.tokens: Dict[str, Dict[str, Any]] = {}
        self.jtis: set = set()
        self.lock = threading.Lock()
        self.as_nonce_value = "as-" + secrets.token_urlsafe(8)
        self.rs_nonce_value = "rs-" + secrets.token_urlsafe(8)
        self.servers: List[ThreadingHTTPServer] = []
        self.base = self._serve(self._resource_and_as)
        self.idp = self._serve(self._identity_provider)

    # ------------------------------------------------------------------ lifecycle

    def _serve(self, route: Any) -> str:
        world = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: Any = b"", headers: Optional[Dict[str, str]] = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if not isinstance(body, bytes):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply(*route(self, b""))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._reply(*route(self, self.rfile.read(length)))

            do_DELETE = do_GET

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="mcp-sync-test-authworld", daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    # ------------------------------------------------------------------ credentials for tests

    def id_token(self, subject: str = "alice@example.com", audience: str = "idp-client") -> str:
        now = int(time.time())
        return jwt.encode({"iss": self.idp, "sub": subject, "aud": audience, "iat": now, "exp": now + 600},
                          self.idp_key, algorithm="ES256")

    def workload_token(self, subject: str = "system:serviceaccount:ns:agent", audience: Optional[str] = None,
                       lifetime: int = 600) -> str:
        now = int(time.time())
        return jwt.encode({"iss": WORKLOAD_ISSUER, "sub": subject, "aud": audience or self.base, "iat": now,
                           "exp": now + lifetime, "jti": str(uuid.uuid4())}, self.workload_key, algorithm="ES256")

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    # ------------------------------------------------------------------ identity provider

    def _identity_provider(self, handler: BaseHTTPRequestHandler, body: bytes) -> Tuple[int, Any]:
        path = urlsplit(handler.path).path
        if path == "/.well-known/openid-configuration":
            return 200, {"issuer": self.idp, "token_endpoint": f"{self.idp}/token",
                         "grant_types_supported": [TOKEN_EXCHANGE], "token_endpoint_auth_methods_supported": ["none"]}
        if path != "/token" or handler.command != "POST":
            return 404, {"error": "not_found"}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.exchanges.append(form)
        if self.idp_refuses:
            return 400, {"error": "access_denied", "error_description": "policy says no"}
        wanted = {"grant_type": TOKEN_EXCHANGE, "requested_token_type": ID_JAG, "subject_token_type": ID_TOKEN,
                  "audience": self.base, "resource": self.mcp_url, "client_id": "idp-client"}
        for name, value in wanted.items():
            if form.get(name) != value:
                self.fail(f"token exchange: {name}={form.get(name)!r}, expected {value!r}")
                return 400, {"error": "invalid_request"}
        try:
            claims = jwt.decode(form.get("subject_token", ""), self.idp_key.public_key(), algorithms=["ES256"],
                                audience="idp-client", issuer=self.idp)
        except jwt.PyJWTError as exc:
            self.fail(f"token exchange: bad ID token: {exc}")
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        grant = jwt.encode({"iss": self.idp, "sub": claims["sub"], "aud": self.base, "client_id": "mcp-client",
                            "resource": form["resource"], "scope": form.get("scope", ""), "jti": str(uuid.uuid4()),
                            "iat": now, "exp": now + 300},
                           self.jag_key, algorithm="ES256", headers={"typ": "oauth-id-jag+jwt"})
        return 200, {"access_token": grant, "issued_token_type": ID_JAG, "token_type": "N_A", "expires_in": 300}

    # ------------------------------------------------------------------ authorization server + resource

    def _resource_and_as(self, handler: BaseHTTPRequestHandler, body: bytes) -> Tuple[int, Any, Dict[str, str]]:
        path = urlsplit(handler.path).path
        if path == "/.well-known/oauth-protected-resource/mcp":
            return 200, {"resource": self.mcp_url, "authorization_servers": [self.base], "scopes_supported": ["mcp"]}, {}
        if path == "/.well-known/oauth-authorization-server":
            meta: Dict[str, Any] = {"issuer": self.base, "token_endpoint": f"{self.base}/token",
                                    "grant_types_supported": ["client_credentials", JWT_BEARER],
                                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"]}
            if self.dpop_algs is not None:
                meta["dpop_signing_alg_values_supported"] = self.dpop_algs
            return 200, meta, {}
        if path == "/token" and handler.command == "POST":
            return self._token(handler, body)
        if path in ("/mcp", "/mcp-moved"):
            return self._protected(handler, body)
        return 404, {"error": "not_found"}, {}

    def _proof(self, proof: Optional[str], method: str, url: str, token: Optional[str],
               nonce: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
        """Check a DPoP proof; return (jkt, error)."""
        if not proof or "," in proof:
            return None, "missing or multiple DPoP proofs"
        try:
            header = jwt.get_unverified_header(proof)
            jwk = header.get("jwk") or {}
            if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256" or "d" in jwk:
                return None, f"bad proof header {header}"
            claims = jwt.decode(proof, ECAlgorithm.from_jwk(json.dumps(jwk)), algorithms=["ES256"])
        except jwt.PyJWTError as exc:
            return None, f"proof does not verify: {exc}"
        if claims.get("htm") != method or claims.get("htu") != url or abs(time.time() - claims.get("iat", 0)) > 60:
            return None, f"proof htm/htu/iat wrong: {claims}"
        with self.lock:
            if claims.get("jti") in self.jtis or not claims.get("jti"):
                return None, "proof jti replayed"
            self.jtis.add(claims["jti"])
        if token is not None and claims.get("ath") != b64url(hashlib.sha256(token.encode()).digest()):
            return None, "proof ath does not match the token"
        if token is None and "ath" in claims:
            return None, "ath in a token-request proof"
        if nonce is not None and claims.get("nonce") != nonce:
            return None, "use_dpop_nonce"
        return thumbprint(jwk), None

    def _token(self, handler: BaseHTTPRequestHandler, body: bytes) -> Tuple[int, Any, Dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        record = {"form": form, "dpop": handler.headers.get("DPoP"), "authorization": handler.headers.get("Authorization")}
        self.token_requests.append(record)
        jkt = None
        if record["dpop"] is not None:
            jkt, error = self._proof(record["dpop"], "POST", f"{self.base}/token", None,
                                     self.as_nonce_value if self.as_nonce else None)
            if error == "use_dpop_nonce":
                return 400, {"error": "use_dpop_nonce"}, {"DPoP-Nonce": self.as_nonce_value}
            if error:
                self.fail(f"token request: {error}")
                return 400, {"error": "invalid_dpop_proof", "error_description": error}, {}
        grant = form.get("grant_type")
        client = self._basic(record["authorization"])
        if grant == "client_credentials":
            if client is None:
                return 401, {"error": "invalid_client"}, {}
            subject = client
        elif grant == JWT_BEARER:
            subject = self._assertion(form.get("assertion", ""), client)
            if subject is None:
                return 400, {"error": "invalid_grant"}, {}
        else:
            return 400, {"error": "unsupported_grant_type"}, {}
        if form.get("resource") != self.mcp_url:
            self.fail(f"token request: resource={form.get('resource')!r}")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = {"jkt": jkt, "sub": subject, "exp": time.time() + self.token_ttl}
        answer = {"access_token": token, "token_type": "DPoP" if jkt else "Bearer", "expires_in": self.token_ttl}
        return 200, answer, {}

    def _basic(self, header: Optional[str]) -> Optional[str]:
        if not header or not header.startswith("Basic "):
            return None
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        client_id, secret = unquote(client_id), unquote(secret)
        return client_id if self.clients.get(client_id) == secret else None

    def _assertion(self, assertion: str, client: Optional[str]) -> Optional[str]:
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("typ") == "oauth-id-jag+jwt":
                claims = jwt.decode(assertion, self.jag_key.public_key(), algorithms=["ES256"], audience=self.base)
                if claims.get("client_id") != client or claims.get("resource") != self.mcp_url:
                    self.fail(f"ID-JAG for client {claims.get('client_id')!r}, authenticated {client!r}")
                    return None
                return claims["sub"]
            claims = jwt.decode(assertion, self.workload_key.public_key(), algorithms=["ES256"], audience=self.base,
                                issuer=WORKLOAD_ISSUER)
            return claims["sub"]
        except jwt.PyJWTError as exc:
            self.fail(f"assertion refused: {exc}")
            return None

    def _protected(self, handler: BaseHTTPRequestHandler, body: bytes) -> Tuple[int, Any, Dict[str, str]]:
        scheme, _, token = (handler.headers.get("Authorization") or "").partition(" ")
        entry = {"method": handler.command, "scheme": scheme, "dpop": handler.headers.get("DPoP")}
        self.rs_requests.append(entry)
        prm = f'resource_metadata="{self.base}/.well-known/oauth-protected-resource/mcp"'
        challenge = f"DPoP algs=\"ES256\", {prm}" if self.rs_dpop_only else f"Bearer {prm}, DPoP algs=\"ES256\""
        with self.lock:
            info = self.tokens.get(token)
            path = urlsplit(handler.path).path
            moving = self.rs_redirects > 0 and scheme == "DPoP" and path == "/mcp"
            if moving:
                self.rs_redirects -= 1
        if moving:
            return 307, b"", {"Location": "/mcp-moved"}
        if not info or info["exp"] < time.time():
            return 401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge}
        if info["jkt"] is not None:
            if scheme != "DPoP":
                self.fail(f"DPoP-bound token sent with scheme {scheme!r}")
                return 401, {"error": "invalid_token"}, {"WWW-Authenticate": challenge}
            jkt, error = self._proof(entry["dpop"], handler.command, self.base + path, token,
                                     self.rs_nonce_value if self.rs_nonce else None)
            if error == "use_dpop_nonce":
                return 401, {"error": "use_dpop_nonce"}, {
                    "WWW-Authenticate": f'DPoP error="use_dpop_nonce", {prm}', "DPoP-Nonce": self.rs_nonce_value}
            if error or jkt != info["jkt"]:
                self.fail(f"resource request: {error or 'proof key is not the bound key'}")
                return 401, {"error": "invalid_dpop_proof"}, {"WWW-Authenticate": challenge}
        elif scheme != "Bearer":
            self.fail(f"bearer token sent with scheme {scheme!r}")
        entry["ok"] = True
        if handler.command != "POST":
            return 405, b"", {"Allow": "POST"}
        forward = {k: v for k, v in handler.headers.items()
                   if k.lower() not in ("authorization", "dpop", "host", "content-length", "connection")}
        upstream = requests.post(self.backend, data=body, headers=forward, timeout=10)
        headers = {k: v for k, v in upstream.headers.items() if k.lower() in ("content-type", "mcp-session-id")}
        return upstream.status_code, upstream.content, headers
