"""Authorization (issue 5): the OAuth provider against a real authorization server built from the
official SDK's auth components (tests/servers/oauth_server.py), and HTTP edge cases with
``responses`` that a real server will not produce. The conformance harness's ``auth/*``
scenarios run in tests/test_conformance.py."""
from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from mcp_sync import Client
from mcp_sync.auth import (
    AutoApprove,
    BrowserLogin,
    CallbackLogin,
    ClientCredentials,
    FileTokenStorage,
    Interaction,
    MemoryTokenStorage,
    OAuth,
    PasteLogin,
)
from mcp_sync.auth._discovery import authorization_server_urls
from mcp_sync.auth._urls import bearer_challenge, check_url, resource_matches
from mcp_sync.errors import AuthError
from servers import ServerProcess

OAUTH_SERVER = Path(__file__).resolve().parent / "servers" / "oauth_server.py"
TOKEN_TTL = 4


class NoLogin(Interaction):
    """Fails the test if a login is attempted."""

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        return "http://127.0.0.1:1/callback"

    def authorize(self, url: str) -> str:
        raise AssertionError(f"unexpected login: {url}")


@pytest.fixture(scope="module")
def oauth_server():
    server = ServerProcess([str(OAUTH_SERVER), "--token-ttl", str(TOKEN_TTL)]).start()
    yield server
    server.stop()


def stats(client: Client) -> Dict[str, int]:
    return json.loads(client.call_tool("auth_stats", {}).text)


def follow_in_background(url: str) -> None:
    """Play the browser: follow the authorization server's redirect to the loopback listener."""
    threading.Thread(target=lambda: requests.get(url, timeout=10), name="mcp-sync-test-browser", daemon=True).start()


# ---------------------------------------------------------------------- end to end, real AS


def test_browser_login_refresh_and_restart_with_file_store(oauth_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    storage = FileTokenStorage(tmp_path / "tokens")
    login = BrowserLogin(open_browser=False, show=follow_in_background, timeout=20)
    auth = OAuth(interaction=login, storage=storage, client_name="mcp-sync-tests")
    with Client(oauth_server.url, auth=auth) as client:
        assert client.call_tool("echo", {"message": "hi"}).text == "hi"
        before = stats(client)
        assert before["registrations"] >= 1 and before["authorizations"] >= 1
        assert auth.issuer == f"http://127.0.0.1:{oauth_server.port}"
        files = list((tmp_path / "tokens").iterdir())
        assert len(files) == 1
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "tokens").stat().st_mode) == 0o700
        first = json.loads(files[0].read_text())["record"]["tokens"]

        # The access token expires; the next call refreshes (rotating the refresh token), no login.
        time.sleep(TOKEN_TTL + 0.5)
        assert client.call_tool("echo", {"message": "again"}).text == "again"
        after = stats(client)
        assert after["refreshes"] == before["refreshes"] + 1
        assert after["authorizations"] == before["authorizations"]
        second = json.loads(files[0].read_text())["record"]["tokens"]
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]

    # A new process would start from the file: same server, no login, no registration.
    again = OAuth(interaction=NoLogin(), storage=FileTokenStorage(tmp_path / "tokens"))
    with Client(oauth_server.url, auth=again) as client:
        assert client.call_tool("echo", {"message": "restarted"}).text == "restarted"
        final = stats(client)
        assert final["authorizations"] == after["authorizations"]
        assert final["registrations"] == after["registrations"]

    # Tokens and secrets never reach the logs or the reprs.
    text = caplog.text + repr(auth) + repr(again) + repr(storage)
    for secret in (first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]):
        assert secret not in text


def test_expired_stored_token_is_refreshed_after_restart(oauth_server, tmp_path):
    storage = FileTokenStorage(tmp_path)
    with Client(oauth_server.url, auth=OAuth(interaction=AutoApprove(), storage=storage)) as client:
        start = stats(client)
    time.sleep(TOKEN_TTL + 0.5)
    with Client(oauth_server.url, auth=OAuth(interaction=NoLogin(), storage=storage)) as client:
        now = stats(client)
    assert now["refreshes"] == start["refreshes"] + 1
    assert now["authorizations"] == start["authorizations"]


