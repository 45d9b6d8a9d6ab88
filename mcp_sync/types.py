"""Pydantic models for what servers send back.

Attributes are snake_case; the wire's camelCase names are aliases, so ``model.model_dump(by_alias=True)``
gives the wire form again. Unknown fields are kept (``model_extra``), so nothing a newer server
sends is lost. ``_meta`` is available as ``.meta``.
"""
from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic.alias_generators import to_camel

__all__ = [
    "MCPModel",
    "Annotations",
    "Icon",
    "Implementation",
    "ToolAnnotations",
    "Tool",
    "TextContent",
    "ImageContent",
    "AudioContent",
    "ResourceLink",
    "TextResourceContents",
    "BlobResourceContents",
    "EmbeddedResource",
    "UnknownContent",
    "ContentBlock",
    "CallToolResult",
    "ListToolsResult",
    "ServerCapabilities",
    "parse_content_block",
    "Resource",
    "ResourceTemplate",
    "ResourceContents",
    "ReadResourceResult",
    "PromptArgument",
    "Prompt",
    "PromptMessage",
    "GetPromptResult",
    "Completion",
    "CompleteResult",
    "Root",
    "ElicitRequest",
    "ElicitResult",
    "SamplingMessage",
    "CreateMessageRequest",
    "CreateMessageResult",
    "Task",
]


class MCPModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields kept, ``_meta`` as ``meta``."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        arbitrary_types_allowed=True,
        # Validators are built on first use, not at import: most programs touch a few models.
        defer_build=True,
    )

    meta: Optional[Dict[str, Any]] = Field(default=None, alias="_meta")

    def __str__(self) -> str:
        return repr(self)

    def to_wire(self) -> Dict[str, Any]:
        """The wire (camelCase) form, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Annotations(MCPModel):
    audience: Optional[List[str]] = None
    priority: Optional[float] = None
    last_modified: Optional[str] = None


class Icon(MCPModel):
    src: str
    mime_type: Optional[str] = None
    sizes: Optional[List[str]] = None
    theme: Optional[str] = None


class Implementation(MCPModel):
    """``serverInfo`` / ``clientInfo``."""

    name: str = ""
    version: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    website_url: Optional[str] = None
    icons: Optional[List[Icon]] = None


class ToolAnnotations(MCPModel):
    title: Optional[str] = None
    read_only_hint: Optional[bool] = None
    destructive_hint: Optional[bool] = None
    idempotent_hint: Optional[bool] = None
    open_world_hint: Optional[bool] = None


class Tool(MCPModel):
    """A tool from ``tools/list``."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    input_schema: Dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    output_schema: Optional[Any] = None
    annotations: Optional[ToolAnnotations] = None
    icons: Optional[List[Icon]] = None
    execution: Optional[Dict[str, Any]] = None

    @property
    def display_name(self) -> str:
        """``title``, else ``annotations.title``, else ``name`` (the spec's precedence)."""
        return self.title or (self.annotations.title if self.annotations and self.annotations.title else None) or self.name

    def __repr__(self) -> str:
        params = ", ".join((self.input_schema or {}).get("properties", {}) or {})
        return f"<Tool {self.name}({params})>"


class TextContent(MCPModel):
    type: Literal["text"] = "text"
    text: str
    annotations: Optional[Annotations] = None


class ImageContent(MCPModel):
    type: Literal["image"] = "image"
    data: str
    mime_type: str = ""
    annotations: Optional[Annotations] = None

    def decode(self) -> bytes:
        """The image bytes (``data`` is base64)."""
        return base64.b64decode(self.data)


class AudioContent(MCPModel):
    type: Literal["audio"] = "audio"
    data: str
    mime_type: str = ""
    annotations: Optional[Annotations] = None

    def decode(self) -> bytes:
        return base64.b64decode(self.data)


