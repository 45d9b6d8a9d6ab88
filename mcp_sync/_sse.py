"""Server-sent events over a ``requests`` response.

sseclient-py parses the fields of each event. We frame events ourselves first, because sseclient-py
reads 128-byte chunks and concatenates bytes per line (quadratic on a large event); here the body
is read in whatever chunks the socket gives (``iter_content(chunk_size=None)``), line endings are
normalised once per chunk, and each complete event is handed to sseclient-py alone. We also keep
what sseclient-py drops: the ``id`` and ``retry`` of events without data (the 2025-11-25 "priming"
event), which resumption needs.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from sseclient import SSEClient

from .errors import ProtocolError

#: Largest SSE event accepted by default (one JSON-RPC message). Real payloads reach many MiB.
DEFAULT_MAX_EVENT_SIZE = 64 * 1024 * 1024


@dataclass
class SSEEvent:
    event: str
    data: str
    id: Optional[str] = None
    retry: Optional[int] = None


def iter_sse(chunks: Iterable[bytes], max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> Iterator[SSEEvent]:
    """Yield every event of an SSE byte stream, including data-less ones (``data == ""``).

    Comments (``:`` keep-alives) are dropped. An event larger than ``max_event_size`` raises
    :class:`ProtocolError`. A truncated final event (no blank line) is dropped, as the SSE spec says.
    """
    buf = bytearray()
    scan_from = 0
    held_cr = False
    for chunk in itertools.chain(chunks, (None,)):
        if chunk is None:
            if not held_cr:
                break
            chunk, held_cr = b"\n", False  # the stream ended on that CR: it was a line ending
        elif not chunk:
            continue
        if held_cr:
            chunk = b"\r" + chunk
            held_cr = False
        if chunk.endswith(b"\r"):
            # A CR at a chunk's end may be the first half of a CRLF; decide with the next chunk.
            chunk = chunk[:-1]
            held_cr = True
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n")
            if b"\r" in chunk:  # a lone CR is rare: spare a large chunk the second copy
                chunk = chunk.replace(b"\r", b"\n")
        buf += chunk
        while True:
            end = buf.find(b"\n\n", scan_from)
            if end < 0:
                scan_from = max(0, len(buf) - 1)
                if len(buf) > max_event_size:
                    raise ProtocolError(f"SSE event larger than the {max_event_size}-byte limit")
                break
            raw = buf[: end + 2]  # a bytearray: one copy, however large the event
            del buf[: end + 2]
            scan_from = 0
            if len(raw) > max_event_size:
                raise ProtocolError(f"SSE event larger than the {max_event_size}-byte limit")
            event = _parse_event(raw)
            if event is not None:
                yield event


def _parse_event(raw: bytearray) -> Optional[SSEEvent]:
    simple = _parse_simple(raw)
    if simple is not None:
        return simple
    raw = bytes(raw)
    try:
        parsed = next(SSEClient([raw]).events(), None)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"SSE event is not valid UTF-8: {exc}") from exc
    if parsed is not None:
        return SSEEvent(parsed.event, parsed.data, parsed.id, _retry(parsed.retry))
    # sseclient-py skips events without data; their id and retry still count.
    event_id = retry = None
    for line in raw.split(b"\n"):
        if line.startswith(b"id:"):
            value = line[3:]
            # The SSE spec removes one leading space from a field's value, no more.
            event_id = (value[1:] if value.startswith(b" ") else value).decode("utf-8", "replace")
        elif line.startswith(b"retry:"):
            retry = _retry(line[6:].strip().decode("ascii", "replace"))
    if event_id is None and retry is None:
        return None  # a comment-only keep-alive
    return SSEEvent("message", "", event_id, retry)


def _parse_simple(raw: bytearray) -> Optional[SSEEvent]:
    """The common shape (``event``/``id``/``retry`` lines and exactly one ``data`` line), parsed
    without copying the data more than the UTF-8 decoding does; ``None`` for anything else, which
    sseclient-py then parses. sseclient-py copies a data line about ten times: 32 MiB results
    spent more time there than in JSON decoding."""
    view = memoryview(raw)
    event, event_id, retry, data = "message", None, None, None
    pos, end = 0, len(raw) - 1  # raw ends with the blank line's "\n\n"
    try:
        while pos < end:
            nl = raw.find(b"\n", pos)
            if raw.startswith(b"data:", pos):
                if data is not None:
                    return None  # several data lines: joined by sseclient-py
                start = pos + 5 + (raw[pos + 5:pos + 6] == b" ")
                data = str(view[start:nl], "utf-8")
            elif raw.startswith(b":", pos):
                pass  # a comment
            else:
                field, sep, value = bytes(view[pos:nl]).decode("utf-8").partition(":")
                value = value[1:] if value.startswith(" ") else value
                if not sep or field not in ("event", "id", "retry") or "\0" in value:
                    return None
                if field == "event":
                    event = value or "message"
                elif field == "id":
                    event_id = value
                else:
                    retry = _retry(value)
            pos = nl + 1
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"SSE event is not valid UTF-8: {exc}") from exc
    finally:
        view.release()
    if not data:
        return None  # data-less events keep their own handling below
    return SSEEvent(event, data, event_id, retry)


def _retry(value: object) -> Optional[int]:
    if value is None:
        return None
    try:
        retry = int(str(value).strip())
    except ValueError:
        return None  # the SSE spec: ignore a non-integer retry
    return retry if retry >= 0 else None
