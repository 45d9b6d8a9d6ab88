"""OAuth extensions (issues 5 and 9): DPoP-bound tokens, enterprise-managed authorization (ID-JAG)
and workload identity federation, end to end against the strict loopback OAuth world of
tests/auth_world.py in front of a real MCP server, plus ``responses`` edge cases. The harness's
``auth/dpop*``, ``auth/enterprise-managed-authorization``, ``auth/cross-app-access-complete-flow``
and ``auth/wif-jwt-bearer`` scenarios run in tests/test_conformance.py."""
from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm

from auth_world import World
from conftest import shared_server
from mcp_sync import Client
from mcp_sync.auth import ClientCredentials, DPoPKey, EnterpriseAuth, WorkloadIdentity
from mcp_sync.auth.dpop import DPoPSession, _public_jwk, _thumbprint
from mcp_sync.errors import AuthError
from servers import EXAMPLE_SERVER


@pytest.fixture(scope="module")
def backend():
    return shared_server((str(EXAMPLE_SERVER), "--json-response"))


@pytest.fixture
def world(backend):
    w = World(backend=backend.url)
    yield w
    w.close()


def use(client: Client, calls: int = 3) -> None:
    for i in range(calls):
        assert client.call_tool("echo", {"message": f"call {i}"}).text == f"call {i}"


# ---------------------------------------------------------------------- DPoP


@pytest.mark.parametrize("nonces", [False, True], ids=["no-nonce", "nonces"])
def test_dpop_bound_tokens_end_to_end(world, nonces):
    world.dpop_algs = ["ES256"]
    world.as_nonce = world.rs_nonce = nonces
    auth = ClientCredentials("mcp-client", client_secret="mcp-secret")
    with Client(world.mcp_url, auth=auth) as client:
        use(client)
    assert world.errors == []
    # every token request carried a proof; the token is bound to the provider's key
    assert all(r["dpop"] for r in world.token_requests)
    assert auth.dpop_key is not None and all(t["jkt"] == auth.dpop_key.thumbprint for t in world.tokens.values())
    authorized = [r for r in world.rs_requests if r.get("ok")]
    assert authorized and {r["scheme"] for r in authorized} == {"DPoP"}
    proofs = [r["dpop"] for r in world.rs_requests if r["dpop"]]
    assert len(set(proofs)) == len(proofs)  # a fresh proof on every request, retries included
    if nonces:
        # one use_dpop_nonce round at each server, then the nonce is remembered
        assert len(world.token_requests) == 2
        assert sum(1 for r in world.rs_requests if r["scheme"] == "DPoP" and not r.get("ok")) == 1
        claims = jwt.decode(proofs[-1], options={"verify_signature": False})
        assert claims["nonce"] == world.rs_nonce_value


@pytest.mark.parametrize("own_session", [True, False], ids=["our-session", "your-session"])
def test_a_redirected_dpop_request_gets_a_fresh_proof_not_a_new_token(world, own_session):
    import requests

    world.dpop_algs = ["ES256"]
    auth = ClientCredentials("mcp-client", client_secret="mcp-secret")
    session = None if own_session else requests.Session()
    with Client(world.mcp_url, auth=auth, session=session) as client:
        use(client, 1)
        world.rs_redirects = 1  # the next call is redirected (307) within the server's origin
        use(client, 2)
    if session is not None:
        session.close()
    assert len(world.token_requests) == 1  # the token was never at fault
    # requests' copy of the request carried its proof along: our session strips it, a plain
    # one sends it to the new URL; either way the server refuses once and a fresh proof follows
    assert len(world.errors) == 1
    assert ("missing or multiple DPoP proofs" if own_session else "htm/htu/iat wrong") in world.errors[0]
    proofs = [r["dpop"] for r in world.rs_requests if r.get("ok")]
    assert len(set(proofs)) == len(proofs)


def test_dpop_is_used_when_only_the_resource_server_demands_it(world):
    world.rs_dpop_only = True  # the AS does not advertise DPoP, the MCP server challenges with DPoP only
    auth = ClientCredentials("mcp-client", client_secret="mcp-secret")
    with Client(world.mcp_url, auth=auth) as client:
        use(client, 1)
    assert world.errors == [] and auth.dpop_key is not None
    assert {r["scheme"] for r in world.rs_requests if r.get("ok")} == {"DPoP"}


def test_dpop_can_be_turned_off_or_given_a_key(world):
    world.dpop_algs = ["ES256"]
    off = ClientCredentials("mcp-client", client_secret="mcp-secret", dpop=False)
    with Client(world.mcp_url, auth=off) as client:
        use(client, 1)
    assert off.dpop_key is None and world.token_requests[-1]["dpop"] is None
    assert {r["scheme"] for r in world.rs_requests if r.get("ok")} == {"Bearer"}

    key = DPoPKey.generate()
    again = DPoPKey(key.private_pem())  # a key kept across restarts keeps its thumbprint
    assert again.thumbprint == key.thumbprint
    mine = ClientCredentials("mcp-client", client_secret="mcp-secret", dpop=again)
    with Client(world.mcp_url, auth=mine) as client:
        use(client, 1)
    assert mine.dpop_key is again and world.errors == []
    assert any(t["jkt"] == key.thumbprint for t in world.tokens.values())


