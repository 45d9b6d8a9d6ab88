"""The client the official MCP conformance harness drives (see tests/test_conformance.py).

The harness appends the mock server's URL as the last argument and names the scenario in
``MCP_CONFORMANCE_SCENARIO``; credentials come in ``MCP_CONFORMANCE_CONTEXT`` (JSON) and the
2026-era harness names the protocol version in ``MCP_CONFORMANCE_PROTOCOL_VERSION``.

Only mcp_sync's public API is used: a scenario that needs a knob the library lacks gets it in the
library, not here. Every scenario runs the same session: connect, then exercise each feature the
server advertises (tools, resources, prompts), so each check the mock can make is earned. The
few scenarios that want something else have a small entry in ``SCENARIOS``.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Callable, Dict, Optional

from mcp_sync import Client, MCPError, SkillVerificationError

log = logging.getLogger("conformance-client")

CLIENT_INFO = {"name": "mcp-sync-conformance", "version": "1.0.0"}


# ---------------------------------------------------------------------- helpers


def sample_value(schema: Any) -> Any:
    """A value that satisfies a (simple) JSON schema: its default, first enum member or a dummy."""
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return sample_arguments(schema)
    return "test"


def sample_arguments(schema: Any) -> Dict[str, Any]:
    """Arguments for a tool: every required property, plus those with defaults."""
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    return {name: sample_value(props.get(name)) for name in props if name in required}


def accept_with_defaults(request: Any) -> Dict[str, Any]:
    """An elicitation handler that accepts, filling every field from the schema's defaults."""
    schema = getattr(request, "requested_schema", None) or {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    content = {name: prop["default"] for name, prop in props.items() if isinstance(prop, dict) and "default" in prop}
    return {"action": "accept", "content": content}


# ---------------------------------------------------------------------- the session


def exercise(client: Client, context: Dict[str, Any]) -> None:
    """Use everything the server offers, once: every tool (the calls the harness names in
    ``toolCalls``, else each listed tool with sample arguments), resource and prompt."""
    caps = client.server_capabilities
    tools = client.list_tools() if caps.tools is not None else []
    calls = context.get("toolCalls")
    if isinstance(calls, list):
        for call in calls:
            client.call_tool(call["name"], call.get("arguments") or {})
    else:
        for tool in tools:
            client.call_tool(tool.name, sample_arguments(tool.input_schema))
    if caps.resources is not None:
        for resource in client.list_resources():
            client.read_resource(resource.uri)
    if caps.prompts is not None:
        for prompt in client.list_prompts():
            client.get_prompt(prompt.name, {a.name: "test" for a in (prompt.arguments or []) if a.required})


def json_schema_preservation(client: Client, context: Dict[str, Any]) -> None:
    """Echo the focal tool's inputSchema back verbatim: the client must not alter it."""
    tools = {tool.name: tool for tool in client.list_tools()}
    focal = next(t for name, t in tools.items() if name != "json_schema_echo")
    client.call_tool("json_schema_echo", {"schema": focal.input_schema})


def list_only(client: Client, context: Dict[str, Any]) -> None:
    client.list_tools()


def list_skills(client: Client, context: Dict[str, Any]) -> None:
    """A host building its skill registry: the listing only, no file is read."""
    client.skills.list()


def load_skills(client: Client, context: Dict[str, Any]) -> None:
    """A host acting on each listed skill: load it (verified), then read each of its files. A
    skill that fails verification is not used, and the host carries on."""
    for skill in client.skills.list():
        try:
            loaded = client.skills.load(skill)
            for file in skill.files:
                loaded.read_bytes(file.uri)
        except SkillVerificationError as exc:
            log.warning("skill %s rejected (%s): %s", skill.uri, exc.reason, exc)


SCENARIOS: Dict[str, Callable[[Client, Dict[str, Any]], None]] = {
    "json-schema-2020-12-preservation": json_schema_preservation,
    "json-schema-ref-no-deref": list_only,
    "sep-2640-client-no-prefetch": list_skills,
    "sep-2640-client-verify-digest": load_skills,
    "sep-2640-client-verify-size": load_skills,
    "sep-2640-client-verify-frontmatter": load_skills,
}


def make_client(url: str, scenario: str, context: Dict[str, Any], version: Optional[str]) -> Client:
    options: Dict[str, Any] = {"client_info": CLIENT_INFO, "timeout": 20.0, "elicitation": accept_with_defaults}
    options["protocol"] = version or "auto"
    options["skills"] = scenario.startswith("sep-2640-")
    from auth import auth_for  # tests/conformance/auth.py: OAuth / client credentials for auth/* scenarios

    auth = auth_for(scenario, context)
    if auth is not None:
        options["auth"] = auth
    return Client(url, **options)


def main(argv: list) -> int:
    logging.basicConfig(level=os.environ.get("MCP_CONFORMANCE_LOG", "DEBUG"), stream=sys.stderr,
                        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")
    if len(argv) < 2:
        print("usage: client.py [args...] SERVER_URL", file=sys.stderr)
        return 2
    url = argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") or None
    log.info("scenario %r, url %s, protocol version %s", scenario, url, version)
    run = SCENARIOS.get(scenario, exercise)
    try:
        with make_client(url, scenario, context, version) as client:
            run(client, context)
    except MCPError as exc:
        log.error("scenario %s failed: %r", scenario, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
