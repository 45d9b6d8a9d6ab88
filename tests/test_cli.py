"""The ``mcp-sync`` command line through its real entry points (the console script and
``python -m mcp_sync``) in subprocesses, against a real server; the shell through a pseudo-terminal."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import shared_server
from servers import ROOT

UX_SERVER = Path(__file__).resolve().parent / "ux_server.py"
EVERYTHING = Path(__file__).resolve().parent / "servers" / "everything.py"
SCRIPT = Path(sys.executable).parent / ("mcp-sync.exe" if os.name == "nt" else "mcp-sync")


@pytest.fixture(scope="module")
def url() -> str:
    return shared_server((str(UX_SERVER),)).url


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "mcp_sync"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_console_script_is_installed():
    assert SCRIPT.exists(), "pip install -e . should install the mcp-sync console script"


def test_python_dash_m_and_version():
    proc = subprocess.run([sys.executable, "-m", "mcp_sync", "--version"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert proc.stdout.startswith("mcp-sync ")


def test_info(url):
    proc = run(url, "info")
    assert proc.returncode == 0, proc.stderr
    assert "ux-server 2.0.0" in proc.stdout
    assert "2026-07-28 (modern)" in proc.stdout
    assert "streamable-http" in proc.stdout
    assert "A server for the CLI tests." in proc.stdout
    data = json.loads(run(url, "info", "--json").stdout)
    assert data["serverInfo"]["name"] == "ux-server"
    assert data["era"] == "modern"
    assert "tools" in data["capabilities"]


def test_info_legacy(url):
    proc = run("--protocol", "2025-11-25", url, "info")
    assert proc.returncode == 0, proc.stderr
    assert "2025-11-25 (legacy)" in proc.stdout


def test_tools_table_json_and_one_tool(url):
    proc = run(url, "tools")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["tool", "arguments", "description"]
    assert any(line.startswith("add ") and "a: number, b: number" in line for line in lines)
    tools = json.loads(run(url, "tools", "--json").stdout)
    assert {"echo", "add", "typed"} <= {t["name"] for t in tools}
    assert "inputSchema" in tools[0]
    one = run(url, "tools", "typed")
    assert "count" in one.stdout and "integer" in one.stdout and "yes" in one.stdout


def test_call_parses_values_against_the_schema(url):
    proc = run(url, "call", "typed", "count=2", "ratio=.5", "flag=yes", "tags=a", "tags=b", 'options={"x": 1}',
               "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert json.loads(result["content"][0]["text"]) == {"count": 2, "ratio": 0.5, "flag": True, "tags": ["a", "b"],
                                           "options": {"x": 1}}


def test_call_readable_output(url):
    proc = run(url, "call", "add", "a=1", "b=2.5")
    assert (proc.returncode, proc.stdout.strip()) == (0, "3.5")
    # a string argument stays a string even when it looks like a number
    assert run(url, "call", "echo", "message=42").stdout.strip() == "42"


def test_call_with_json_arguments(url):
    proc = run(url, "call", "echo", "--json", '{"message": "from json"}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["content"][0]["text"] == "from json"
    proc = run(url, "call", "echo", "--args", '{"message": "plain"}')
    assert proc.stdout.strip() == "plain"


@pytest.mark.parametrize("words, expected", [
    (["count=x", "ratio=1", "flag=true", "tags=[]", "options={}"], "argument 'count' must be an integer, got 'x'"),
    (["count=1", "ratio=1", "flag=maybe", "tags=[]", "options={}"], "argument 'flag' must be true or false"),
    (["count=1", "ratio=1", "flag=true", "tags=[]", "options=[1]"], "argument 'options' must be a JSON object"),
    (["count=1", "ratio=1", "flag=true", "tags=[]"], "missing required argument 'options'"),
    (["cuont=1"], "unknown argument 'cuont'"),
    (["count"], "expected key=value"),
])
def test_validation_errors_name_the_argument(url, words, expected):
    proc = run(url, "call", "typed", *words)
    assert proc.returncode == 2
    assert expected in one_line_error(proc)


def test_tool_error_exits_1(url):
    proc = run(url, "call", "fail", "message=boom")
    assert proc.returncode == 1
    assert "boom" in one_line_error(proc)
    proc = run(url, "call", "fail", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["isError"] is True


def test_usage_errors_exit_2(url):
    for args in ([url, "call", "nope"], [url, "bogus"], ["tools"], [url], [url, "call", "echo", "--json", "notjson"]):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        one_line_error(proc)
    assert "unknown tool 'nope'" in run(url, "call", "nope").stderr


def test_connection_errors_exit_3(tmp_path):
    from servers import free_port

    proc = run(f"http://127.0.0.1:{free_port()}/mcp", "tools", "--timeout", "5")
    assert proc.returncode == 3
    assert "127.0.0.1" in one_line_error(proc)
    debug = run(f"http://127.0.0.1:{free_port()}/mcp", "tools", "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_progress_as_plain_lines_when_not_a_tty(url):
    proc = run(url, "call", "generate_numbers", "count=3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1, 2, 3"
    progress = [line for line in proc.stderr.splitlines() if "generate_numbers" in line]
    assert len(progress) == 3 and "3/3" in progress[-1] and "generated 3" in progress[-1]
    assert "\r" not in proc.stderr


def test_server_logs_go_to_stderr(url):
    proc = run(url, "call", "chatty", "message=yo", "--log-level", "info")
    assert proc.stdout.strip() == "yo"
    assert "about to echo yo" in proc.stderr


def test_images_are_saved_to_a_file(url, tmp_path):
    from ux_server import PIXEL

    proc = run(url, "call", "pixel", "--output-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip().split(" saved to ")[1].rstrip("]")
    assert path.startswith(str(tmp_path)) and path.endswith(".png")
    assert Path(path).read_bytes() == PIXEL


def test_resources_read_prompts_complete(url, tmp_path):
    proc = run(url, "resources")
    assert "note://hello" in proc.stdout and "greeting://{name}" in proc.stdout
    assert run(url, "read", "note://hello").stdout.strip() == "hello from a resource"
    blob = run(url, "read", "blob://pixel", "--output-dir", str(tmp_path))
    assert "saved to " + str(tmp_path) in blob.stdout
    assert run(url, "read", "note://hello", "--json").stdout.count("hello from a resource") == 1
    prompts = run(url, "prompts")
    assert "greet" in prompts.stdout and "name, style?" in prompts.stdout
    got = run(url, "prompt", "greet", "name=Bo", "style=pirate")
    assert got.stdout.splitlines() == ["[user]", "Please greet Bo in a pirate style."]
    missing = run(url, "prompt", "greet")
    assert missing.returncode == 2 and "missing required argument 'name'" in missing.stderr
    assert run(url, "complete", "--prompt", "greet", "name", "Al").stdout.split() == ["Alice", "Albert"]
    assert json.loads(run(url, "complete", "--prompt", "greet", "name", "B", "--json").stdout)["values"] == ["Bob"]


@pytest.mark.parametrize("protocol", ["auto", "2025-11-25"])
def test_listen_prints_real_change_notifications(protocol):
    """`listen` subscribes (modern subscriptions/listen, or legacy resources/subscribe) and prints
    what the server reports; a tool call from another client makes the server report it."""
    from mcp_sync import Client

    server = shared_server((str(EVERYTHING),))
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "mcp_sync"]
    listen = subprocess.Popen([*cmd, server.url, "--protocol", protocol, "listen", "--resource", "demo://greeting",
                               "--tools", "--count", "2", "--duration", "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        assert "listening to" in listen.stderr.readline()
        with Client(server.url, protocol=protocol) as client:
            deadline = time.monotonic() + 20
            while listen.poll() is None and time.monotonic() < deadline:
                client.call_tool("touch", {"uri": "demo://greeting"})
                client.call_tool("change_tools")
                time.sleep(0.3)
        out, err = listen.communicate(timeout=20)
    finally:
        if listen.poll() is None:
            listen.kill()
            listen.communicate()
    assert listen.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert set(lines) <= {"resource updated: demo://greeting", "tools changed"}, out


def test_listen_runs_until_its_duration(url):
    started = time.monotonic()
    proc = run(url, "listen", "--duration", "1")
    assert proc.returncode == 0, proc.stderr
    assert "listening to ux-server" in proc.stderr
    assert 0.9 < time.monotonic() - started < 20


def test_stdio_target_after_double_dash():
    proc = run("call", "echo", "message=over stdio", "--", sys.executable, str(UX_SERVER), "--transport", "stdio")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "over stdio"


def test_config_target(url, tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"ux": {"url": url}}}))
    proc = run("--config", str(config), "--server", "ux", "tools")
    assert proc.returncode == 0, proc.stderr
    assert "echo" in proc.stdout


# ---------------------------------------------------------------------- the shell, through a pty


class _Pty:
    """Reads a pseudo-terminal, keeping what follows each match for the next ``expect``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = ""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def expect(self, needle: str, timeout: float = 30) -> str:
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"did not see {needle!r}; got {self.buffer!r}")
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the shell ended before {needle!r}; got {self.buffer!r}")
                self.buffer += chunk.decode("utf-8", "replace")
        before, _, self.buffer = self.buffer.partition(needle)
        return before + needle


