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
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf += chunk
        while True:
            end = buf.find(b"\n\n", scan_from)
            if end < 0:
                scan_from = max(0, len(buf) - 1)
                if len(buf) > max_event_size:
                    raise ProtocolError(f"SSE event larger than the {max_event_size}-byte limit")
                break
            raw = bytes(buf[: end + 2])
            del buf[: end + 2]
            scan_from = 0
            if len(raw) > max_event_size:
                raise ProtocolError(f"SSE event larger than the {max_event_size}-byte limit")
            event = _parse_event(raw)
            if event is not None:
                yield event


def _parse_event(raw: bytes) -> Optional[SSEEvent]:
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
            event_id = line[3:].lstrip(b" ").decode("utf-8", "replace")
        elif line.startswith(b"retry:"):
            retry = _retry(line[6:].strip().decode("ascii", "replace"))
    if event_id is None and retry is None:
        return None  # a comment-only keep-alive
    return SSEEvent("message", "", event_id, retry)


def _retry(value: object) -> Optional[int]:
    if value is None:
        return None
    try:
        retry = int(str(value).strip())
    except ValueError:
        return None  # the SSE spec: ignore a non-integer retry
    return retry if retry >= 0 else None
