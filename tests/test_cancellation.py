"""Cancellation from every side (timeout, closing stream(), Ctrl-C in a blocking call) and
timeouts that reset on progress, against real servers in every transport and era."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from _ev import EV_MODES, ev_fixture
from mcp_sync import ProgressEvent, RequestTimeout, Timeout

ev = ev_fixture()
streaming = ev_fixture([m for m in EV_MODES if not m.json])


def _wait_for_file(path, timeout=10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as fh:
                text = fh.read()
            if text:
                return text
        time.sleep(0.05)
    return ""


def _skip_unobservable(mode):
    if mode.name == "modern-json":
        # The SDK's modern JSON-reply path does not watch for the client's disconnect (it only
        # does on its SSE path), so the server cannot notice; the client side is the same.
        pytest.skip("the SDK server does not notice a dropped JSON-reply request")


def test_timeout_cancels_on_the_wire(ev, tmp_path):
    _skip_unobservable(ev.mode)
    marker = str(tmp_path / "cancelled.txt")
    with ev() as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            client.call_tool("record_cancel", {"path": marker, "seconds": 30}, timeout=1.0)
        assert time.monotonic() - started < 10
        assert _wait_for_file(marker) == "cancelled\n"  # the server saw the cancellation
        assert client.call_tool("numbers", {"count": 1}).structured == {"result": [0]}  # still usable


def test_closing_a_stream_cancels(streaming, tmp_path):
    marker = str(tmp_path / "cancelled.txt")
    with streaming() as client:
        events = client.stream("tools/call", {"name": "record_cancel", "arguments": {"path": marker, "seconds": 30}})
        first = next(events)
        assert isinstance(first, ProgressEvent)
        events.close()
        assert _wait_for_file(marker) == "cancelled\n"
        assert client.call_tool("numbers", {"count": 1}).structured == {"result": [0]}


CHILD = textwrap.dedent("""
    import json, sys
    from mcp_sync import Client
    target, protocol, marker = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    client = Client(target, protocol=protocol)
    client.connect()
    print("ready", flush=True)
    try:
        client.call_tool("record_cancel", {"path": marker, "seconds": 30})
        print("finished?!", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print("second:", client.call_tool("numbers", {"count": 2}).structured["result"], flush=True)
    client.close()
""")


def test_ctrl_c_in_a_blocking_call(ev, tmp_path):
    import json

    _skip_unobservable(ev.mode)
    marker = str(tmp_path / "cancelled.txt")
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(ev.target), ev.mode.protocol, marker],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.5)  # the call is in flight, blocked on its answer
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
    assert child.returncode == 0, err
    assert out.splitlines() == ["interrupted", "second: [0, 1]"]  # KeyboardInterrupt propagated; client usable
    assert _wait_for_file(marker) == "cancelled\n"  # the server saw the cancellation


def test_timeout_resets_on_progress_but_keeps_a_maximum(streaming):
    with streaming() as client:
        # 6 steps 0.4 s apart: 2.4 s in all, never 1 s without progress
        lenient = Timeout(call=1.0, reset_on_progress=True)
        assert client.call_tool("long_running", {"steps": 6, "delay": 0.4}, timeout=lenient).text == "done after 6 steps"
        with pytest.raises(RequestTimeout):
            client.call_tool("long_running", {"steps": 6, "delay": 0.4}, timeout=Timeout(call=1.0))
        capped = Timeout(call=1.0, reset_on_progress=True, max_call=1.5)
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match="within 1.5s"):  # the message names the limit that ran out
            client.call_tool("long_running", {"steps": 6, "delay": 0.4}, timeout=capped)
        assert time.monotonic() - started < 2.3


def test_progress_callback(streaming):
    seen = []
    with streaming() as client:
        client.call_tool("long_running", {"steps": 3, "delay": 0.01}, progress=lambda p, t, m: seen.append((p, t, m)))
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


legacy = ev_fixture([m for m in EV_MODES if m.name in ("legacy", "stdio-legacy")])


def test_a_legacy_servers_cancellation_never_fails_a_request_of_ours(legacy):
    # A legacy server's notifications/cancelled names one of *its* requests (say an elicitation
    # it gave up on); its ids and ours overlap, so an equal id must not cancel our call.
    with legacy() as client:
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(
            client.call_tool("long_running", {"steps": 2, "delay": 0.5})))
        thread.start()
        deadline = time.monotonic() + 10
        while not client._engine._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        (request_id,) = list(client._engine._pending)
        client._engine.deliver({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                "params": {"requestId": request_id, "reason": "the server gave up"}})
        thread.join(10)
        assert outcome and outcome[0].text == "done after 2 steps"
