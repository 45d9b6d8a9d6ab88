"""mcp_sync: a synchronous, thread-based client for the Model Context Protocol.

>>> from mcp_sync import Client
>>> with Client("http://127.0.0.1:8000/mcp") as client:      # doctest: +SKIP
...     print(client.call_tool("echo", {"message": "Hello, MCP!"}).text)
"""
import logging

__version__ = "0.1.0"

from .client import Client  # noqa: E402
from .group import ClientGroup  # noqa: E402
from ._display import ToolList  # noqa: E402
from .errors import (  # noqa: E402
    AuthError,
    ClientClosedError,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    HTTPStatusError,
    MCPError,
    MCPTimeoutError,
    ProtocolError,
    RequestTimeout,
    RPCError,
    ToolError,
    TransportError,
    UnsupportedProtocolVersion,
)
from .errors import InteractionError, OutputValidationError, ServerCancelled, TaskCancelled  # noqa: E402
from .errors import ExtensionNotSupported, SkillVerificationError  # noqa: E402
from .skills import LoadedSkill, Skill, SkillFile  # noqa: E402
from .subscriptions import Subscription, SubscriptionEvent  # noqa: E402
from .tasks import TaskHandle  # noqa: E402
from .types import (  # noqa: E402
    CompleteResult,
    CreateMessageRequest,
    CreateMessageResult,
    ElicitRequest,
    ElicitResult,
    GetPromptResult,
    Prompt,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    Root,
    Task,
)
from .events import Event, LogEvent, NotificationEvent, ProgressEvent, ResultEvent, TaskStatusEvent  # noqa: E402
from .timeouts import Timeout  # noqa: E402
from .transports.stdio import StdioServer  # noqa: E402
from .types import CallToolResult, Implementation, ServerCapabilities, Tool  # noqa: E402

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