@contextlib.contextmanager
def _on_pty(args: List[str], env: Optional[Dict[str, str]] = None) -> Iterator[Tuple[subprocess.Popen, "_Pty"]]:
    """The command line run on a pseudo-terminal; killed (if still running) and closed after."""
    import pty

    master, slave = pty.openpty()
    cmd: List[str] = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "mcp_sync"]
    proc = subprocess.Popen([*cmd, *args], stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            start_new_session=True, env=env or dict(os.environ, TERM="dumb"))
    os.close(slave)
    try:
        yield proc, _Pty(master)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(master)


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX only")
def test_shell_through_a_pty_completes_and_keeps_history(url, tmp_path):
    history = tmp_path / "history"
    env = dict(os.environ, MCP_SYNC_HISTORY=str(history), TERM="dumb")
    with _on_pty([url, "shell"], env) as (proc, term):
        term.expect("ux-server> ")
        term.send(b"gen\t")          # tool name completion
        term.expect("generate_numbers ")
        term.send(b"co\t")           # argument name completion
        term.expect("count=")
        term.send(b"3\r")
        out = term.expect("1, 2, 3")
        assert "3/3" in out         # a live progress bar on the terminal
        term.expect("ux-server> ")
        term.send(b"call typed count=oops\r")
        term.expect("argument 'count' must be an integer")
        term.send(b"call fail\r")
        term.expect("reported an error")
        term.send(b"echo message='hi there'\r")
        term.expect("hi there\r\n")
        term.send(b"exit\r")
        assert proc.wait(15) == 0
    saved = history.read_text()
    assert "generate_numbers count=3" in saved and "echo message='hi there'" in saved


