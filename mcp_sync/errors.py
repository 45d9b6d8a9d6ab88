"""The exceptions mcp_sync raises, all rooted at :class:`MCPError`.

::

    MCPError(Exception)
    ├── TransportError(MCPError, ConnectionError)   the connection failed
    │   ├── ConnectError                            could not connect at all (cause chained)
    │   ├── ConnectionClosed                        the stream, process or client went away
    │   │   └── ServerCancelled                     the server ended the request (listen teardown)
    │   └── HTTPStatusError                         unexpected HTTP status (.status_code, .body)
    ├── MCPTimeoutError(MCPError, TimeoutError)     a bounded wait ran out
    │   ├── ConnectTimeout
    │   └── RequestTimeout
    ├── ProtocolError                               the peer broke the protocol
    │   ├── UnsupportedProtocolVersion              no protocol version both sides speak
    │   ├── OutputValidationError                   structuredContent does not match outputSchema
    │   └── SkillVerificationError                  a skill's content does not match its entry
    ├── RPCError                                    the server answered with a JSON-RPC error
    │   └── (one subclass per well-known code, e.g. MethodNotFound, InvalidParams)
    ├── ToolError                                   a tool result had ``isError: true`` (opt-in)
    ├── AuthError                                   401/403 or an OAuth failure
    ├── InteractionError                            an elicitation/sampling/roots handler failed
    ├── TaskCancelled                               the task a call waited for was cancelled
    ├── ExtensionNotSupported                       the server does not declare an extension used
    └── ClientClosedError(MCPError, RuntimeError)   the client was used after close()

``except TimeoutError`` and ``except ConnectionError`` (so ``except OSError``) work as usual.
Errors the client raises locally never carry a JSON-RPC code, so they cannot be mistaken for a
server's answer.
"""
from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional, Type

__all__ = [
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
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "InternalError",
    "ResourceNotFound",
    "HeaderMismatch",
    "MissingRequiredClientCapability",
    "URLElicitationRequired",
    "ToolError",
    "AuthError",
    "ClientClosedError",
    "InteractionError",
    "ServerCancelled",
    "OutputValidationError",
    "TaskCancelled",
    "ExtensionNotSupported",
    "SkillVerificationError",
]


