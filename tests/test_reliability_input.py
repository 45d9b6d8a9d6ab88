"""Bad input from servers: property tests over the SSE and stdio framing, a fuzz run over the
JSON-RPC routing, malformed frames from a real (scripted) HTTP server, and the hard limits."""
from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_sync import Client, ProtocolError, Timeout
from mcp_sync._engine import Engine, Pending
from mcp_sync._sse import iter_sse
from mcp_sync.transports.base import Transport
from mcp_sync.transports.stdio import StdioServer, StdioTransport


@pytest.fixture
def thread_errors() -> Iterator[List[Any]]:
    """Every exception that escapes a background thread (none may)."""
    seen: List[Any] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args)
    yield seen
    threading.excepthook = previous


# ---------------------------------------------------------------------------- SSE framing

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=40)
_event = st.fixed_dictionaries({
    "id": st.one_of(st.none(), _text),
    "event": st.one_of(st.none(), st.text(alphabet="abcdefghijklmnopqrstuvwxyz/_", min_size=1, max_size=10)),
    "data": st.one_of(st.none(), st.lists(_text, min_size=1, max_size=4)),
    "retry": st.one_of(st.none(), st.integers(min_value=0, max_value=10 ** 6)),
    "comment": st.booleans(),
})


def _encode(events: List[Dict[str, Any]], newline: str) -> bytes:
    out = []
    for e in events:
        if e["comment"]:
            out.append(": keep-alive")
        if e["event"] is not None and e["data"] is not None:
            out.append(f"event: {e['event']}")
        if e["id"] is not None:
            out.append(f"id: {e['id']}")
        if e["retry"] is not None:
            out.append(f"retry: {e['retry']}")
        for line in e["data"] or []:
            out.append(f"data: {line}")
        out.append("")
    return "".join(line + newline for line in out).encode("utf-8")


def _expected(e: Dict[str, Any]) -> Optional[tuple]:
    if e["data"] is None:  # a data-less event counts only for its id and retry
        if e["id"] is None and e["retry"] is None:
            return None
        return ("message", "", e["id"], e["retry"])
    return (e["event"] or "message", "\n".join(e["data"]), e["id"], e["retry"])


def _chunks(data: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for p in points:
        pieces.append(data[start:p])
        start = p
    pieces.append(data[start:])
    return pieces


@settings(max_examples=150, deadline=None)
@given(events=st.lists(_event, max_size=8), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       cuts=st.lists(st.integers(min_value=0, max_value=10 ** 6), max_size=12))
def test_sse_framing_round_trips_whatever_the_chunking(events, newline, cuts):
    wire = _encode(events, newline)
    got = [(e.event, e.data, e.id, e.retry) for e in iter_sse(_chunks(wire, cuts))]
    assert got == [x for x in map(_expected, events) if x is not None]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0, max_value=500), max_size=8),
       limit=st.integers(min_value=8, max_value=300))
def test_sse_framing_of_arbitrary_bytes_only_ever_raises_protocol_error(data, cuts, limit):
    try:
        for event in iter_sse(_chunks(data, cuts), max_event_size=limit):
            assert len(event.data.encode("utf-8")) <= limit
    except ProtocolError:
        pass


# ---------------------------------------------------------------------------- JSON decoding


def _outcome(decode: Callable[[Any], Any], data: Any) -> Any:
    try:
        return "ok", json.dumps(decode(data), sort_keys=True)  # dumps: NaN compares equal to NaN
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, ascii_only=st.booleans(), before=st.sampled_from(["", " ", "\ufeff", "\n\t"]),
       after=st.sampled_from(["", " ", "\r", "x", "}"]), as_text=st.booleans())
def test_our_json_decoding_is_exactly_json_loads(value, ascii_only, before, after, as_text):
    from mcp_sync._json import loads

    text = before + json.dumps(value, ensure_ascii=ascii_only) + after
    data = text if as_text else text.encode("utf-8")
    assert _outcome(loads, data) == _outcome(json.loads, data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=60))
def test_our_json_decoding_of_arbitrary_bytes_is_exactly_json_loads(data):
    from mcp_sync._json import loads

    assert _outcome(loads, data) == _outcome(json.loads, data)


# ---------------------------------------------------------------------------- stdio framing


class _Recorder:
    """Stands in for the engine: records what a transport hands it."""

    def __init__(self) -> None:
        self.messages: List[Any] = []
        self.lost: List[BaseException] = []

    def deliver(self, message: Any, origin: Any = None) -> None:
        self.messages.append(message)

    def transport_lost(self, exc: BaseException) -> None:
        self.lost.append(exc)


