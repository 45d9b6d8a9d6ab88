"""The web and worker examples, for real: Flask and Django views calling a real MCP server through
one shared client, several threads at once; a thread pool, a process pool and a forked child."""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import shared_server
from servers import EXAMPLE_SERVER, ROOT

sys.path.insert(0, str(ROOT / "examples"))

N = 24  # requests in flight at once, in each concurrency test


@pytest.fixture(scope="module")
def url() -> str:
    return shared_server((str(EXAMPLE_SERVER),)).url


# ---------------------------------------------------------------------- Flask


@pytest.fixture(scope="module")
def flask_app(url):
    pytest.importorskip("flask")
    from flask_app import create_app

    app = create_app(url)
    yield app
    app.extensions["mcp_client"].close()


def test_flask_views_call_the_server(flask_app):
    web = flask_app.test_client()
    assert {"echo", "add"} <= set(web.get("/tools").get_json())
    reply = web.post("/tools/add", json={"a": 2, "b": 3})
    assert reply.status_code == 200 and reply.get_json()["structured"] == {"result": 5.0}
    failed = web.post("/tools/fail", json={"message": "bad"})
    assert failed.status_code == 422 and "bad" in failed.get_json()["text"]


def test_flask_many_threads_share_one_client(flask_app):
    def one(i: int):
        reply = flask_app.test_client().post("/tools/echo", json={"message": f"m{i}"})
        return reply.status_code, reply.get_json()["text"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(N)))
    assert results == [(200, f"m{i}") for i in range(N)]
    client = flask_app.extensions["mcp_client"]
    assert client.protocol_version is not None  # one client, connected once, used by every thread


def test_flask_under_a_threaded_server(flask_app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-werkzeug", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        def one(i: int) -> str:
            reply = requests.post(f"{base}/tools/generate_numbers", json={"count": 3}, timeout=30)
            reply.raise_for_status()
            return reply.json()["text"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(one, range(N))) == ["1, 2, 3"] * N
    finally:
        server.shutdown()
        thread.join(10)


def test_flask_reports_a_dead_server_as_502():
    pytest.importorskip("flask")
    from flask_app import create_app
    from servers import free_port

    app = create_app(f"http://127.0.0.1:{free_port()}/mcp")
    try:
        reply = app.test_client().post("/tools/echo", json={"message": "x"})
        assert reply.status_code == 502 and "127.0.0.1" in reply.get_json()["error"]
    finally:
        app.extensions["mcp_client"].close()


# ---------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_client(url):
    pytest.importorskip("django")
    sys.path.insert(0, str(ROOT / "examples" / "django_app"))
    os.environ["MCP_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpsite.settings")
    import django
    from django.test import Client as DjangoTestClient

    django.setup()
    from mcpsite.apps import McpSiteConfig

    yield DjangoTestClient
    McpSiteConfig.client.close()


def test_django_views_call_the_server(django_client):
    web = django_client()
    assert {"echo", "add"} <= set(json.loads(web.get("/tools").content))
    reply = web.post("/tools/add", data={"a": 1.5, "b": 2}, content_type="application/json")
    assert reply.status_code == 200 and reply.json()["structured"] == {"result": 3.5}
    assert web.post("/tools/fail", data={}, content_type="application/json").status_code == 422
    assert web.post("/tools/echo", data="not json", content_type="application/json").status_code == 400


def test_django_many_threads_share_one_client(django_client):
    from mcpsite.apps import McpSiteConfig

    def one(i: int):
        reply = django_client().post("/tools/echo", data={"message": f"d{i}"}, content_type="application/json")
        return reply.status_code, reply.json()["text"]

    shared = McpSiteConfig.client
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one, range(N))) == [(200, f"d{i}") for i in range(N)]
    assert McpSiteConfig.client is shared


# ---------------------------------------------------------------------- workers


def test_worker_example_threads_and_processes(url, monkeypatch):
    import workers

    monkeypatch.setenv("MCP_URL", url)
    pairs = [(i, i + 0.5) for i in range(N)]
    assert workers.with_threads(pairs) == [i + i + 0.5 for i in range(N)]
    assert workers.with_processes(pairs[:4]) == [i + i + 0.5 for i in range(4)]


def _child_call(client, queue) -> None:
    try:
        queue.put(client.call_tool("echo", {"message": "from the child"}).text)
    except BaseException as exc:  # report, don't hang the parent
        queue.put(f"error: {exc!r}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_client_made_before_fork_works_in_the_child_and_the_parent(url):
    from mcp_sync import Client

    with Client(url) as client:
        assert client.call_tool("echo", {"message": "before"}).text == "before"
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child_call, args=(client, queue))
        child.start()
        try:
            assert queue.get(timeout=30) == "from the child"
        finally:
            child.join(10)
        assert child.exitcode == 0
        assert client.call_tool("echo", {"message": "after"}).text == "after"