class MCPError(Exception):
    """Base of every exception mcp_sync raises.

    :ivar method: the JSON-RPC method that failed, when there was one.
    """

    method: Optional[str] = None

    def __init__(self, message: str, *, method: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if method is not None:
            self.method = method

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        # The default repr shows only the constructor's first argument; show what str() shows
        # (the JSON-RPC code and the method too, for RPCError).
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> Any:
        # Keyword-only arguments do not survive the default pickling; errors cross process
        # boundaries (multiprocessing, Celery), so keep them picklable.
        return (_rebuild, (type(self), self.__dict__.copy(), self.args))


def _rebuild(cls: Type[MCPError], state: Dict[str, Any], args: tuple) -> MCPError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class TransportError(MCPError, ConnectionError):
    """The connection to the server failed or was lost."""


class ConnectError(TransportError):
    """The client could not connect to the server; ``__cause__`` holds the real reason."""


class ConnectionClosed(TransportError):
    """The stream, the connection, the server process or the client itself went away while a
    request was pending. The message names the cause."""


class HTTPStatusError(TransportError):
    """The server answered with an HTTP status the protocol does not allow here.

    :ivar status_code: the HTTP status.
    :ivar body: the first 4 KiB of the response body, decoded leniently.
    :ivar url: the URL requested.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        url: str = "",
        headers: Optional[Dict[str, str]] = None,
        method: Optional[str] = None,
    ) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code
        self.body = body
        self.url = url
        self.headers = dict(headers or {})


class MCPTimeoutError(MCPError, TimeoutError):
    """A bounded wait ran out."""


class ConnectTimeout(MCPTimeoutError):
    """Connecting to the server (or starting it) took too long."""


class RequestTimeout(MCPTimeoutError):
    """A request got no final answer within its timeout; it was cancelled on the wire."""


class ProtocolError(MCPError):
    """The server broke the protocol: non-JSON, a wrong content type, a frame that is not
    JSON-RPC, a result of an impossible shape, a message over the size limit, ..."""


class UnsupportedProtocolVersion(ProtocolError):
    """Client and server share no protocol version.

    :ivar supported: the versions the server named, if it named any.
    """

    def __init__(self, message: str, *, supported: Optional[list] = None, method: Optional[str] = None) -> None:
        super().__init__(message, method=method)
        self.supported = list(supported or [])


class RPCError(MCPError):
    """The server answered a request with a JSON-RPC error.

    :ivar code: the JSON-RPC error code.
    :ivar data: the error's optional ``data`` member.
    """

    code: int = 0
    _by_code: ClassVar[Dict[int, Type["RPCError"]]] = {}

    def __init__(self, code: int, message: str, data: Any = None, *, method: Optional[str] = None) -> None:
        super().__init__(message, method=method)
        self.code = code
        self.data = data

    def __str__(self) -> str:
        where = f" (from {self.method})" if self.method else ""
        return f"[{self.code}] {self.message}{where}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            RPCError._by_code[cls.code] = cls

    @classmethod
    def from_error(cls, error: Any, *, method: Optional[str] = None) -> "RPCError":
        """Build the most specific subclass for a JSON-RPC ``error`` member."""
        if not isinstance(error, dict):
            return cls(-32603, f"malformed JSON-RPC error: {error!r}"[:500], None, method=method)
        code = error.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            code = -32603
        message = error.get("message")
        if not isinstance(message, str):
            message = repr(message)
        klass = RPCError._by_code.get(code, RPCError)
        return klass(code, message, error.get("data"), method=method)


class ParseError(RPCError):
    code = -32700


class InvalidRequest(RPCError):
    code = -32600


class MethodNotFound(RPCError):
    code = -32601


class InvalidParams(RPCError):
    code = -32602


class InternalError(RPCError):
    code = -32603


class ResourceNotFound(RPCError):
    """Legacy servers' resource-not-found code; modern servers send :class:`InvalidParams`."""

    code = -32002


class HeaderMismatch(RPCError):
    code = -32020


class MissingRequiredClientCapability(RPCError):
    code = -32021


class URLElicitationRequired(RPCError):
    """2025-11-25: the server needs the user to visit URLs first (``data["elicitations"]``). With an
    ``elicitation=`` handler the client runs them and retries; without one, this is raised."""

    code = -32042


class _UnsupportedVersionRPC(RPCError):
    # -32022 is turned into UnsupportedProtocolVersion (or a retry) by the engine; this class only
    # keeps it out of the generic bucket while it is being handled.
    code = -32022


class ToolError(MCPError):
    """A tool call returned ``isError: true``; raised only by
    :meth:`CallToolResult.raise_for_error` (a tool error is an answer, not a failure).

    :ivar result: the :class:`~mcp_sync.types.CallToolResult`.
    """

    def __init__(self, message: str, *, result: Any = None, method: Optional[str] = "tools/call") -> None:
        super().__init__(message, method=method)
        self.result = result


class AuthError(MCPError):
    """The server refused our credentials (401/403) or an OAuth step failed.

    :ivar status_code: the HTTP status, when there was one.
    """

    def __init__(self, message: str, *, status_code: Optional[int] = None, method: Optional[str] = None) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code


class ClientClosedError(MCPError, RuntimeError):
    """The client was used after :meth:`Client.close`."""


class InteractionError(MCPError):
    """A handler the client was given (elicitation, sampling, roots) failed while answering a
    modern server's ``input_required`` result; ``__cause__`` holds the handler's exception."""


class ServerCancelled(ConnectionClosed):
    """The server cancelled the request itself (``notifications/cancelled``), e.g. to end a
    ``subscriptions/listen`` stream."""


class OutputValidationError(ProtocolError):
    """A tool's ``structuredContent`` does not match the ``outputSchema`` it declared.

    :ivar result: the :class:`~mcp_sync.types.CallToolResult` as received.
    """

    def __init__(self, message: str, *, result: Any = None, method: Optional[str] = "tools/call") -> None:
        super().__init__(message, method=method)
        self.result = result


class TaskCancelled(MCPError):
    """The task a call was waiting for was cancelled.

    :ivar task: the final :class:`~mcp_sync.types.Task`.
    """

    def __init__(self, message: str, *, task: Any = None, method: Optional[str] = "tools/call") -> None:
        super().__init__(message, method=method)
        self.task = task


class ExtensionNotSupported(MCPError):
    """A feature of an extension was used, but the server does not declare that extension.

    :ivar extension: the extension's identifier, e.g. ``io.modelcontextprotocol/skills``.
    """

    def __init__(self, message: str, *, extension: str = "", method: Optional[str] = None) -> None:
        super().__init__(message, method=method)
        self.extension = extension


class SkillVerificationError(ProtocolError):
    """A skill's file does not match the entry the skill was listed with, so it was not used
    (skills extension). The entry may be stale: refresh it with ``client.skills.get(uri)``.

    :ivar uri: the file that failed.
    :ivar skill_uri: the skill's ``SKILL.md`` URI.
    :ivar reason: ``"size"``, ``"digest"``, ``"frontmatter"``, ``"unlisted"`` (a file the entry
        does not name), ``"entry"`` (the entry itself breaks the rules), ``"content"`` (an
        unreadable ``resources/read`` result), ``"limit"`` or ``"dynamic"`` (refused by option).
    """

    def __init__(self, message: str, *, uri: Optional[str] = None, skill_uri: Optional[str] = None,
                 reason: str = "digest", method: Optional[str] = None) -> None:
        super().__init__(message, method=method)
        self.uri = uri
        self.skill_uri = skill_uri
        self.reason = reason