class _FakeProc:
    """The parts of a Popen the stdio reader uses, over a pipe we write to."""

    def __init__(self, read_fd: int, stand_in: "subprocess.Popen[bytes]") -> None:
        self.stdout = os.fdopen(read_fd, "rb", buffering=0)
        self.pid = stand_in.pid  # a process group of its own that the reader may SIGKILL
        self.returncode = 0

    def wait(self, timeout: Optional[float] = None) -> int:
        return 0

    def poll(self) -> int:
        return 0


def _read_stdio(chunks: List[bytes], max_message_size: int = 1 << 20) -> _Recorder:
    transport = StdioTransport(StdioServer("fake-server"), max_message_size=max_message_size)
    recorder = _Recorder()
    transport.engine = recorder  # type: ignore[assignment]
    read_fd, write_fd = os.pipe()
    stand_in = subprocess.Popen(["sleep", "30"], start_new_session=True)
    proc = _FakeProc(read_fd, stand_in)
    with proc.stdout, stand_in:
        reader = threading.Thread(target=transport._read_stdout, args=(proc,), name="test-stdio-reader")
        reader.start()
        try:
            for chunk in chunks:
                os.write(write_fd, chunk)
        except BrokenPipeError:
            pass  # the reader gave up on the stream (over the limit): what we test
        finally:
            os.close(write_fd)
        reader.join(10)
        assert not reader.is_alive(), "the stdio reader hung"
        stand_in.kill()
    return recorder


_json = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                     lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
                     max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.dictionaries(_text, _json, max_size=4), max_size=6),
       crlf=st.booleans(), cuts=st.lists(st.integers(min_value=0, max_value=10 ** 5), max_size=8))
def test_stdio_framing_delivers_each_line_once_whatever_the_chunking(messages, crlf, cuts):
    ending = b"\r\n" if crlf else b"\n"
    wire = b"".join(json.dumps(m, separators=(",", ":")).encode() + ending for m in messages)
    recorder = _read_stdio(_chunks(wire, cuts))
    assert recorder.messages == messages
    assert len(recorder.lost) == 1 and "exited with code 0" in str(recorder.lost[0])


def test_stdio_line_longer_than_the_limit_stops_the_server_with_a_clear_error():
    recorder = _read_stdio([b'{"jsonrpc":"2.0","method":"x","params":{"pad":"' + b"a" * 5000], max_message_size=1000)
    assert recorder.messages == []
    assert "larger than the 1000-byte limit" in str(recorder.lost[0])


# ---------------------------------------------------------------------------- routing fuzz


