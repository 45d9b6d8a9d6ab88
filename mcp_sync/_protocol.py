"""Protocol constants shared by the engine and the transports."""
from __future__ import annotations

from typing import Any, Dict, Optional

#: The protocol versions mcp_sync speaks, newest first.
MODERN_VERSIONS = ("2026-07-28",)
LEGACY_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_LEGACY = LEGACY_VERSIONS[0]
SUPPORTED_VERSIONS = MODERN_VERSIONS + LEGACY_VERSIONS

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId"
RELATED_TASK_KEY = "io.modelcontextprotocol/related-task"
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

#: Methods whose modern HTTP request carries ``Mcp-Name``, and the param it names.
MCP_NAME_PARAMS = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}


def is_modern(version: Optional[str]) -> bool:
    return version in MODERN_VERSIONS


def message_protocol_version(message: Dict[str, Any]) -> Optional[str]:
    """The modern ``_meta`` protocol version a request carries, if any."""
    params = message.get("params")
    if isinstance(params, dict):
        meta = params.get("_meta")
        if isinstance(meta, dict):
            value = meta.get(PROTOCOL_VERSION_KEY)
            return value if isinstance(value, str) else None
    return None
