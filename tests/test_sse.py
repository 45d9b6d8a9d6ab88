from __future__ import annotations

import json

import pytest

from mcp_sync._sse import SSEEvent, iter_sse
from mcp_sync.errors import ProtocolError


def events(chunks, **kw):
    return list(iter_sse(chunks, **kw))


def test_lf_crlf_and_cr_line_endings_and_comments():
    text = b": keep-alive\r\n\r\nevent: message\r\ndata: a\r\n\r\ndata: b\rdata: c\r\rdata: d\n\n"
    assert [(e.event, e.data) for e in events([text])] == [("message", "a"), ("message", "b\nc"), ("message", "d")]


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_any_chunking_gives_the_same_events(size):
    text = b"id: 1\r\ndata:\r\n\r\nevent: message\r\ndata: {\"x\": \"\xc3\xa9\"}\r\n\r\nretry: 250\nid: 2\n\n"
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    assert events(chunks) == events([text]) == [
        SSEEvent("message", "", "1", None),
        SSEEvent("message", '{"x": "\u00e9"}', None, None),
        SSEEvent("message", "", "2", 250),
    ]


def test_oversized_event_is_refused():
    with pytest.raises(ProtocolError, match="limit"):
        events([b"data: " + b"x" * 2000 + b"\n\n"], max_event_size=1000)
    with pytest.raises(ProtocolError, match="limit"):
        events([b"data: " + b"x" * 600, b"x" * 600], max_event_size=1000)


def test_truncated_final_event_is_dropped():
    assert events([b"data: 1\n\ndata: 2"]) == [SSEEvent("message", "1")]


def test_invalid_utf8_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="UTF-8"):
        events([b"data: \xff\xfe\n\n"])


def test_large_event_in_many_chunks_is_linear():
    payload = json.dumps({"blob": "x" * (8 * 1024 * 1024)}).encode()
    raw = b"data: " + payload + b"\n\n"
    chunks = [raw[i:i + 16384] for i in range(0, len(raw), 16384)]
    (event,) = events(chunks)
    assert len(event.data) == len(payload)


def test_only_one_leading_space_is_removed_from_a_field():
    """The SSE spec strips a single space after the colon: an id of one space stays one space,
    with or without data (found by the hypothesis round-trip test)."""
    assert events([b"id:  \ndata: x\n\n"]) == [SSEEvent("message", "x", " ")]
    assert events([b"id:  \n\n"]) == [SSEEvent("message", "", " ")]
    assert events([b"id:7\n\n"]) == [SSEEvent("message", "", "7")]