class _NullTransport(Transport):
    name = "null"

    def __init__(self) -> None:
        self.sent: List[Dict[str, Any]] = []

    def open(self, timeout: Timeout) -> None:
        pass

    def send_request(self, pending: Pending, message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        self.sent.append(message)

    def send_message(self, message: Dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


_VALID = [
    {"jsonrpc": "2.0", "id": 1, "result": {"content": []}},
    {"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "nope"}},
    {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 3, "progress": 1}},
    {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hi"}},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4, "reason": "x"}},
    {"jsonrpc": "2.0", "id": "s1", "method": "ping"},
    {"jsonrpc": "2.0", "id": 9, "method": "roots/list", "params": {}},
]
_ODD = [None, True, 1.5, -1, 10 ** 30, "", "x" * 300, [], [1], {}, {"a": None}, "\udcff", float("nan")]


def _mutate(rng: random.Random, message: Any, depth: int = 0) -> Any:
    if depth > 3 or rng.random() < 0.15:
        return rng.choice(_ODD + [message])
    if isinstance(message, dict):
        out = dict(message)
        for key in list(out):
            roll = rng.random()
            if roll < 0.2:
                del out[key]
            elif roll < 0.6:
                out[key] = _mutate(rng, out[key], depth + 1)
        if rng.random() < 0.2:
            out[rng.choice(["id", "method", "result", "error", "params", "jsonrpc"])] = rng.choice(_ODD)
        return out
    if isinstance(message, list):
        return [_mutate(rng, m, depth + 1) for m in message]
    return rng.choice(_ODD + [message])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_fuzzed_frames_never_raise_hang_or_kill_a_thread(era, thread_errors, caplog):
    transport = _NullTransport()
    engine = Engine(transport, timeout=Timeout(call=5))
    engine.state.era = era
    engine.state.protocol_version = "2025-11-25" if era == "legacy" else "2026-07-28"
    engine.request_handlers["roots/list"] = lambda params: {"roots": []}
    engine.add_handler(None, lambda message: None)
    pendings = [Pending(i, "tools/call") for i in range(1, 6)]
    engine._pending.update({p.id: p for p in pendings})
    rng = random.Random(20260728)
    try:
        started = time.monotonic()
        for n in range(20000):
            frame = _mutate(rng, rng.choice(_VALID))
            if rng.random() < 0.05:
                frame = [frame, _mutate(rng, rng.choice(_VALID))]  # a batch
            engine.deliver(frame, rng.choice(pendings + [None]))
        assert time.monotonic() - started < 40
        time.sleep(0.5)  # let the dispatch pool and the handler thread catch up
    finally:
        engine.close()
    assert thread_errors == []
    assert not [r for r in caplog.records if r.name == "mcp_sync.threads"]


def test_a_consumer_that_falls_behind_a_shared_reader_fails_instead_of_buffering_forever():
    transport = _NullTransport()
    engine = Engine(transport, timeout=Timeout(call=5), max_buffered=100)
    engine.state.era = "legacy"
    engine._connected = True
    exchange = engine.exchange("tools/call", {"name": "x"}, want_progress=True)
    first = None
    try:
        # The request is sent when the generator first runs; feed it from "a shared reader".
        def feed() -> None:
            while not transport.sent:
                time.sleep(0.001)
            rid = transport.sent[0]["id"]
            for i in range(1000):
                engine.deliver({"jsonrpc": "2.0", "method": "notifications/progress",
                                "params": {"progressToken": rid, "progress": i}})

        feeder = threading.Thread(target=feed)
        feeder.start()
        first = next(exchange)
        feeder.join(5)
        assert not feeder.is_alive()  # the shared reader was never blocked
        received = 1
        with pytest.raises(ProtocolError, match="more than 100 notifications"):
            for _ in exchange:
                received += 1
        assert received <= 101
    finally:
        exchange.close()
        engine.close()
    assert first is not None


# ---------------------------------------------------------------------------- malformed frames over HTTP


class _Scripted:
    """A modern Streamable HTTP server that answers ``tools/call`` with a body the test scripts."""

    def __init__(self, reply: Callable[[Dict[str, Any]], tuple]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                message = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if message.get("method") == "server/discover":
                    ctype, body = "application/json", json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {
                        "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}},
                        "serverInfo": {"name": "scripted", "version": "0"}}}).encode()
                else:
                    ctype, body = reply(message)
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=outer.httpd.serve_forever, name="test-scripted-http", daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mcp"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _sse(*frames: bytes) -> bytes:
    return b"".join(b"event: message\ndata: " + f + b"\n\n" for f in frames)


def _result(message: Dict[str, Any], text: str = "ok") -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": message["id"],
                       "result": {"content": [{"type": "text", "text": text}]}}).encode()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name,reply,error", [
    ("junk-then-answer", lambda m: ("text/event-stream", _sse(
        b'{"not": "json-rpc"}', b'[1, 2]', b'{"jsonrpc":"2.0","id":987654,"result":{}}',
        b'{"jsonrpc":"2.0","id":[1],"result":{}}', b'{"jsonrpc":"2.0","method":"notifications/progress",'
        b'"params":{"progressToken":{"x":1},"progress":1}}') + _sse(_result(m))), None),
    ("invalid-json", lambda m: ("text/event-stream", _sse(b"{not json")), "not valid JSON"),
    ("invalid-utf8", lambda m: ("text/event-stream", b"event: message\ndata: \xff\xfe\n\n"), "UTF-8"),
    ("oversize", lambda m: ("text/event-stream", _sse(b'"' + b"x" * 5000 + b'"')), "limit"),
    ("truncated", lambda m: ("text/event-stream", b"event: message\ndata: {\"jsonrpc\""), "ended before"),
    ("html-200", lambda m: ("text/html", b"<html><body>Welcome</body></html>"), "text/html"),
    ("json-not-object", lambda m: ("application/json", b"[]"), None),
    ("wrong-result", lambda m: ("application/json", json.dumps(
        {"jsonrpc": "2.0", "id": m["id"], "result": 42}).encode()), "not an object"),
])
def test_malformed_frames_give_clear_errors_and_never_kill_a_reader(name, reply, error, thread_errors):
    server = _Scripted(reply)
    try:
        with Client(server.url, timeout=Timeout(call=5), max_message_size=1000) as client:
            if name == "json-not-object":
                with pytest.raises(Exception) as info:  # an empty batch answers nothing
                    client.call_tool("t")
                assert "no response" in str(info.value) or "ended" in str(info.value)
            elif error is None:
                assert client.call_tool("t").text == "ok"
            else:
                with pytest.raises(Exception) as info:
                    client.call_tool("t")
                assert error in str(info.value), repr(info.value)
                assert info.value.method == "tools/call"
    finally:
        server.close()
    assert thread_errors == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300, -1, 0])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused_up_front(value):
    # nan, inf and 1e300 passed the check, then failed mid-call with ValueError/OverflowError from queue.get().
    with pytest.raises(ValueError, match="Timeout.call"):
        Timeout(call=value)
    with pytest.raises(ValueError, match="Timeout.read"):
        Timeout(read=value)
    with pytest.raises(ValueError, match="Timeout.call"):
        Timeout.coerce(value)