def test_dpop_key_with_an_algorithm_the_server_refuses_is_an_error(world):
    world.dpop_algs = ["ES256"]
    auth = ClientCredentials("mcp-client", client_secret="mcp-secret", dpop=DPoPKey.generate("ES384"))
    with pytest.raises(AuthError, match="ES384"):
        Client(world.mcp_url, auth=auth).connect()
    assert world.token_requests == []


def test_dpop_proof_contents():
    key = DPoPKey.generate()
    session = DPoPSession(key)
    proof = session.proof("post", "https://mcp.example.com/mcp?x=1#frag", "the-token")
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}  # public parts only
    claims = jwt.decode(proof, ECAlgorithm.from_jwk(json.dumps(header["jwk"])), algorithms=["ES256"])
    assert claims["htm"] == "POST" and claims["htu"] == "https://mcp.example.com/mcp"
    expected_ath = base64.urlsafe_b64encode(hashlib.sha256(b"the-token").digest()).rstrip(b"=").decode()
    assert claims["ath"] == expected_ath and "nonce" not in claims
    assert session.proof("POST", "https://mcp.example.com/mcp") != session.proof("POST", "https://mcp.example.com/mcp")


def test_jwk_thumbprint_matches_rfc7638_example():
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
         "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
         "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    numbers = rsa.RSAPublicNumbers(65537, int.from_bytes(base64.urlsafe_b64decode(n + "=="), "big"))
    jwk = _public_jwk(numbers.public_key(), "RS256")
    assert _thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_token_bound_to_another_key_is_not_sent():
    auth = ClientCredentials("c", client_secret="s", dpop=True)
    auth._dpop = DPoPSession(DPoPKey.generate())
    auth._tokens = {"access_token": "bound-elsewhere", "token_type": "DPoP", "dpop_jkt": "not-this-key"}
    assert not auth._usable(auth._tokens)
    import requests

    prepared = requests.Request("POST", "https://mcp.example.com/mcp", data=b"{}").prepare()
    auth._authorize(prepared, auth._tokens)
    assert "Authorization" not in prepared.headers and "DPoP" not in prepared.headers


@responses.activate
def test_dpop_token_without_a_proof_is_refused():
    from mcp_sync.auth._token import ClientIdentity, token_request

    responses.add(responses.POST, "https://as.example.com/token",
                  json={"access_token": "t", "token_type": "DPoP"})
    with pytest.raises(AuthError, match="no DPoP proof"):
        token_request(__import__("requests").Session(), "https://as.example.com/token",
                      {"grant_type": "client_credentials"}, ClientIdentity("c", "s", "client_secret_post"),
                      jwt_audience="https://as.example.com", timeout=5)


# ---------------------------------------------------------------------- enterprise-managed (ID-JAG)


