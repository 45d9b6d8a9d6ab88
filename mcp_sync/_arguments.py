"""``key=value`` words from a command line turned into tool arguments, typed by the tool's input
schema: numbers, booleans, JSON for objects and arrays. Errors name the argument."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["ArgumentError", "parse_arguments", "coerce"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
# When a value may be of several types, the first that parses wins; string comes last because
# anything parses as a string.
_ORDER = ["null", "boolean", "integer", "number", "object", "array", "string"]


class ArgumentError(ValueError):
    """A ``key=value`` word does not fit the schema. ``name`` is the argument at fault."""

    def __init__(self, message: str, name: Optional[str] = None) -> None:
        super().__init__(message)
        self.name = name


def parse_arguments(words: Sequence[str], schema: Optional[Dict[str, Any]] = None,
                    base: Optional[Dict[str, Any]] = None, check_required: bool = True) -> Dict[str, Any]:
    """Parse ``key=value`` (typed by the schema) and ``key:=JSON`` (taken as JSON) words on top of
    ``base``. Repeating an array argument appends to it.

    :raises ArgumentError: a word is malformed, a value has the wrong type, an argument is unknown
        or a required one is missing.
    """
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    arguments: Dict[str, Any] = dict(base or {})
    repeated: Dict[str, bool] = {}
    for word in words:
        raw_json = False
        if ":=" in word and (word.index(":=") < word.index("=") if "=" in word else True):
            name, _, raw = word.partition(":=")
            raw_json = True
        elif "=" in word:
            name, _, raw = word.partition("=")
        else:
            raise ArgumentError(f"expected key=value, got {word!r}")
        if not name:
            raise ArgumentError(f"missing argument name in {word!r}")
        if properties and name not in properties and not schema.get("additionalProperties"):
            known = ", ".join(properties) or "no arguments"
            raise ArgumentError(f"unknown argument {name!r} (the tool takes: {known})", name)
        prop = properties.get(name) if isinstance(properties.get(name), dict) else {}
        if raw_json:
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise ArgumentError(f"argument {name!r}: not valid JSON: {exc}", name) from None
        elif "array" in _types(prop) and not raw.lstrip().startswith("["):
            # ``tags=a tags=b`` builds a list one item at a time.
            item = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            previous = arguments.get(name) if repeated.get(name) else []
            value = list(previous) + [coerce(name, raw, item)]
            repeated[name] = True
        else:
            value = coerce(name, raw, prop)
        arguments[name] = value
    if check_required:
        missing = [r for r in schema.get("required") or [] if r not in arguments]
        if missing:
            raise ArgumentError(f"missing required argument {missing[0]!r}", missing[0])
    return arguments


def _types(prop: Dict[str, Any]) -> List[str]:
    kind = prop.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    kinds: List[str] = []
    for option in prop.get("anyOf") or prop.get("oneOf") or []:
        if isinstance(option, dict):
            kinds += [k for k in _types(option) if k not in kinds]
    if not kinds and "enum" in prop:
        kinds = sorted({_json_type(v) for v in prop["enum"]}, key=_ORDER.index)
    return kinds


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


def coerce(name: str, raw: str, prop: Dict[str, Any]) -> Any:
    """One value, typed by its property schema.

    :raises ArgumentError: it fits none of the schema's types or is not one of its ``enum``.
    """
    kinds = _types(prop)
    if not kinds:
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
    else:
        value = _NOTHING
        for kind in sorted(kinds, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER)):
            value = _parse_as(kind, raw)
            if value is not _NOTHING:
                break
        if value is _NOTHING:
            raise ArgumentError(f"argument {name!r} must be {_describe(kinds)}, got {raw!r}", name)
    enum = prop.get("enum")
    if isinstance(enum, list) and value not in enum:
        raise ArgumentError(f"argument {name!r} must be one of {', '.join(map(str, enum))}; got {raw!r}", name)
    return value


_NOTHING: Any = object()


def _parse_as(kind: str, raw: str) -> Any:
    text = raw.strip()
    if kind == "string":
        return raw
    if kind == "null":
        return None if text in ("null", "none", "None") else _NOTHING
    if kind == "boolean":
        low = text.lower()
        return True if low in _TRUE else False if low in _FALSE else _NOTHING
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return _NOTHING
            return int(number) if number.is_integer() else _NOTHING
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return _NOTHING
    if kind in ("object", "array"):
        try:
            value = json.loads(text)
        except ValueError:
            return _NOTHING
        return value if isinstance(value, dict if kind == "object" else list) else _NOTHING
    return _NOTHING


def _describe(kinds: List[str]) -> str:
    words = {"integer": "an integer", "number": "a number", "boolean": "true or false", "object": "a JSON object",
             "array": "a JSON array", "null": "null", "string": "a string"}
    return " or ".join(words.get(k, k) for k in kinds)