def test_closing_the_client_closes_the_providers_connections_and_it_stays_usable(oauth_server):
    auth = OAuth(interaction=AutoApprove())

    def pools():
        return sum(len(adapter.poolmanager.pools) for adapter in set(auth._http.adapters.values()))

    with Client(oauth_server.url, auth=auth) as client:
        client.call_tool("echo", {"message": "hi"})
        assert pools() == 1  # kept open to the authorization server
    assert pools() == 0
    with Client(oauth_server.url, auth=auth) as client:  # the same provider again: its token is reused
        assert client.call_tool("echo", {"message": "again"}).text == "again"
    mine = requests.Session()
    shared = OAuth(interaction=AutoApprove(), session=mine)
    with Client(oauth_server.url, auth=shared) as client:
        client.call_tool("echo", {"message": "hi"})
    assert sum(len(a.poolmanager.pools) for a in set(mine.adapters.values())) == 1  # yours: left open
    mine.close()


def test_revoked_refresh_token_falls_back_to_a_new_login(oauth_server, tmp_path):
    storage = MemoryTokenStorage()
    auth = OAuth(interaction=AutoApprove(), storage=storage)
    with Client(oauth_server.url, auth=auth) as client:
        start = stats(client)
        auth._tokens = {"access_token": "bogus", "refresh_token": "bogus"}  # both rejected by the AS
        key, issuer = auth._key, auth.issuer
        storage.save(key, issuer, {**storage.load(key, issuer), "tokens": auth._tokens})
        now = stats(client)
    assert now["authorizations"] == start["authorizations"] + 1


def test_plain_bearer_token_is_sent(oauth_server):
    with pytest.raises(AuthError) as info:
        Client(oauth_server.url, auth="not-a-valid-token").connect()
    assert info.value.status_code == 401


# ---------------------------------------------------------------------- URL and header rules


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi",
                                 "http://example.com/authorize", "https://user:pw@example.com/x",
                                 "https://example.com/x#frag", "ftp://example.com/x", "", "https://exa mple.com"])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(AuthError):
        check_url(url, "test")


@pytest.mark.parametrize("url", ["https://example.com/authorize?x=1", "http://127.0.0.1:8000/cb",
                                 "http://localhost/cb", "http://[::1]:9/cb"])
def test_safe_urls_pass(url):
    assert check_url(url, "test") == url


def test_www_authenticate_parsing():
    header = ('Basic realm="x", Bearer error="insufficient_scope", scope="a b", '
              'resource_metadata="https://s/.well-known/oauth-protected-resource/mcp", error_description="no \\"way\\""')
    challenge = bearer_challenge(header)
    assert challenge["scope"] == "a b" and challenge["error"] == "insufficient_scope"
    assert challenge["resource_metadata"].endswith("/mcp")
    assert challenge["error_description"] == 'no "way"'
    assert bearer_challenge("Bearer") == {"scheme": "bearer"}
    assert bearer_challenge("") == {}


def test_resource_matching():
    assert resource_matches("https://S.example.com/mcp/", "https://s.example.com/mcp")
    assert resource_matches("https://s.example.com", "https://s.example.com/mcp")
    assert not resource_matches("https://s.example.com/mc", "https://s.example.com/mcp")
    assert not resource_matches("https://evil.example.com/mcp", "https://s.example.com/mcp")


def test_authorization_server_discovery_order():
    assert authorization_server_urls("https://as.example.com/tenant1") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://as.example.com/.well-known/openid-configuration/tenant1",
        "https://as.example.com/tenant1/.well-known/openid-configuration",
    ]
    assert authorization_server_urls("https://as.example.com") == [
        "https://as.example.com/.well-known/oauth-authorization-server",
        "https://as.example.com/.well-known/openid-configuration",
    ]


