"""JSON for messages on the wire, kept cheap: a reply is decoded right after the caller wakes, when
nothing is in the CPU's caches, and there every layer of ``json.loads`` costs several times its
warm price (bytes -> encoding detection -> str -> whitespace regex -> scanner)."""
from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, Dict, List, Optional, Union


def _unencodable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__!r} is not a JSON type (use str, int, float, bool, None, list or dict)")


#: One encoder for every message: json.dumps() builds a new one per call (~10 us on a cold cache).
#: NaN and infinities are refused (they are not JSON: a strict server drops the whole message),
#: and circular references are not tracked (they end in RecursionError, reported below).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False,
                            default=_unencodable)
try:  # the C encoder itself, made once; JSONEncoder.encode makes one per call
    _encode: Optional[Callable[[Any, int], List[str]]] = c_make_encoder(
        None, _unencodable, encode_basestring, None, ":", ",", False, False, False)
except (TypeError, ValueError):  # pragma: no cover - a Python whose encoder takes other arguments
    _encode = None
if _encode is not None and "".join(_encode({"a": [1, 2.5, "\u00e9"]}, 0)) != '{"a":[1,2.5,"\u00e9"]}':
    _encode = None  # pragma: no cover - not the encoder we know
_scan = json.JSONDecoder().scan_once  # the C scanner when the json accelerator is there


def compact(message: Dict[str, Any]) -> bytes:
    """A message as compact UTF-8 JSON. Raises TypeError or ValueError, naming the method and
    the cause, for what JSON cannot carry (an object, NaN, a circular reference)."""
    try:
        text = "".join(_encode(message, 0)) if _encode is not None else _COMPACT.encode(message)
        return text.encode("utf-8")
    except RecursionError:
        error: Exception = ValueError("it is nested too deeply or contains itself")
    except UnicodeEncodeError:
        error = ValueError("a string holds a lone surrogate, which UTF-8 cannot carry")
    except (TypeError, ValueError) as exc:
        error = type(exc)(str(exc).replace("Out of range float values are not JSON compliant",
                                           "NaN and infinities are not JSON"))
    method = message.get("method") or "the response"
    raise type(error)(f"{method}: the message cannot be sent as JSON: {error}") from None


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