class ResourceLink(MCPModel):
    type: Literal["resource_link"] = "resource_link"
    uri: str
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None
    icons: Optional[List[Icon]] = None
    annotations: Optional[Annotations] = None


class TextResourceContents(MCPModel):
    uri: str
    mime_type: Optional[str] = None
    text: str


class BlobResourceContents(MCPModel):
    uri: str
    mime_type: Optional[str] = None
    blob: str

    def decode(self) -> bytes:
        """The resource bytes (``blob`` is base64)."""
        return base64.b64decode(self.blob)


def _contents_tag(item: Any) -> Optional[str]:
    """Resource contents carry no type: ``blob`` makes them binary, anything else is text."""
    if isinstance(item, dict):
        return "blob" if "blob" in item else "text"
    if isinstance(item, BaseModel):
        return "blob" if isinstance(item, BlobResourceContents) else "text"
    return None  # not an object: a validation error


ResourceContents = Annotated[
    Union[Annotated[TextResourceContents, Tag("text")], Annotated[BlobResourceContents, Tag("blob")]],
    Discriminator(_contents_tag, custom_error_type="resource_contents",
                  custom_error_message="resource contents must be an object"),
]


class EmbeddedResource(MCPModel):
    type: Literal["resource"] = "resource"
    resource: ResourceContents
    annotations: Optional[Annotations] = None


class UnknownContent(MCPModel):
    """A content block of a type this version of mcp_sync does not know; every field is kept."""

    type: str


_CONTENT_TYPES: Dict[str, Any] = {
    "text": TextContent,
    "image": ImageContent,
    "audio": AudioContent,
    "resource_link": ResourceLink,
    "resource": EmbeddedResource,
}


def _content_tag(block: Any) -> Optional[str]:
    """Which model a content block is: its ``type`` when we know it, else "unknown" (kept whole)."""
    if isinstance(block, dict):
        kind = block.get("type")
    elif isinstance(block, BaseModel):
        kind = getattr(block, "type", None)
    else:
        return None  # not an object: a validation error
    return kind if isinstance(kind, str) and kind in _CONTENT_TYPES else "unknown"


# One validator call for a whole result: the tag picks the model, with no union trial and error.
ContentBlock = Annotated[
    Union[
        Annotated[TextContent, Tag("text")],
        Annotated[ImageContent, Tag("image")],
        Annotated[AudioContent, Tag("audio")],
        Annotated[ResourceLink, Tag("resource_link")],
        Annotated[EmbeddedResource, Tag("resource")],
        Annotated[UnknownContent, Tag("unknown")],
    ],
    Discriminator(_content_tag, custom_error_type="content_block",
                  custom_error_message="a content block must be an object"),
]


def parse_content_block(block: Any) -> ContentBlock:
    """Parse one wire content block into its model (``UnknownContent`` for unknown types)."""
    if not isinstance(block, dict):
        raise ValueError(f"a content block must be an object, got {type(block).__name__}")
    model = _CONTENT_TYPES.get(block.get("type"), UnknownContent)
    return model.model_validate(block)


class CallToolResult(MCPModel):
    """The result of ``tools/call``.

    ``result.text`` joins the text blocks; ``result.structured`` is ``structuredContent`` (any
    JSON value, or ``None``); ``result.is_error`` tells a tool error. A tool error is an answer,
    not an exception: call :meth:`raise_for_error` to turn it into :class:`~mcp_sync.ToolError`.
    """

    content: List[ContentBlock] = Field(default_factory=list)
    structured_content: Any = None
    is_error: bool = False

    @property
    def text(self) -> str:
        """Every text block's text, joined by newlines."""
        return "\n".join(b.text for b in self.content if isinstance(b, TextContent))

    @property
    def structured(self) -> Any:
        """``structuredContent`` (any JSON value), or ``None`` when the tool sent none."""
        return self.structured_content

    def raise_for_error(self) -> "CallToolResult":
        """Raise :class:`~mcp_sync.ToolError` when ``is_error``; return ``self`` otherwise."""
        if self.is_error:
            from .errors import ToolError

            raise ToolError(self.text or "the tool reported an error", result=self)
        return self

    def __repr__(self) -> str:
        flag = " is_error" if self.is_error else ""
        text = self.text
        if len(text) > 60:
            text = text[:57] + "..."
        extra = f" structured={json.dumps(self.structured_content)[:40]}" if self.structured_content is not None else ""
        return f"<CallToolResult{flag} {len(self.content)} block(s) text={text!r}{extra}>"

    def _repr_html_(self) -> str:  # Jupyter: the content itself, images inline
        from ._display import result_html

        return result_html(self)

    def _repr_markdown_(self) -> str:
        from ._display import result_markdown

        return result_markdown(self)