def test_metadata_body_that_stalls_is_no_metadata_not_a_urllib3_error():
    import socket

    from mcp_sync.auth._discovery import get_json

    listener = socket.create_server(("127.0.0.1", 0))
    held: List[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\"")

    threading.Thread(target=serve, name="mcp-sync-test-stall", daemon=True).start()
    try:
        with requests.Session() as http:
            assert get_json(http, f"http://127.0.0.1:{listener.getsockname()[1]}/meta", 0.5) is None
    finally:
        for conn in held:
            conn.close()
        listener.close()


# ---------------------------------------------------------------------- a mock AS for edge cases

MCP = "https://mcp.example.com/mcp"
AS = "https://as.example.com"
PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


def as_metadata(**extra: Any) -> Dict[str, Any]:
    data = {"issuer": AS, "authorization_endpoint": f"{AS}/authorize", "token_endpoint": f"{AS}/token",
            "registration_endpoint": f"{AS}/register", "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"], "response_types_supported": ["code"]}
    data.update(extra)
    return data


class Approver(Interaction):
    """Answers the authorization request itself, like a mock AS would, recording what it saw."""

    def __init__(self, iss: Optional[str] = "same", state: Optional[str] = None) -> None:
        self.requests: List[Dict[str, str]] = []
        self.iss, self.state = iss, state

    def prepare(self, preferred_redirect_uri: Optional[str] = None) -> str:
        return "http://127.0.0.1:9/callback"

    def authorize(self, url: str) -> str:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.requests.append(query)
        out = f"http://127.0.0.1:9/callback?code=c{len(self.requests)}&state={self.state or query['state']}"
        if self.iss == "same":
            out += f"&iss={AS}"
        elif self.iss:
            out += f"&iss={self.iss}"
        return out


