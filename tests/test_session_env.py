"""Our own requests session reads the environment (proxies, CA bundle, ~/.netrc) once per
origin, as requests would per request: the settings still apply, they are just not re-read."""
from __future__ import annotations

import base64
import json
import socket

import pytest
import responses

from mcp_sync import Client, ConnectError
from mcp_sync.transports._session import EnvironmentOnceSession, new_session

from conftest import shared_server
from servers import EXAMPLE_SERVER

PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
              "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC")


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def test_a_proxy_from_the_environment_is_used(clean_env):
    server = shared_server((str(EXAMPLE_SERVER),))
    clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port()}")
    with pytest.raises(ConnectError, match="through its proxy") as caught:
        with Client(server.url, timeout=10):
            pass  # pragma: no cover - connecting fails
    assert "Connection refused" in str(caught.value)


def test_no_proxy_from_the_environment_is_honoured(clean_env):
    server = shared_server((str(EXAMPLE_SERVER),))
    clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port()}")
    clean_env.setenv("NO_PROXY", "127.0.0.1,localhost")
    with Client(server.url) as client:
        assert client.call_tool("echo", {"message": "via no proxy"}).text == "via no proxy"


def test_the_environment_is_read_once_per_origin(clean_env):
    session = new_session()
    assert isinstance(session, EnvironmentOnceSession)
    clean_env.setenv("HTTP_PROXY", "http://proxy.one:3128")
    first = session.merge_environment_settings("http://mcp.test/mcp", {}, True, None, None)
    clean_env.setenv("HTTP_PROXY", "http://proxy.two:3128")
    again = session.merge_environment_settings("http://mcp.test/other", {}, True, None, None)
    other = session.merge_environment_settings("http://elsewhere.test/mcp", {}, True, None, None)
    assert first["proxies"]["http"] == again["proxies"]["http"] == "http://proxy.one:3128"
    assert other["proxies"]["http"] == "http://proxy.two:3128"


def test_a_ca_bundle_from_the_environment_is_used_unless_verify_is_given(clean_env):
    session = new_session()
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom.pem")
    assert session.merge_environment_settings("https://mcp.test/", {}, True, None, None)["verify"] == \
        "/etc/ssl/custom.pem"
    assert session.merge_environment_settings("https://mcp.test/", {}, True, False, None)["verify"] is False


def test_use_environment_false_reads_nothing(clean_env):
    session = new_session()
    session.use_environment = False
    clean_env.setenv("HTTP_PROXY", "http://proxy.one:3128")
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom.pem")
    settings = session.merge_environment_settings("http://mcp.test/mcp", {}, True, None, None)
    assert settings["proxies"] == {} and settings["verify"] is True


@responses.activate
def test_netrc_credentials_are_sent(clean_env, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine mcp.test login alice password s3cret\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    seen = []

    def handler(request):
        seen.append(request.headers.get("Authorization"))
        body = json.loads(request.body)
        result = {"supportedVersions": ["2026-07-28"], "capabilities": {}, "resultType": "complete",
                  "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1"}}}
        return 200, {"Content-Type": "application/json"}, json.dumps({"jsonrpc": "2.0", "id": body["id"],
                                                                      "result": result})

    responses.add_callback(responses.POST, "http://mcp.test/mcp", callback=handler)
    with Client("http://mcp.test/mcp") as client:
        client.connect()
    assert seen and seen[0] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


def test_the_session_survives_pickling(clean_env):
    import pickle

    session = new_session()
    session.use_environment = False
    copy = pickle.loads(pickle.dumps(session))
    assert isinstance(copy, EnvironmentOnceSession) and copy.use_environment is False
    clean_env.setenv("HTTP_PROXY", "http://proxy.one:3128")
    copy.use_environment = True
    assert copy.merge_environment_settings("http://mcp.test/", {}, True, None, None)["proxies"]["http"] == \
        "http://proxy.one:3128"


def _discover_reply(request):
    body = json.loads(request.body)
    result = {"supportedVersions": ["2026-07-28"], "capabilities": {}, "resultType": "complete",
              "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake", "version": "1"}}}
    return 200, {"Content-Type": "application/json"}, json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": result})


@responses.activate
def test_netrc_credentials_follow_a_redirect_to_another_origin(clean_env, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine mcp.test login alice password s3cret\n"
                     "machine moved.test login bob password other\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    seen = []

    def moved(request):
        seen.append(request.headers.get("Authorization"))
        return _discover_reply(request)

    responses.add(responses.POST, "http://mcp.test/mcp", status=307, headers={"Location": "http://moved.test/mcp"})
    responses.add_callback(responses.POST, "http://moved.test/mcp", callback=moved)
    session = new_session()
    response = session.post("http://mcp.test/mcp", data=b'{"jsonrpc":"2.0","id":1,"method":"server/discover"}',
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert responses.calls[0].request.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    # the first host's credentials are dropped on the new host, and the new host's are sent
    assert seen == ["Basic " + base64.b64encode(b"bob:other").decode()]


def test_a_redirect_keeps_an_authorization_header_rather_than_taking_netrc(clean_env, tmp_path):
    import requests

    netrc = tmp_path / "netrc"
    netrc.write_text("machine mcp.test login alice password s3cret\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    session = new_session()
    original = requests.Request("POST", "http://mcp.test/mcp", headers={"Authorization": "Bearer tok"}).prepare()
    redirected = original.copy()
    redirected.prepare_url("http://mcp.test/elsewhere", None)
    response = requests.Response()
    response.request = original
    session.rebuild_auth(redirected, response)
    assert redirected.headers["Authorization"] == "Bearer tok"  # same host: kept, not replaced


def test_a_redirect_takes_the_proxy_of_its_own_origin(clean_env):
    import requests

    clean_env.setenv("HTTP_PROXY", "http://user:pw@proxy.test:3128")
    clean_env.setenv("NO_PROXY", "mcp.test")
    session = new_session()
    first = session.merge_environment_settings("http://mcp.test/mcp", {}, True, None, None)
    assert "http" not in first["proxies"]  # NO_PROXY: direct
    redirected = requests.Request("POST", "http://moved.test/mcp").prepare()
    proxies = session.rebuild_proxies(redirected, first["proxies"])
    assert proxies["http"] == "http://user:pw@proxy.test:3128"
    assert redirected.headers["Proxy-Authorization"].startswith("Basic ")
    session.use_environment = False
    bare = requests.Request("POST", "http://moved.test/mcp").prepare()
    assert "http" not in session.rebuild_proxies(bare, {})
