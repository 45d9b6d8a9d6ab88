"""The ``mcpServers`` configuration MCP hosts share (Claude Desktop, Cursor, Claude Code, VS Code).

::

    {"mcpServers": {
        "files":  {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                   "env": {"DEBUG": "1"}, "cwd": "/tmp"},
        "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"},
                   "type": "http"}}}

``command``/``args``/``env``/``cwd`` describe a stdio server; ``url``/``headers``/``type`` an HTTP
one (``type`` ``"sse"`` pins HTTP+SSE, ``"http"`` Streamable HTTP; without it the client detects).
``${VAR}``, ``${VAR:-default}`` and ``${env:VAR}`` in any string are taken from the environment.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .transports.stdio import StdioServer

ConfigLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]

_VAR = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TYPES = {
    "stdio": "stdio", "sse": "sse",
    "http": "streamable-http", "streamable-http": "streamable-http", "streamable_http": "streamable-http",
    "streamablehttp": "streamable-http",
}


def load(config: ConfigLike) -> Dict[str, Any]:
    """The ``mcpServers`` table (``servers`` in VS Code's files) of a path, JSON text or dict."""
    if isinstance(config, Mapping):
        data: Any = config
    elif isinstance(config, str) and config.lstrip().startswith("{"):
        data = json.loads(config)
    elif isinstance(config, (str, os.PathLike)):
        path = Path(config).expanduser()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"MCP configuration file not found: {path}") from None
        except ValueError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    else:
        raise TypeError(f"config must be a path, JSON text or a dict, got {type(config).__name__}")
    if not isinstance(data, Mapping):
        raise ValueError("an MCP configuration must be a JSON object")
    servers = data.get("mcpServers", data.get("servers"))
    if not isinstance(servers, Mapping):
        raise ValueError("the configuration has no 'mcpServers' object")
    return dict(servers)


def expand(value: Any, environ: Optional[Mapping[str, str]] = None) -> Any:
    """``${VAR}`` expansion in every string of ``value``; a variable that is not set and has no
    ``:-default`` raises, naming it (an empty token would fail later, and more obscurely)."""
    env = os.environ if environ is None else environ
    if isinstance(value, str):
        def substitute(match: "re.Match[str]") -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ValueError(f"the configuration uses ${{{name}}}, but {name} is not set in the environment")

        return _VAR.sub(substitute, value)
    if isinstance(value, Mapping):
        return {k: expand(v, env) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expand(v, env) for v in value]
    return value


def client_arguments(config: ConfigLike, name: Optional[str] = None) -> Tuple[Any, Dict[str, Any]]:
    """``(target, keyword arguments)`` for :class:`~mcp_sync.Client` from one configured server."""
    servers = load(config)
    if name is None:
        if len(servers) != 1:
            raise ValueError(f"the configuration has {len(servers)} servers; pass one name of {sorted(servers)}")
        name = next(iter(servers))
    if name not in servers:
        raise ValueError(f"no server named {name!r} in the configuration; it has {sorted(servers)}")
    entry = servers[name]
    if not isinstance(entry, Mapping):
        raise ValueError(f"server {name!r}: its entry must be an object")
    entry = expand(entry)
    kind = str(entry.get("type") or entry.get("transport") or "").lower()
    if kind and kind not in _TYPES:
        raise ValueError(f"server {name!r}: unknown type {kind!r} (expected one of {sorted(set(_TYPES))})")
    url = entry.get("url") or entry.get("serverUrl")
    if entry.get("command"):
        if url:
            raise ValueError(f"server {name!r} has both 'command' and 'url'")
        args = entry.get("args") or []
        env = entry.get("env") or None
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f"server {name!r}: 'args' must be a list of strings")
        if env is not None and not isinstance(env, Mapping):
            raise ValueError(f"server {name!r}: 'env' must be an object")
        return StdioServer(str(entry["command"]), args, env=env, cwd=entry.get("cwd")), {}
    if not url:
        raise ValueError(f"server {name!r} has neither 'command' nor 'url'")
    options: Dict[str, Any] = {}
    if kind and kind != "stdio":
        options["transport"] = _TYPES[kind]
    headers = entry.get("headers")
    if headers:
        if not isinstance(headers, Mapping):
            raise ValueError(f"server {name!r}: 'headers' must be an object")
        options["headers"] = {str(k): str(v) for k, v in headers.items()}
    return str(url), options
