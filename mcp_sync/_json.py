"""JSON for messages on the wire, kept cheap: a reply is decoded right after the caller wakes, when
nothing is in the CPU's caches, and there every layer of ``json.loads`` costs several times its
warm price (bytes -> encoding detection -> str -> whitespace regex -> scanner)."""
from __future__ import annotations

import json
from typing import Any, Dict, Union

#: One encoder for every message: json.dumps() with arguments builds a new encoder per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_scan = json.JSONDecoder().scan_once  # the C scanner when the json accelerator is there


def compact(message: Dict[str, Any]) -> bytes:
    """A message as compact UTF-8 JSON."""
    return _COMPACT.encode(message).encode("utf-8")


def loads(data: Union[bytes, bytearray, str]) -> Any:
    """``json.loads(data)``, with a short path for what servers send: UTF-8 text holding one JSON
    value with no surrounding whitespace (about 3x faster on a cold cache). Anything else —
    whitespace, a BOM, another encoding, bad JSON — takes ``json.loads`` itself, so results and
    errors are exactly its own."""
    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (ValueError, StopIteration):
        pass
    return json.loads(data)
