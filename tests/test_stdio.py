"""stdio: starting, failing loudly, the environment, shutdown without leftovers."""
from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from mcp_sync import Client, ConnectError, ConnectionClosed, StdioServer
from mcp_sync.timeouts import Timeout
from mcp_sync.transports.stdio import StdioTransport

from servers import stdio_command

SCRIPTED = str(Path(__file__).with_name("stdio_scripted.py"))


def scripted(*flags: str) -> list:
    return [sys.executable, SCRIPTED, *flags]


def open_fds() -> set:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


@pytest.mark.parametrize("after", [0, 0.05, 0.5])
def test_a_notification_after_the_last_reply_is_read(after):
    # The caller read its reply itself; the reader thread must still pick up what comes later,
    # whether during its short park after a caller's read or long after.
    got = threading.Event()
    with Client(scripted()) as client:
        client.on_notification("notifications/message", lambda message: got.set())
        assert client.call_tool("echo", {"message": "hi", "notify_after": after}).text == "hi"
        assert got.wait(5)


def test_the_stdout_pipe_is_grown_for_large_messages():
    import fcntl

    from mcp_sync.transports.stdio import PIPE_SIZE

    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("no F_GETPIPE_SZ on this platform")
    with Client(scripted()) as client:
        fd = client._transport.proc.stdout.fileno()
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) >= PIPE_SIZE


def test_a_command_that_does_not_exist_raises_connect_error_at_once():
    started = time.monotonic()
    with pytest.raises(ConnectError, match="no-such-mcp-server-xyz"):
        Client(["no-such-mcp-server-xyz", "--flag"]).connect()
    assert time.monotonic() - started < 1.0


def test_a_server_that_exits_at_once_names_its_exit_code_and_stderr():
    code = "import sys; sys.stderr.write('fatal: missing API_KEY\\n'); sys.exit(3)"
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        Client([sys.executable, "-c", code], timeout=30).connect()
    assert time.monotonic() - started < 3.0  # not the 30 s timeout, nor the discover probe
    assert "exited with code 3" in str(info.value)
    assert "fatal: missing API_KEY" in str(info.value)
    assert info.value.returncode == 3
    assert info.value.stderr == ["fatal: missing API_KEY"]


def test_a_server_that_writes_garbage_to_stdout_fails_fast():
    code = "import time\nwhile True:\n    print('this is not JSON', flush=True)\n    time.sleep(0.005)"
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        Client([sys.executable, "-c", code], timeout=30).connect()
    assert time.monotonic() - started < 3.0
    assert "not JSON" in str(info.value)


def test_a_startup_banner_on_stdout_is_tolerated():
    with Client(scripted("--banner")) as client:
        assert client.call_tool("echo", {"message": "after banner"}).text == "after banner"


def test_silence_on_discover_means_legacy_after_the_probe_timeout():
    started = time.monotonic()
    with Client(scripted("--silent-discover"), probe_timeout=0.5) as client:
        assert client.era == "legacy"
        assert client.protocol_version == "2025-06-18"
        assert client.transport == "stdio"
    assert time.monotonic() - started < 3.0


