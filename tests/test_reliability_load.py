"""Load and lifecycle: one client shared by many threads, close() with calls in flight, fork
safety, many clients in one process. Real servers on loopback; bounded in count and time."""
from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator, List

import pytest

from servers import EXAMPLE_SERVER, ServerProcess, calls_in_flight
from mcp_sync import Client, ClientClosedError, ConnectionClosed

TESTS = Path(__file__).resolve().parent
LIGHT_SERVER = str(TESTS / "light_server.py")
STDIO_SCRIPTED = str(TESTS / "stdio_scripted.py")


@pytest.fixture(scope="module")
def light() -> Iterator[ServerProcess]:
    server = ServerProcess([LIGHT_SERVER]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def official() -> Iterator[ServerProcess]:
    server = ServerProcess([str(EXAMPLE_SERVER)]).start()
    yield server
    server.stop()


def client_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mcp-sync")]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def soak(client: Client, threads: int, calls: int) -> Counter:
    """Every thread echoes its own payloads; returns how often each payload came back."""
    seen: Counter = Counter()
    wrong: List[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(calls):
            payload = f"t{i}-c{j}"
            text = client.call_tool("echo", {"message": payload}).text
            with lock:
                seen[text] += 1
                if text != payload:
                    wrong.append(f"{payload} got {text}")

    workers = [threading.Thread(target=work, args=(i,), name=f"soak-{i}") for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(110)
    assert not any(w.is_alive() for w in workers), "a soak thread hung"
    assert wrong == []
    return seen


# ---------------------------------------------------------------------------- load


@pytest.mark.timeout(120)
def test_one_client_16_threads_500_calls_each(light):
    """8000 calls; about 10-20 s on two busy cores (the stdlib server answers in well under 1 ms)."""
    with Client(light.url, timeout=60) as client:
        started = time.monotonic()
        seen = soak(client, 16, 500)
        elapsed = time.monotonic() - started
    expected = {f"t{i}-c{j}" for i in range(16) for j in range(500)}
    assert set(seen) == expected  # none lost
    assert set(seen.values()) == {1}  # none duplicated
    print(f"8000 calls in {elapsed:.1f}s ({8000 / elapsed:.0f}/s)")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"], ids=["modern-sse", "legacy-sse"])
def test_shared_client_against_the_official_server(protocol, official):
    """SSE replies read on pooled reader threads (and the legacy GET stream) under contention."""
    with Client(official.url, protocol=protocol, timeout=60) as client:
        seen = soak(client, 16, 25)
    assert len(seen) == 400 and set(seen.values()) == {1}


# ---------------------------------------------------------------------------- close()


@pytest.mark.timeout(40)
@pytest.mark.parametrize("args,protocol", [([], "auto"), (["--json-response"], "auto"), ([], "2025-11-25")],
                         ids=["modern-sse", "modern-json", "legacy-sse"])
def test_close_from_another_thread_wakes_every_call_and_releases_everything(args, protocol):
    server = ServerProcess([str(EXAMPLE_SERVER), *args]).start()
    try:
        assert wait_until(lambda: not client_threads())
        threads_before, fds_before = threading.active_count(), open_fds()
        client = Client(server.url, protocol=protocol, timeout=30).connect()
        callers, errors, woke = calls_in_flight(client, 8)
        time.sleep(0.7)
        closed_at = time.monotonic()
        client.close()
        for c in callers:
            c.join(5)
        assert len(errors) == 8 and max(woke) - closed_at < 1.0
        assert all(isinstance(e, (ConnectionClosed, ClientClosedError)) for e in errors), errors
        assert any("closed" in str(e) for e in errors)
        assert wait_until(lambda: not client_threads()), client_threads()
        assert wait_until(lambda: threading.active_count() == threads_before)
        errors.clear()  # their tracebacks may reference a released response until collected
        gc.collect()
        assert wait_until(lambda: open_fds() <= fds_before), (open_fds(), fds_before)
        with pytest.raises(ClientClosedError):
            client.call_tool("echo", {"message": "after close"})
    finally:
        server.stop()


@pytest.mark.timeout(40)
def test_close_releases_a_stdio_server_and_its_threads():
    assert wait_until(lambda: not client_threads())
    fds_before = open_fds()
    client = Client([sys.executable, STDIO_SCRIPTED], protocol="legacy", timeout=20).connect()
    proc = client._transport.proc
    errors: List[BaseException] = []
    caller = threading.Thread(target=lambda: errors.append(
        pytest.raises(ConnectionClosed, client.call_tool, "echo", {"message": "x", "sleep": 20})))
    caller.start()
    time.sleep(0.3)
    client.close()
    caller.join(5)
    assert errors and not caller.is_alive()
    assert proc.poll() is not None  # no child process left
    assert wait_until(lambda: not client_threads()), client_threads()
    assert wait_until(lambda: open_fds() <= fds_before), (open_fds(), fds_before)


# ---------------------------------------------------------------------------- fork


def _child_call(client: Client, tag: str) -> str:
    return client.call_tool("echo", {"message": tag}).text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"], ids=["modern", "legacy"])
def test_client_created_before_fork_reconnects_in_the_child(protocol, official):
    client = Client(official.url, protocol=protocol, timeout=20)
    try:
        assert client.call_tool("echo", {"message": "parent"}).text == "parent"
        transport = getattr(client._transport, "inner", client._transport)
        parent_session = getattr(transport, "session_id", None)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                os.close(read_fd)
                text = _child_call(client, f"child-{os.getpid()}")
                child_session = getattr(getattr(client._transport, "inner", client._transport), "session_id", None)
                os.write(write_fd, f"{text}|{child_session}".encode())
                client.close()
                code = 0
            except BaseException as exc:  # noqa: B902
                os.write(write_fd, f"ERROR {exc!r}".encode())
            finally:
                os._exit(code)
        os.close(write_fd)
        # The parent keeps using its client while the child works.
        for i in range(20):
            assert client.call_tool("echo", {"message": f"p{i}"}).text == f"p{i}"
        _, status = os.waitpid(pid, 0)
        with os.fdopen(read_fd, "rb") as pipe:
            report = pipe.read().decode()
        assert os.WEXITSTATUS(status) == 0, report
        text, child_session = report.split("|")
        assert text == f"child-{pid}"
        if protocol != "auto":
            assert child_session not in ("None", parent_session)  # a session of its own
        # The child never touched the parent's sockets or session: the parent still works.
        assert client.call_tool("echo", {"message": "after"}).text == "after"
        assert getattr(transport, "session_id", None) == parent_session
    finally:
        client.close()


_global_client: "Client | None" = None


def _worker(tag: str) -> str:
    assert _global_client is not None
    return _global_client.call_tool("echo", {"message": tag}).text


@pytest.mark.timeout(60)
def test_client_shared_with_a_multiprocessing_fork_pool(official):
    """The gunicorn --preload / Celery prefork shape: a module-level client used in forked workers."""
    global _global_client
    _global_client = Client(official.url, timeout=20)
    try:
        _global_client.connect()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map(_worker, [f"job{i}" for i in range(8)], chunksize=1)
        assert results == [f"job{i}" for i in range(8)]
        assert _global_client.call_tool("echo", {"message": "parent"}).text == "parent"
    finally:
        _global_client.close()
        _global_client = None


@pytest.mark.timeout(60)
def test_stdio_client_forked_starts_its_own_server_in_the_child():
    client = Client([sys.executable, STDIO_SCRIPTED], protocol="legacy", timeout=20)
    try:
        client.connect()
        parent_proc = client._transport.proc
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                text = client.call_tool("echo", {"message": "child"}).text
                os.write(write_fd, f"{text}|{client._transport.proc.pid}".encode())
                client.close()
                code = 0
            except BaseException as exc:  # noqa: B902
                os.write(write_fd, f"ERROR {exc!r}".encode())
            finally:
                os._exit(code)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
        with os.fdopen(read_fd, "rb") as pipe:
            report = pipe.read().decode()
        assert os.WEXITSTATUS(status) == 0, report
        text, child_server = report.split("|")
        assert text == "child" and int(child_server) != parent_proc.pid
        assert parent_proc.poll() is None  # the child never stopped the parent's server
        assert client.call_tool("echo", {"message": "parent"}).text == "parent"
    finally:
        client.close()


# ---------------------------------------------------------------------------- many clients


@pytest.mark.timeout(90)
def test_200_http_clients_in_one_process(light):
    fds_before = open_fds()
    clients = [Client(light.url, timeout=30) for _ in range(200)]
    try:
        for i, client in enumerate(clients):
            assert client.call_tool("echo", {"message": str(i)}).text == str(i)
        # Modern HTTP with JSON replies: no thread per client, one pooled socket each.
        assert len(client_threads()) == 0
        assert open_fds() - fds_before <= 200 + 5
    finally:
        for client in clients:
            client.close()
    assert wait_until(lambda: open_fds() <= fds_before + 2)


@pytest.mark.timeout(120)
def test_50_stdio_servers_in_one_process():
    fds_before = open_fds()
    clients = [Client([sys.executable, STDIO_SCRIPTED], protocol="legacy", timeout=60) for _ in range(50)]
    try:
        starters = [threading.Thread(target=c.connect) for c in clients]
        for s in starters:
            s.start()
        for s in starters:
            s.join(100)
        for i, client in enumerate(clients):
            assert client.call_tool("echo", {"message": str(i)}).text == str(i)
        # Per stdio server: one process, a stdout reader and a stderr drainer, three pipes.
        assert len(client_threads()) == 100
        assert open_fds() - fds_before <= 50 * 3 + 5
    finally:
        for client in clients:
            client.close()
    assert wait_until(lambda: not client_threads())
    assert wait_until(lambda: open_fds() <= fds_before + 2)