@pytest.mark.parametrize("discover_idp", [False, True], ids=["idp-endpoint", "idp-issuer"])
def test_enterprise_id_jag_end_to_end(world, discover_idp):
    calls = []

    def id_token() -> str:
        calls.append(1)
        return world.id_token()

    where = {"idp_issuer": world.idp} if discover_idp else {"idp_token_endpoint": f"{world.idp}/token"}
    auth = EnterpriseAuth("mcp-client", client_secret="mcp-secret", id_token=id_token, idp_client_id="idp-client",
                          **where)
    with Client(world.mcp_url, auth=auth) as client:
        use(client)
    assert world.errors == []
    assert len(world.exchanges) == 1 and calls == [1]
    assert world.exchanges[0]["scope"] == "mcp"  # from the protected-resource metadata
    (request,) = world.token_requests
    assert request["form"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert request["authorization"].startswith("Basic ")  # client_secret_basic at the MCP AS
    assert jwt.get_unverified_header(request["form"]["assertion"])["typ"] == "oauth-id-jag+jwt"


def test_enterprise_renews_with_a_fresh_id_jag_when_the_token_expires(world):
    world.token_ttl = 1  # expires at once (the refresh margin is a tenth of the lifetime)
    tokens = iter([world.id_token(), world.id_token(subject="alice@example.com")] + [world.id_token()] * 10)
    auth = EnterpriseAuth("mcp-client", client_secret="mcp-secret", id_token=lambda: next(tokens),
                          idp_token_endpoint=f"{world.idp}/token", idp_client_id="idp-client")
    with Client(world.mcp_url, auth=auth) as client:
        __import__("time").sleep(1.1)
        use(client, 1)
    assert world.errors == [] and len(world.exchanges) >= 2 and len(world.token_requests) >= 2


def test_enterprise_idp_refusal_is_raised_and_nothing_reaches_the_authorization_server(world):
    world.idp_refuses = True
    auth = EnterpriseAuth("mcp-client", client_secret="mcp-secret", id_token=world.id_token(),
                          idp_token_endpoint=f"{world.idp}/token", idp_client_id="idp-client")
    with pytest.raises(AuthError, match="access_denied"):
        Client(world.mcp_url, auth=auth).connect()
    assert len(world.exchanges) == 1 and world.token_requests == []


def test_enterprise_with_dpop(world):
    world.dpop_algs = ["ES256"]
    world.as_nonce = True
    auth = EnterpriseAuth("mcp-client", client_secret="mcp-secret", id_token=world.id_token(),
                          idp_token_endpoint=f"{world.idp}/token", idp_client_id="idp-client")
    with Client(world.mcp_url, auth=auth) as client:
        use(client, 1)
    assert world.errors == [] and {r["scheme"] for r in world.rs_requests if r.get("ok")} == {"DPoP"}
    assert "DPoP" not in str(world.exchanges)  # proofs go to the MCP AS, not the IdP


@responses.activate
def test_token_exchange_answer_that_is_not_an_id_jag_is_refused():
    mcp, as_ = "https://mcp.example.com/mcp", "https://as.example.com"
    responses.add(responses.POST, mcp, status=401, headers={"WWW-Authenticate": "Bearer"})
    responses.add(responses.GET, "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                  json={"resource": mcp, "authorization_servers": [as_]})
    responses.add(responses.GET, f"{as_}/.well-known/oauth-authorization-server",
                  json={"issuer": as_, "token_endpoint": f"{as_}/token"})
    responses.add(responses.POST, "https://idp.example.com/token",
                  json={"access_token": "x", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
    auth = EnterpriseAuth("c", client_secret="s", id_token="a.b.c", idp_token_endpoint="https://idp.example.com/token")
    with pytest.raises(AuthError, match="not an ID-JAG"):
        Client(mcp, auth=auth, protocol="2025-11-25").connect()
    assert not any(call.request.url == f"{as_}/token" for call in responses.calls)


# ---------------------------------------------------------------------- workload identity


def test_workload_identity_from_file_rereads_the_rotated_token(world, tmp_path):
    world.token_ttl = 1
    path = tmp_path / "token"
    path.write_text(world.workload_token(subject="first") + "\n")
    auth = WorkloadIdentity.from_file(path)
    with Client(world.mcp_url, auth=auth) as client:
        path.write_text(world.workload_token(subject="second"))  # the platform rotates it
        __import__("time").sleep(1.1)
        use(client, 1)
    assert world.errors == []
    subjects = [t["sub"] for t in world.tokens.values()]
    assert subjects[0] == "first" and "second" in subjects
    request = world.token_requests[0]
    assert request["authorization"] is None and "client_id" not in request["form"]  # no client credentials


def test_workload_identity_refusal_is_final(world, monkeypatch):
    monkeypatch.setenv("TEST_WORKLOAD_TOKEN", world.workload_token(audience="https://elsewhere.example"))
    auth = WorkloadIdentity.from_env("TEST_WORKLOAD_TOKEN")
    with pytest.raises(AuthError, match="invalid_grant"):
        Client(world.mcp_url, auth=auth).connect()
    assert len(world.token_requests) == 1  # not retried, no other grant tried


def test_workload_identity_needs_a_jwt(world, tmp_path):
    with pytest.raises(AuthError, match="cannot read"):
        Client(world.mcp_url, auth=WorkloadIdentity.from_file(tmp_path / "missing")).connect()
    with pytest.raises(AuthError, match="not a JWT"):
        Client(world.mcp_url, auth=WorkloadIdentity("not-a-jwt")).connect()
    assert world.token_requests == []


def test_token_request_survives_a_connection_reset_once_with_fresh_proofs():
    """A keep-alive connection the AS closed while idle: one more try, never the same proof."""
    import requests

    from mcp_sync.auth._token import ClientIdentity, token_request

    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://as.example.com/token", body=requests.ConnectionError("reset by peer"))
        rsps.add(responses.POST, "https://as.example.com/token", json={"access_token": "t", "token_type": "DPoP"})
        session = DPoPSession(DPoPKey.generate())
        record = token_request(requests.Session(), "https://as.example.com/token", {"grant_type": "client_credentials"},
                               ClientIdentity("c", "s", "client_secret_post"), jwt_audience="https://as.example.com",
                               timeout=5, dpop=session)
        assert record["token_type"] == "DPoP" and len(rsps.calls) == 2
        assert rsps.calls[0].request.headers["DPoP"] != rsps.calls[1].request.headers["DPoP"]
    with responses.RequestsMock() as rsps:
        for _ in range(2):
            rsps.add(responses.POST, "https://as.example.com/token", body=requests.ConnectionError("reset by peer"))
        with pytest.raises(AuthError, match="reset by peer"):
            token_request(requests.Session(), "https://as.example.com/token", {"grant_type": "client_credentials"},
                          ClientIdentity("c", "s", "client_secret_post"), jwt_audience="https://as.example.com",
                          timeout=5)
        assert len(rsps.calls) == 2
