"""Tool schemas: ``x-mcp-header`` annotations (§2.1) and ``outputSchema`` validation (§4.6).

Validation of ``structuredContent`` needs the optional ``jsonschema`` package
(``pip install mcp-sync[jsonschema]``); without it, results are not validated. Network ``$ref``s
are never fetched: the registry refuses every retrieval, and a schema that needs one is reported
in the log and left unvalidated.
"""
from __future__ import annotations

import contextvars
import functools
import logging
import string
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

log = logging.getLogger("mcp_sync.schema")

Path = Tuple[str, ...]

_TCHAR = set(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_HEADER_TYPES = {"string", "integer", "boolean"}
#: Keywords whose values are data, not subschemas: an "x-mcp-header" key inside them is no annotation.
_DATA_KEYWORDS = {"const", "enum", "default", "examples", "required", "x-mcp-header"}
MAX_SAFE_INTEGER = 2 ** 53 - 1


class InvalidHeaderAnnotation(ValueError):
    """A tool's ``x-mcp-header`` annotations break a rule of §2.1; the tool must be dropped."""


def header_paths(input_schema: Any) -> Dict[Path, str]:
    """Map each annotated argument path to its header name; raise :class:`InvalidHeaderAnnotation`."""
    found: Dict[Path, str] = {}
    _walk(input_schema, (), True, found)
    seen: Dict[str, Path] = {}
    for path, name in found.items():
        if name.lower() in seen:
            raise InvalidHeaderAnnotation(f"header {name!r} is declared twice ({'.'.join(seen[name.lower()])} and "
                                          f"{'.'.join(path)})")
        seen[name.lower()] = path
    return found


def _walk(node: Any, path: Path, reachable: bool, found: Dict[Path, str]) -> None:
    if not isinstance(node, dict):
        return
    if "x-mcp-header" in node:
        name = node["x-mcp-header"]
        where = ".".join(path) or "(root)"
        if not reachable or not path:
            raise InvalidHeaderAnnotation(f"x-mcp-header at {where} is not reachable through properties alone")
        if not isinstance(name, str) or not name or any(c not in _TCHAR for c in name):
            raise InvalidHeaderAnnotation(f"x-mcp-header {name!r} at {where} is not an HTTP token")
        kind = node.get("type")
        kinds = set(kind) - {"null"} if isinstance(kind, list) else {kind}
        if not kinds or not kinds <= _HEADER_TYPES:
            raise InvalidHeaderAnnotation(f"x-mcp-header {name!r} at {where} is on type {kind!r}; only string, "
                                          f"integer and boolean may be headers")
        found[path] = name
    for key, value in node.items():
        if key in _DATA_KEYWORDS:
            continue
        if key == "properties" and isinstance(value, dict):
            for prop, sub in value.items():
                _walk(sub, path + (prop,), reachable, found)
        elif isinstance(value, dict):
            # items, anyOf members, $defs, if/then/else, additionalProperties, ...: never a valid path.
            if key in ("$defs", "definitions", "patternProperties", "dependentSchemas"):
                for sub in value.values():
                    _walk(sub, path, False, found)
            else:
                _walk(value, path, False, found)
        elif isinstance(value, list):
            for sub in value:
                _walk(sub, path, False, found)


def param_headers(paths: Dict[Path, str], arguments: Any) -> Dict[str, str]:
    """The ``Mcp-Param-*`` headers for one call; absent or null arguments send no header."""
    from .transports.streamable_http import encode_header_value

    headers: Dict[str, str] = {}
    for path, name in paths.items():
        value: Any = arguments
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise ValueError(f"argument {'.'.join(path)} = {value} is outside ±(2**53-1) and cannot be a header")
            text = str(value)
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = value if isinstance(value, str) else str(value)
        headers[f"Mcp-Param-{name}"] = encode_header_value(text)
    return headers


# ---------------------------------------------------------------------- output schemas


class _NoNetwork(Exception):
    pass


class _OverBudget(Exception):
    pass


#: A schema bigger than this is not validated (the spec asks clients to bound validation cost;
#: a server could otherwise send a schema built to make every result slow to check).
MAX_SCHEMA_DEPTH = 64
MAX_SCHEMA_NODES = 10_000
#: A small schema can still cost exponential time (``anyOf`` members that ``$ref`` the next level
#: twice), so validating one result also has a time budget; past it, the result is not validated.
MAX_VALIDATION_SECONDS = 2.0

_deadline: "contextvars.ContextVar[Optional[float]]" = contextvars.ContextVar("mcp_sync_schema_deadline",
                                                                              default=None)


def schema_too_costly(schema: Any) -> Optional[str]:
    """Why ``schema`` is too big to validate against, or ``None``."""
    nodes = 0
    stack = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_SCHEMA_DEPTH:
            return f"it nests deeper than {MAX_SCHEMA_DEPTH} levels"
        if nodes > MAX_SCHEMA_NODES:
            return f"it has more than {MAX_SCHEMA_NODES} parts"
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None


def output_error(schema: Any, value: Any) -> Optional[str]:
    """Why ``value`` does not match ``schema``; ``None`` when it does, or when it cannot be
    checked (no ``jsonschema``, an invalid schema, a ``$ref`` that would need the network)."""
    try:
        import jsonschema
        from referencing import Registry
        from referencing.exceptions import Unresolvable
    except ImportError:
        return None
    if not isinstance(schema, (dict, bool)):
        return None
    too_costly = schema_too_costly(schema)
    if too_costly is not None:
        log.warning("not validating structured output against a schema this large: %s", too_costly)
        return None

    def refuse(uri: str) -> Any:
        raise _NoNetwork(uri)

    token = _deadline.set(time.monotonic() + MAX_VALIDATION_SECONDS)
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator) \
            if isinstance(schema, dict) else jsonschema.Draft202012Validator
        cls.check_schema(schema)
        validator = _budgeted(cls)(schema, registry=Registry(retrieve=refuse))
        errors: List[Any] = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    except (Unresolvable, _NoNetwork) as exc:
        log.warning("not validating structured output: the schema refers to %s, which mcp_sync does not fetch",
                    getattr(exc, "ref", exc))
        return None
    except jsonschema.SchemaError as exc:
        log.warning("not validating structured output: the output schema is invalid: %s", exc.message)
        return None
    except _OverBudget:
        log.warning("not validating structured output: it took longer than %ss", MAX_VALIDATION_SECONDS)
        return None
    except RecursionError:  # a $ref cycle that never consumes the value, e.g. {"$ref": "#"}
        log.warning("not validating structured output: the output schema refers to itself without end")
        return None
    finally:
        _deadline.reset(token)
    if not errors:
        return None
    best = jsonschema.exceptions.best_match(errors)
    where = "/".join(str(p) for p in best.absolute_path)
    return f"{best.message}" + (f" (at /{where})" if where else "")


@functools.lru_cache(maxsize=None)
def _budgeted(cls: Any) -> Any:
    """``cls`` with every keyword checking the time budget of the validation under way."""
    import jsonschema

    def wrap(check: Callable[..., Any]) -> Callable[..., Any]:
        def budgeted(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
            deadline = _deadline.get()
            if deadline is not None and time.monotonic() > deadline:
                raise _OverBudget()
            return check(validator, value, instance, schema)
        return budgeted

    return jsonschema.validators.extend(cls, {k: wrap(v) for k, v in cls.VALIDATORS.items()})
