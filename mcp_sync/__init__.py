"""mcp_sync: a synchronous, thread-based client for the Model Context Protocol.

>>> from mcp_sync import Client
>>> with Client("http://127.0.0.1:8000/mcp") as client:      # doctest: +SKIP
...     print(client.call_tool("echo", {"message": "Hello, MCP!"}).text)
"""
import logging

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any, List

from .client import Client  # noqa: E402
from .errors import (  # noqa: E402
    AuthError,
    ClientClosedError,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ExtensionNotSupported,
    HTTPStatusError,
    InteractionError,
    MCPError,
    MCPTimeoutError,
    OutputValidationError,
    ProtocolError,
    RequestTimeout,
    RPCError,
    ServerCancelled,
    SkillVerificationError,
    TaskCancelled,
    ToolError,
    TransportError,
    UnsupportedProtocolVersion,
)
from .timeouts import Timeout  # noqa: E402

# Everything else loads on first use (PEP 562), so ``import mcp_sync`` pays for the client and
# its errors only: the pydantic models, the stdio transport, skills and friends cost ~50 ms to
# import and many programs never touch them.
_LAZY = {
    "ClientGroup": "group",
    "ToolList": "_display",
    "LoadedSkill": "skills",
    "Skill": "skills",
    "SkillFile": "skills",
    "Subscription": "subscriptions",
    "SubscriptionEvent": "subscriptions",
    "TaskHandle": "tasks",
    "Event": "events",
    "LogEvent": "events",
    "NotificationEvent": "events",
    "ProgressEvent": "events",
    "ResultEvent": "events",
    "TaskStatusEvent": "events",
    "StdioServer": "transports.stdio",
    "CallToolResult": "types",
    "CompleteResult": "types",
    "CreateMessageRequest": "types",
    "CreateMessageResult": "types",
    "ElicitRequest": "types",
    "ElicitResult": "types",
    "GetPromptResult": "types",
    "Implementation": "types",
    "Prompt": "types",
    "ReadResourceResult": "types",
    "Resource": "types",
    "ResourceTemplate": "types",
    "Root": "types",
    "ServerCapabilities": "types",
    "Task": "types",
    "Tool": "types",
}

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers and IDEs
    from ._display import ToolList
    from .events import Event, LogEvent, NotificationEvent, ProgressEvent, ResultEvent, TaskStatusEvent
    from .group import ClientGroup
    from .skills import LoadedSkill, Skill, SkillFile
    from .subscriptions import Subscription, SubscriptionEvent
    from .tasks import TaskHandle
    from .transports.stdio import StdioServer
    from .types import (
        CallToolResult,
        CompleteResult,
        CreateMessageRequest,
        CreateMessageResult,
        ElicitRequest,
        ElicitResult,
        GetPromptResult,
        Implementation,
        Prompt,
        ReadResourceResult,
        Resource,
        ResourceTemplate,
        Root,
        ServerCapabilities,
        Task,
        Tool,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "Client",
    "ClientGroup",
    "ToolList",
    "Timeout",
    "StdioServer",
    "Tool",
    "CallToolResult",
    "Implementation",
    "ServerCapabilities",
    "Event",
    "ProgressEvent",
    "LogEvent",
    "NotificationEvent",
    "ResultEvent",
    "MCPError",
    "TransportError",
    "ConnectError",
    "ConnectionClosed",
    "HTTPStatusError",
    "MCPTimeoutError",
    "ConnectTimeout",
    "RequestTimeout",
    "ProtocolError",
    "UnsupportedProtocolVersion",
    "RPCError",
    "ToolError",
    "AuthError",
    "ClientClosedError",
    "TaskStatusEvent",
    "InteractionError",
    "OutputValidationError",
    "ServerCancelled",
    "TaskCancelled",
    "ExtensionNotSupported",
    "SkillVerificationError",
    "Skill",
    "SkillFile",
    "LoadedSkill",
    "Subscription",
    "SubscriptionEvent",
    "TaskHandle",
    "Resource",
    "ResourceTemplate",
    "ReadResourceResult",
    "Prompt",
    "GetPromptResult",
    "CompleteResult",
    "Root",
    "ElicitRequest",
    "ElicitResult",
    "CreateMessageRequest",
    "CreateMessageResult",
    "Task",
]