class ListToolsResult(MCPModel):
    tools: List[Tool] = Field(default_factory=list)
    next_cursor: Optional[str] = None
    ttl_ms: Optional[int] = None
    cache_scope: Optional[str] = None


class ServerCapabilities(MCPModel):
    """What the server said it can do. Each attribute is the capability's object, or ``None``."""

    tools: Optional[Dict[str, Any]] = None
    resources: Optional[Dict[str, Any]] = None
    prompts: Optional[Dict[str, Any]] = None
    completions: Optional[Dict[str, Any]] = None
    logging: Optional[Dict[str, Any]] = None
    tasks: Optional[Dict[str, Any]] = None
    experimental: Optional[Dict[str, Any]] = None
    extensions: Optional[Dict[str, Any]] = None


# ---------------------------------------------------------------------- resources, prompts, completion


class Resource(MCPModel):
    """A resource from ``resources/list``."""

    uri: str
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    size: Optional[int] = None
    annotations: Optional[Annotations] = None
    icons: Optional[List[Icon]] = None

    def __repr__(self) -> str:
        return f"<Resource {self.uri}>"


class ResourceTemplate(MCPModel):
    """A resource template (RFC 6570 ``uri_template``) from ``resources/templates/list``."""

    uri_template: str
    name: str = ""
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None
    annotations: Optional[Annotations] = None
    icons: Optional[List[Icon]] = None

    def __repr__(self) -> str:
        return f"<ResourceTemplate {self.uri_template}>"


class ReadResourceResult(MCPModel):
    """The result of ``resources/read``: one or more contents, each text or a base64 blob.

    ``result.text`` joins the text contents; ``result.data`` is the first blob decoded to bytes
    (``None`` when there is none); each :class:`BlobResourceContents` also has ``decode()``.
    """

    contents: List[ResourceContents] = Field(default_factory=list)
    ttl_ms: Optional[int] = None
    cache_scope: Optional[str] = None

    @property
    def text(self) -> str:
        """Every text content's text, joined by newlines."""
        return "\n".join(c.text for c in self.contents if isinstance(c, TextResourceContents))

    @property
    def data(self) -> Optional[bytes]:
        """The first blob content, decoded from base64; ``None`` when the resource has no blob."""
        for item in self.contents:
            if isinstance(item, BlobResourceContents):
                return item.decode()
        return None

    def __repr__(self) -> str:
        return f"<ReadResourceResult {len(self.contents)} content(s)>"


class PromptArgument(MCPModel):
    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    required: Optional[bool] = None


class Prompt(MCPModel):
    """A prompt from ``prompts/list``."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    arguments: Optional[List[PromptArgument]] = None
    icons: Optional[List[Icon]] = None

    def __repr__(self) -> str:
        args = ", ".join(a.name for a in self.arguments or [])
        return f"<Prompt {self.name}({args})>"


class PromptMessage(MCPModel):
    role: str
    content: ContentBlock

    @property
    def text(self) -> str:
        """The content's text ('' when the content is not text)."""
        return self.content.text if isinstance(self.content, TextContent) else ""