def test_the_server_gets_a_safe_environment_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("MCP_SYNC_SECRET", "hunter2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    safe = StdioServer("x", env={"API_KEY": "k"}).environment()
    assert "MCP_SYNC_SECRET" not in safe
    assert safe["API_KEY"] == "k" and safe["LC_ALL"] == "C.UTF-8" and safe["PATH"] == os.environ["PATH"]
    full = StdioServer("x", inherit_env=True).environment()
    assert full["MCP_SYNC_SECRET"] == "hunter2"


def test_the_environment_reaches_the_process(monkeypatch, tmp_path):
    monkeypatch.setenv("MCP_SYNC_SECRET", "hunter2")
    code = ("import os, sys; sys.stderr.write(repr((os.environ.get('MCP_SYNC_SECRET'), os.environ.get('GIVEN'), "
            "os.getcwd())) + '\\n'); sys.exit(1)")
    with pytest.raises(ConnectionClosed) as info:
        Client(StdioServer(sys.executable, ["-c", code], env={"GIVEN": "yes"}, cwd=str(tmp_path))).connect()
    assert repr((None, "yes", str(tmp_path))) in str(info.value)


def test_close_leaves_no_process_thread_or_fd():
    before_fds = open_fds()
    before_threads = {t.name for t in threading.enumerate()}
    client = Client(stdio_command())
    client.call_tool("echo", {"message": "x"})
    proc = client._transport.proc
    client.close()
    assert proc.returncode is not None  # reaped: no zombie
    assert proc.stdin.closed and proc.stdout.closed and proc.stderr.closed
    leftover = {t.name for t in threading.enumerate()} - before_threads
    assert not [n for n in leftover if "stdio" in n or "stderr" in n]
    if before_fds:
        assert open_fds() <= before_fds


def test_shutdown_escalates_to_sigkill_of_the_whole_group():
    transport = StdioTransport(StdioServer(sys.executable, [SCRIPTED, "--stubborn", "--child"]))
    transport.bind(_NullEngine())
    transport.open(Timeout())
    deadline = time.monotonic() + 10
    while not transport.stderr_tail and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(transport.stderr_tail[0].split()[-1])
    proc = transport.proc
    started = time.monotonic()
    transport.close()
    assert time.monotonic() - started < 8.0
    assert proc.returncode == -9
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the child is reaped by init a moment after SIGKILL
            os.kill(child, 0)
            time.sleep(0.05)


@pytest.mark.skipif(os.name != "posix", reason="process groups")
def test_the_server_gets_a_process_group_of_its_own_in_our_session():
    with Client(scripted()) as client:
        client.call_tool("echo", {"message": "x"})
        pid = client._transport.proc.pid
        assert os.getpgid(pid) == pid  # close() signals the group: the server's children too
        if sys.version_info >= (3, 11):
            # A session of its own would also be a scheduler autogroup of its own (slower round trips).
            assert os.getsid(pid) == os.getsid(0)


def test_works_when_sys_stderr_has_no_fileno(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # Jupyter's stderr
    with Client(scripted()) as client:
        assert client.call_tool("echo", {"message": "jupyter"}).text == "jupyter"


def test_stderr_lines_go_to_the_stdio_logger(caplog):
    caplog.set_level("INFO", logger="mcp_sync.stdio")
    with Client(scripted("--child")) as client:
        client.call_tool("echo", {"message": "x"})
    assert any("child pid" in r.getMessage() for r in caplog.records if r.name == "mcp_sync.stdio")


def test_a_dead_server_is_restarted_only_when_asked():
    for restart in (False, True):
        client = Client(StdioServer(sys.executable, [SCRIPTED], restart=restart))
        try:
            client.call_tool("echo", {"message": "one"})
            client._transport.proc.kill()
            time.sleep(0.3)
            if restart:
                assert client.call_tool("echo", {"message": "two"}).text == "two"
            else:
                with pytest.raises(ConnectionClosed, match="restart=True"):
                    client.call_tool("echo", {"message": "two"})
        finally:
            client.close()


def test_a_string_is_never_taken_for_a_command():
    with pytest.raises(ValueError, match="as a list"):
        Client("python server.py")
    with pytest.raises(TypeError, match="only apply to HTTP"):
        Client(["python", "server.py"], headers={"X": "1"})


class _NullEngine:
    def deliver(self, message, origin=None):
        pass

    def transport_lost(self, exc):
        pass


def test_a_modern_server_slower_to_start_than_the_probe_is_still_modern():
    # The probe times out while the server is still importing; it then refuses initialize naming
    # 2026-07-28, and the client goes back to server/discover instead of failing.
    with Client(stdio_command(), probe_timeout=0.05, timeout=30) as client:
        assert client.era == "modern"
        assert client.call_tool("echo", {"message": "late"}).text == "late"


def test_works_when_its_pipes_get_descriptor_numbers_above_1024():
    # select() cannot watch a descriptor >= FD_SETSIZE (1024): long-running hosts raise the
    # open-file limit and have that many open, so the server's pipes land above it.
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the open-file limit cannot reach 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if soft != resource.RLIM_INFINITY else soft, hard))
    held = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with Client(scripted(), timeout=20) as client:
            assert client._transport.proc.stdout.fileno() > 1024
            assert client.call_tool("echo", {"message": "high"}).text == "high"
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_deeply_nested_line_on_stdout_is_noise_not_a_crash(caplog):
    # json.loads raises RecursionError (not ValueError) on deep nesting.
    code = ("import os, sys; sys.stdout.write('[' * 200000 + '\\n'); sys.stdout.flush(); "
            f"os.execv(sys.executable, [sys.executable, {SCRIPTED!r}])")
    with Client([sys.executable, "-c", code], timeout=20) as client:
        assert client.call_tool("echo", {"message": "still here"}).text == "still here"
    assert "not JSON" in caplog.text


def test_the_transport_takes_a_wait_longer_than_poll_can():
    # poll() takes milliseconds as a C int: a listen request's years-long wait overflowed it.
    from mcp_sync._engine import Pending

    with Client(scripted(), timeout=20) as client:
        engine, transport = client._engine, client._transport
        pending = Pending(10 ** 6, "tools/call")
        engine._pending[pending.id] = pending
        try:
            # The reply comes later, so this caller reads stdout itself, waiting in poll().
            call = {"jsonrpc": "2.0", "id": pending.id, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"message": "late", "sleep": 0.3}}}
            transport.send_request(pending, call, Timeout(), time.monotonic() + 20)
            assert transport.wait(pending, 3e8)["result"]["content"][0]["text"] == "late"
        finally:
            engine._pending.pop(pending.id, None)


def test_an_interrupt_while_a_caller_reads_for_everyone_loses_no_line():
    """Ctrl-C can land in a reading caller between any two steps of the line loop. Every complete
    line read before it must still be delivered, each once, and nothing later may be lost."""
    from mcp_sync.transports.stdio import StdioServer as Server

    class Recorder:
        def __init__(self, interrupt_at: int) -> None:
            self.messages = []
            self.interrupt_at = interrupt_at

        def deliver(self, message):
            if len(self.messages) == self.interrupt_at and not getattr(self, "fired", False):
                self.fired = True
                raise KeyboardInterrupt  # as if SIGINT arrived during delivery
            self.messages.append(message)

    wire = b"".join(b'{"jsonrpc":"2.0","method":"n","params":{"i":%d}}\n' % i for i in range(5)) + b'{"jsonrpc":"2.0",'
    for interrupt_at in range(5):
        transport = StdioTransport(Server("fake"))
        transport.engine = Recorder(interrupt_at)  # type: ignore[assignment]
        read_fd, write_fd = os.pipe()
        try:
            os.write(write_fd, wire)
            with pytest.raises(KeyboardInterrupt):
                transport._read_chunk(read_fd)
            transport._scan = 0
            transport._deliver_lines()  # what wait() does on KeyboardInterrupt
            os.write(write_fd, b'"method":"n","params":{"i":5}}\n')
            transport._read_chunk(read_fd)
        finally:
            os.close(read_fd)
            os.close(write_fd)
        assert [m["params"]["i"] for m in transport.engine.messages] == list(range(6)), interrupt_at