def mock_world(rsps: responses.RequestsMock, *, prm: Optional[Dict[str, Any]] = None,
               meta: Optional[Dict[str, Any]] = None, mcp_status=(401,), tokens: Optional[List[Dict]] = None) -> None:
    rsps.add(responses.GET, PRM_URL, json=prm if prm is not None else
             {"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["mcp:read"]})
    rsps.add(responses.GET, f"{AS}/.well-known/oauth-authorization-server", json=meta or as_metadata())
    rsps.add(responses.POST, f"{AS}/register", json={"client_id": "dcr-client"}, status=201)
    for token in tokens or [{"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600,
                             "refresh_token": "ref-1"}]:
        rsps.add(responses.POST, f"{AS}/token", json=token)


def challenge_then_ok(rsps: responses.RequestsMock, challenges: List[tuple]) -> None:
    for status, header in challenges:
        rsps.add(responses.POST, MCP, status=status, headers={"WWW-Authenticate": header}, json={"error": "x"})
    rsps.add(responses.POST, MCP, json={"ok": True})


@responses.activate
def test_full_flow_with_mocked_servers_sends_pkce_resource_and_scope():
    mock_world(responses.mock)
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    approver = Approver()
    auth = OAuth(interaction=approver)
    response = requests.post(MCP, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, auth=auth, stream=True)
    assert response.json() == {"ok": True}
    assert response.request.headers["Authorization"] == "Bearer tok-1"
    query = approver.requests[0]
    assert query["code_challenge_method"] == "S256" and query["resource"] == MCP and query["scope"] == "mcp:read"
    registration = json.loads(next(c.request.body for c in responses.calls if c.request.url == f"{AS}/register"))
    assert registration["application_type"] == "native"
    assert "refresh_token" in registration["grant_types"]
    token_form = parse_qs(next(c.request.body for c in responses.calls if c.request.url == f"{AS}/token"))
    assert token_form["resource"] == [MCP] and token_form["code_verifier"][0]
    assert "tok-1" not in repr(auth)


@responses.activate
def test_a_token_store_that_cannot_be_written_does_not_fail_the_login(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    mock_world(responses.mock)
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    auth = OAuth(interaction=Approver(), storage=FileTokenStorage(blocker / "tokens"))
    with caplog.at_level(logging.WARNING, logger="mcp_sync.auth"):
        response = requests.post(MCP, data=b"{}", auth=auth)
    assert response.json() == {"ok": True}
    assert "could not save" in caplog.text and "tok-1" not in caplog.text


@responses.activate
def test_token_is_never_sent_to_another_origin():
    auth = OAuth(MCP, interaction=NoLogin())
    auth._tokens = {"access_token": "secret-token"}
    responses.add(responses.GET, "https://elsewhere.example.com/x", body="ok")
    responses.add(responses.POST, MCP, body="ok")
    other = requests.get("https://elsewhere.example.com/x", auth=auth)
    assert "Authorization" not in other.request.headers
    same = requests.post(MCP, data=b"{}", auth=auth)
    assert same.request.headers["Authorization"] == "Bearer secret-token"
    assert "secret-token" not in same.request.url


@responses.activate
def test_token_is_not_sent_after_a_redirect_to_another_origin_that_answers_401():
    auth = OAuth(MCP, interaction=NoLogin())
    auth._tokens = {"access_token": "secret-token"}
    responses.add(responses.POST, MCP, status=307, headers={"Location": "https://elsewhere.example.com/x"})
    responses.add(responses.POST, "https://elsewhere.example.com/x", status=401, headers={"WWW-Authenticate": "Bearer"})
    response = requests.post(MCP, data=b"{}", auth=auth)
    assert response.status_code == 401
    elsewhere = [c.request for c in responses.calls if c.request.url.startswith("https://elsewhere.")]
    assert elsewhere and all("Authorization" not in r.headers for r in elsewhere)


@responses.activate
def test_resource_mismatch_stops_before_authorizing():
    mock_world(responses.mock, prm={"resource": "https://evil.example.com/mcp", "authorization_servers": [AS]})
    responses.add(responses.POST, MCP, status=401, headers={"WWW-Authenticate": "Bearer"})
    approver = Approver()
    with pytest.raises(AuthError, match="evil"):
        requests.post(MCP, data=b"{}", auth=OAuth(interaction=approver))
    assert approver.requests == []


@responses.activate
def test_metadata_with_another_issuer_or_without_pkce_is_refused():
    mock_world(responses.mock, meta=as_metadata(issuer="https://attacker.example.com"))
    responses.add(responses.GET, f"{AS}/.well-known/openid-configuration", status=404)
    responses.add(responses.POST, MCP, status=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{PRM_URL}"'})
    approver = Approver()
    with pytest.raises(AuthError, match="no usable authorization-server metadata"):
        requests.post(MCP, data=b"{}", auth=OAuth(interaction=approver))
    assert approver.requests == []
    responses.reset()
    mock_world(responses.mock, meta={k: v for k, v in as_metadata().items() if k != "code_challenge_methods_supported"})
    responses.add(responses.POST, MCP, status=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{PRM_URL}"'})
    with pytest.raises(AuthError, match="PKCE"):
        requests.post(MCP, data=b"{}", auth=OAuth(interaction=approver))
    assert approver.requests == []


@pytest.mark.parametrize("advertised,iss,ok", [
    (True, "same", True), (True, None, False), (None, "https://evil.example.com", False),
    (None, None, True), (True, AS + "/", False), (False, "same", True),
])
@responses.activate
def test_iss_validation_table(advertised, iss, ok):
    extra = {} if advertised is None else {"authorization_response_iss_parameter_supported": advertised}
    mock_world(responses.mock, meta=as_metadata(**extra))
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    auth = OAuth(interaction=Approver(iss=iss))
    if ok:
        assert requests.post(MCP, data=b"{}", auth=auth).status_code == 200
    else:
        with pytest.raises(AuthError, match="iss"):
            requests.post(MCP, data=b"{}", auth=auth)
        assert not any(c.request.url == f"{AS}/token" for c in responses.calls)


@responses.activate
def test_state_mismatch_is_refused():
    mock_world(responses.mock)
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    with pytest.raises(AuthError, match="state"):
        requests.post(MCP, data=b"{}", auth=OAuth(interaction=Approver(state="forged")))


@responses.activate
def test_step_up_unions_scopes_and_is_capped():
    mock_world(responses.mock, tokens=[{"access_token": f"tok-{i}", "token_type": "Bearer"} for i in range(5)])
    insufficient = (403, f'Bearer error="insufficient_scope", scope="mcp:write", resource_metadata="{PRM_URL}"')
    for _ in range(6):
        responses.add(responses.POST, MCP, status=insufficient[0], headers={"WWW-Authenticate": insufficient[1]})
    responses.mock._registry.registered.insert(3, responses.Response(
        responses.POST, MCP, status=401, headers={"WWW-Authenticate": f'Bearer scope="mcp:read" resource_metadata="{PRM_URL}"'}))
    approver = Approver()
    auth = OAuth(interaction=approver, max_step_up=2)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "w"}})
    response = requests.post(MCP, data=body, auth=auth)
    assert response.status_code == 403
    assert [q.get("scope") for q in approver.requests] == ["mcp:read", "mcp:read mcp:write", "mcp:read mcp:write"]
    # The same operation does not get more attempts on a later request.
    assert requests.post(MCP, data=body, auth=auth).status_code == 403
    assert len(approver.requests) == 3


@responses.activate
def test_refresh_rotation_keeps_old_refresh_token_when_none_returned():
    storage = MemoryTokenStorage()
    mock_world(responses.mock, tokens=[
        {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "ref-1"},
        {"access_token": "tok-2", "token_type": "Bearer", "expires_in": 3600},
        {"access_token": "tok-3", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "ref-3"},
    ])
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    auth = OAuth(interaction=Approver(), storage=storage)
    requests.post(MCP, data=b"{}", auth=auth)
    auth._tokens["expires_at"] = time.time() - 1
    responses.add(responses.POST, MCP, json={"ok": 2})
    requests.post(MCP, data=b"{}", auth=auth)
    assert auth._tokens["access_token"] == "tok-2" and auth._tokens["refresh_token"] == "ref-1"
    auth._tokens["expires_at"] = time.time() - 1
    requests.post(MCP, data=b"{}", auth=auth)
    assert storage.load(auth._key, AS)["tokens"]["refresh_token"] == "ref-3"
    refresh_forms = [parse_qs(c.request.body) for c in responses.calls
                     if c.request.url == f"{AS}/token" and "refresh_token" in parse_qs(c.request.body)["grant_type"]]
    assert [f["refresh_token"] for f in refresh_forms] == [["ref-1"], ["ref-1"]]
    assert all(f["resource"] == [MCP] for f in refresh_forms)


@responses.activate
def test_legacy_fallback_uses_default_endpoints_without_resource():
    responses.add(responses.GET, PRM_URL, status=404)
    responses.add(responses.GET, "https://mcp.example.com/.well-known/oauth-protected-resource", status=404)
    responses.add(responses.GET, "https://mcp.example.com/.well-known/oauth-authorization-server", status=404)
    responses.add(responses.POST, "https://mcp.example.com/register", json={"client_id": "c"}, status=201)
    responses.add(responses.POST, "https://mcp.example.com/token", json={"access_token": "t", "token_type": "bearer"})
    challenge_then_ok(responses.mock, [(401, "Bearer")])

    class Legacy(Approver):
        def authorize(self, url: str) -> str:
            assert url.startswith("https://mcp.example.com/authorize?")
            self.iss = None
            return super().authorize(url)

    approver = Legacy()
    assert requests.post(MCP, data=b"{}", auth=OAuth(interaction=approver)).status_code == 200
    assert "resource" not in approver.requests[0]


@responses.activate
def test_preregistered_client_is_bound_to_its_issuer():
    mock_world(responses.mock, meta=as_metadata(token_endpoint_auth_methods_supported=["client_secret_post"]))
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    auth = OAuth(interaction=Approver(), client_id="pre", client_secret="pre-secret", issuer="https://other.example.com")
    with pytest.raises(AuthError, match="registered with https://other.example.com"):
        requests.post(MCP, data=b"{}", auth=auth)
    assert not any(c.request.url.startswith(AS + "/token") for c in responses.calls)
    assert "pre-secret" not in repr(auth) and "pre-secret" not in repr(auth._preregistered)


@responses.activate
def test_client_credentials_private_key_jwt():
    jwt = pytest.importorskip("jwt")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    mock_world(responses.mock, meta=as_metadata(token_endpoint_auth_methods_supported=["private_key_jwt"]),
               tokens=[{"access_token": "cc-1", "token_type": "Bearer", "expires_in": 3600}])
    challenge_then_ok(responses.mock, [(401, f'Bearer resource_metadata="{PRM_URL}"')])
    auth = ClientCredentials("svc", private_key=pem, signing_algorithm="ES256")
    assert requests.post(MCP, data=b"{}", auth=auth).status_code == 200
    form = parse_qs(next(c.request.body for c in responses.calls if c.request.url == f"{AS}/token"))
    assert form["grant_type"] == ["client_credentials"] and form["resource"] == [MCP]
    claims = jwt.decode(form["client_assertion"][0], key.public_key(), algorithms=["ES256"], audience=AS)
    assert claims["iss"] == claims["sub"] == "svc" and claims["exp"] > time.time()
    assert "BEGIN" not in repr(auth)


@responses.activate
def test_client_credentials_on_a_legacy_server_need_no_pkce_in_its_metadata():
    # PKCE belongs to the authorization-code flow; the client_credentials grant has no use for it.
    responses.add(responses.GET, PRM_URL, status=404)
    responses.add(responses.GET, "https://mcp.example.com/.well-known/oauth-protected-resource", status=404)
    responses.add(responses.GET, "https://mcp.example.com/.well-known/oauth-authorization-server",
                  json={k: v for k, v in as_metadata(token_endpoint_auth_methods_supported=["client_secret_basic"]).items()
                        if k != "code_challenge_methods_supported"})
    responses.add(responses.POST, f"{AS}/token", json={"access_token": "cc-1", "token_type": "Bearer"})
    challenge_then_ok(responses.mock, [(401, "Bearer")])
    auth = ClientCredentials("svc", client_secret="s3cret")
    assert requests.post(MCP, data=b"{}", auth=auth).status_code == 200
    form = parse_qs(next(c.request.body for c in responses.calls if c.request.url == f"{AS}/token"))
    assert form["grant_type"] == ["client_credentials"] and "resource" not in form


# ---------------------------------------------------------------------- interactions and storage


def test_browser_login_listener_is_one_shot_and_times_out():
    login = BrowserLogin(open_browser=False, show=lambda url: None, timeout=0.5)
    redirect = login.prepare()
    assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/callback")
    with pytest.raises(AuthError, match="within"):
        login.authorize("https://as.example.com/authorize?x=1")
    port = urlsplit(redirect).port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/callback", timeout=2)


def test_browser_login_receives_the_redirect():
    login = BrowserLogin(open_browser=False, timeout=10)
    redirect = login.prepare()
    login.show = lambda url: threading.Thread(
        target=lambda: requests.get(redirect + "?code=abc&state=s", timeout=5), daemon=True).start()
    assert login.authorize("https://as.example.com/authorize").endswith("/callback?code=abc&state=s")


def test_browser_login_keeps_the_code_out_of_the_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_sync")
    login = BrowserLogin(open_browser=False, timeout=10)
    redirect = login.prepare()
    login.show = lambda url: threading.Thread(
        target=lambda: requests.get(redirect + "?code=the-code-123&state=s", timeout=5), daemon=True).start()
    assert "the-code-123" in login.authorize("https://as.example.com/authorize")
    assert "loopback listener" in caplog.text and "the-code-123" not in caplog.text


@pytest.mark.timeout(30)
def test_browser_login_is_not_held_up_by_an_idle_connection():
    # Browsers open speculative connections they may never use; one must not block the listener.
    import socket

    login = BrowserLogin(open_browser=False, timeout=15)
    redirect = login.prepare()
    idle = socket.create_connection(("127.0.0.1", urlsplit(redirect).port), timeout=5)
    try:
        login.show = lambda url: threading.Thread(
            target=lambda: requests.get(redirect + "?code=abc&state=s", timeout=14), daemon=True).start()
        started = time.monotonic()
        assert login.authorize("https://as.example.com/authorize").endswith("?code=abc&state=s")
        assert time.monotonic() - started < 10
    finally:
        idle.close()


def test_browser_login_refuses_unsafe_authorization_urls():
    login = BrowserLogin(open_browser=False, show=lambda url: pytest.fail("shown"), timeout=1)
    login.prepare()
    with pytest.raises(AuthError):
        login.authorize("javascript:alert(1)")


def test_paste_and_callback_logins():
    shown: List[str] = []
    paste = PasteLogin(show=shown.append, read=lambda: " http://127.0.0.1:8976/callback?code=x&state=y ")
    assert paste.authorize("https://as.example.com/a") == "http://127.0.0.1:8976/callback?code=x&state=y"
    assert shown == ["https://as.example.com/a"]
    hook = CallbackLogin("https://app.example.com/oauth/callback",
                         send_user_to=lambda url: threading.Timer(0.05, hook.deliver, ["https://app/cb?code=1"]).start(),
                         timeout=5)
    hook.prepare()
    assert hook.authorize("https://as.example.com/a") == "https://app/cb?code=1"
    slow = CallbackLogin("https://app.example.com/cb", send_user_to=lambda url: None, timeout=0.1)
    with pytest.raises(AuthError):
        slow.authorize("https://as.example.com/a")


def test_file_storage_binds_records_to_server_and_issuer(tmp_path):
    storage = FileTokenStorage(tmp_path / "t")
    storage.save("https://s/mcp", "https://as1", {"tokens": {"access_token": "a"}})
    assert storage.load("https://s/mcp", "https://as1") == {"tokens": {"access_token": "a"}}
    assert storage.load("https://s/mcp", "https://as2") is None
    path = storage.path("https://s/mcp", "https://as1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # A file copied under another pair's name is not believed.
    os.replace(path, storage.path("https://s/mcp", "https://as2"))
    assert storage.load("https://s/mcp", "https://as2") is None
    storage.delete("https://s/mcp", "https://as2")
    assert list((tmp_path / "t").iterdir()) == []


def test_paste_login_waits_a_bounded_time_for_the_paste(monkeypatch):
    """The default headless reader gives up with AuthError after its timeout instead of
    blocking on stdin forever; a pasted line is returned."""
    import os
    import sys

    from mcp_sync.auth import PasteLogin
    from mcp_sync.errors import AuthError

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as fake_stdin:
        monkeypatch.setattr(sys, "stdin", fake_stdin)
        login = PasteLogin(show=lambda url: None, timeout=0.2)
        with pytest.raises(AuthError, match="within 0.2s"):
            login.authorize("https://auth.example.com/authorize?x=1")
        os.write(write_fd, b"http://127.0.0.1:8976/callback?code=abc&state=s\n")
        assert login.authorize("https://auth.example.com/authorize?x=1") == \
            "http://127.0.0.1:8976/callback?code=abc&state=s"
    os.close(write_fd)


def test_a_stored_record_without_a_client_id_is_not_adopted():
    """A token file edited by hand (or written by something else) must not crash the provider."""
    from mcp_sync.auth import OAuth

    provider = OAuth()
    provider._adopt({"client": {"client_secret": "x"}, "scopes": ["a"]}, {"access_token": "t"})
    assert provider._identity is None