class GetPromptResult(MCPModel):
    """The result of ``prompts/get``."""

    description: Optional[str] = None
    messages: List[PromptMessage] = Field(default_factory=list)


class Completion(MCPModel):
    values: List[str] = Field(default_factory=list)
    total: Optional[int] = None
    has_more: Optional[bool] = None


class CompleteResult(MCPModel):
    """The result of ``completion/complete``; ``result.values`` is a shortcut."""

    completion: Completion = Field(default_factory=Completion)

    @property
    def values(self) -> List[str]:
        return self.completion.values


# ---------------------------------------------------------------------- server -> client interactions


class Root(MCPModel):
    """A root the client exposes (``file://`` URI)."""

    uri: str
    name: Optional[str] = None


class ElicitRequest(MCPModel):
    """What an elicitation handler receives: ``mode`` is ``"form"`` (``requested_schema``) or
    ``"url"`` (``url``, and ``elicitation_id`` on 2025-11-25 servers)."""

    mode: str = "form"
    message: str = ""
    requested_schema: Optional[Dict[str, Any]] = None
    url: Optional[str] = None
    elicitation_id: Optional[str] = None


class ElicitResult(MCPModel):
    """An elicitation handler's answer: ``action`` is ``"accept"``, ``"decline"`` or ``"cancel"``;
    ``content`` only for an accepted form."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    content: Optional[Dict[str, Any]] = None


class SamplingMessage(MCPModel):
    """One message of a sampling request. ``content`` is a content block or, from 2025-11-25 on,
    a list of them; blocks of other types (``tool_use``, ``tool_result``) are
    :class:`UnknownContent`, every field kept."""

    role: str
    content: Union[ContentBlock, List[ContentBlock], None] = None

    @property
    def text(self) -> str:
        """Every text block's text, joined by newlines ('' when there is none)."""
        blocks = self.content if isinstance(self.content, list) else [self.content]
        return "\n".join(b.text for b in blocks if isinstance(b, TextContent))


class CreateMessageRequest(MCPModel):
    """What a sampling handler receives (``sampling/createMessage`` params)."""

    messages: List[SamplingMessage] = Field(default_factory=list)
    max_tokens: int = 0
    system_prompt: Optional[str] = None
    include_context: Optional[str] = None
    temperature: Optional[float] = None
    stop_sequences: Optional[List[str]] = None
    model_preferences: Optional[Dict[str, Any]] = None
    metadata: Optional[Dict[str, Any]] = None
    tools: Optional[List[Dict[str, Any]]] = None
    tool_choice: Optional[Dict[str, Any]] = None


class CreateMessageResult(MCPModel):
    """A sampling handler's answer."""

    role: str = "assistant"
    content: Any = None
    model: str = ""
    stop_reason: Optional[str] = None


# ---------------------------------------------------------------------- tasks


class Task(MCPModel):
    """A task's state (modern ``DetailedTask`` or legacy 2025-11-25 ``Task``; both shapes parse).

    ``status`` is ``working``, ``input_required``, ``completed``, ``failed`` or ``cancelled``.
    """

    task_id: str
    status: str = "working"
    status_message: Optional[str] = None
    created_at: Optional[str] = None
    last_updated_at: Optional[str] = None
    ttl_ms: Optional[int] = None
    poll_interval_ms: Optional[int] = None
    result: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    input_requests: Optional[Dict[str, Any]] = None

    def __init__(self, **data: Any) -> None:
        # 2025-11-25 names: ttl / pollInterval (milliseconds as well).
        if "ttl" in data and "ttlMs" not in data and "ttl_ms" not in data:
            data["ttlMs"] = data.pop("ttl")
        if "pollInterval" in data and "pollIntervalMs" not in data and "poll_interval_ms" not in data:
            data["pollIntervalMs"] = data.pop("pollInterval")
        super().__init__(**data)

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def __repr__(self) -> str:
        return f"<Task {self.task_id} {self.status}>"