# ---------------------------------------------------------------------- elicitation on the terminal


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX only")
def test_elicitation_asks_on_the_terminal(url):
    # Legacy: the SDK's ctx.elicit() sends a server-to-client request, which needs that era.
    with _on_pty(["--protocol", "2025-11-25", url, "call", "ask_name"]) as (proc, term):
        term.expect("ux-server asks: What is your name?")
        term.expect("[c]ancel: ")
        term.send(b"y\r")
        term.expect("Name: ")
        term.send(b"Bob\r")
        term.expect('Send {"name": "Bob"}? [Y/n] ')
        term.send(b"\r")
        term.expect("hello Bob")
        assert proc.wait(15) == 0


def test_elicitation_without_a_terminal_cancels(url):
    cmd = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "mcp_sync"]
    proc = subprocess.run([*cmd, "--protocol", "2025-11-25", url, "call", "ask_name"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "no name (cancel)"
    assert "no terminal to ask on" in proc.stderr


def _terminal(answers):
    import io

    from mcp_sync._terminal import Terminal

    replies = iter(answers)
    return Terminal(stdout=io.StringIO(), stderr=io.StringIO(), input_fn=lambda question: next(replies))


def test_terminal_form_elicitation_types_defaults_and_retries():
    term = _terminal(["yes", "", "seven", "7", "b", "x,y", "y"])
    schema = {"type": "object", "required": ["age"], "properties": {
        "name": {"type": "string", "default": "Ann"},
        "age": {"type": "integer", "minimum": 0},
        "plan": {"type": "string", "enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    }}
    answer = term.elicit({"message": "Who?", "requestedSchema": schema}, server="srv")
    assert answer == {"action": "accept", "content": {"name": "Ann", "age": 7, "plan": "b", "tags": ["x", "y"]}}
    assert "srv asks: Who?" in term.stderr.getvalue()
    assert "argument 'age' must be an integer" in term.stderr.getvalue()


def test_terminal_elicitation_decline_cancel_and_url():
    assert _terminal(["n"]).elicit({"message": "?"}) == {"action": "decline"}
    assert _terminal(["c"]).elicit({"message": "?"}) == {"action": "cancel"}
    assert _terminal(["y", "", "n"]).elicit(
        {"message": "?", "requestedSchema": {"properties": {"x": {"type": "string"}}}}) == {"action": "cancel"}
    term = _terminal(["n"])
    assert term.elicit({"mode": "url", "message": "Log in", "url": "https://xn--80ak6aa92e.com/login"}) == {
        "action": "decline"}
    shown = term.stderr.getvalue()
    assert "https://xn--80ak6aa92e.com/login" in shown and "punycode" in shown


def test_terminal_url_elicitation_opens_only_http_urls(monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    for url in ("file:///etc/passwd", "javascript:alert(1)", "ms-settings:privacy"):
        term = _terminal(["y"])
        assert term.elicit({"mode": "url", "message": "Open", "url": url}) == {"action": "decline"}
        assert "not opened" in term.stderr.getvalue()
    assert _terminal(["y"]).elicit({"mode": "url", "message": "Log in", "url": "https://example.com/x"}) == {
        "action": "accept"}
    assert opened == ["https://example.com/x"]


def test_terminal_form_elicitation_keeps_to_titled_choices():
    """Single- and multi-select enums with titles (oneOf / items.anyOf of const): an answer
    outside the choices is asked again, not sent (the spec: validate content before sending)."""
    schema = {"type": "object", "properties": {
        "size": {"type": "string", "oneOf": [{"const": "s", "title": "Small"}, {"const": "l", "title": "Large"}]},
        "tags": {"type": "array", "items": {"anyOf": [{"const": "x", "title": "X"}, {"const": "y", "title": "Y"}]}},
    }}
    term = _terminal(["y", "medium", "l", "x,z", "y,x", "y"])
    answer = term.elicit({"message": "Pick", "requestedSchema": schema})
    assert answer == {"action": "accept", "content": {"size": "l", "tags": ["y", "x"]}}
    assert "'medium' is not one of s, l" in term.stderr.getvalue()
    assert "'z' is not one of x, y" in term.stderr.getvalue()
