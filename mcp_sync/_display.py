"""How results look to a person: plain-text tables for terminals, HTML and Markdown for notebooks
(``_repr_html_``/``_repr_markdown_``), and progress bars (``tqdm`` when installed, else text)."""
from __future__ import annotations

import html
import re
import json
import sys
import time
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from .types import CallToolResult, Tool

__all__ = ["ToolList", "ProgressBar", "text_table", "tool_params", "short"]


def short(text: Optional[str], width: int = 72) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def tool_params(tool: "Tool") -> str:
    """``count: integer, name?: string`` — the arguments a tool takes (``?`` marks optional ones)."""
    schema = tool.input_schema or {}
    required = set(schema.get("required") or [])
    parts = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = _type_name(prop if isinstance(prop, dict) else {})
        parts.append(f"{name}{'' if name in required else '?'}: {kind}" if kind else f"{name}{'' if name in required else '?'}")
    return ", ".join(parts)


def _type_name(prop: dict) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if kind:
        return str(kind)
    options = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(options, list):
        return "|".join(_type_name(o) for o in options if isinstance(o, dict) and _type_name(o) != "null")
    return ""


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns (no trailing spaces)."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = []
    for row in [list(headers), ["-" * w for w in widths], *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class ToolList(list):
    """The tools a server offers: a plain ``list`` of :class:`~mcp_sync.types.Tool` that also
    shows as a table in Jupyter and finds a tool by name (``tools.get("echo")``)."""

    @property
    def names(self) -> List[str]:
        return [tool.name for tool in self]

    def get(self, name: str) -> Optional["Tool"]:
        """The tool called ``name``, or ``None``."""
        return next((tool for tool in self if tool.name == name), None)

    def _rows(self) -> List[List[str]]:
        return [[t.name, tool_params(t), short(t.description)] for t in self]

    def __repr__(self) -> str:
        return f"ToolList({len(self)} tools: {', '.join(self.names)})" if self else "ToolList(no tools)"

    def __str__(self) -> str:
        return text_table(["tool", "arguments", "description"], self._rows())

    def _repr_html_(self) -> str:
        return _html_table(["tool", "arguments", "description"], self._rows())

    def _repr_markdown_(self) -> str:
        return _md_table(["tool", "arguments", "description"], self._rows())


# ---------------------------------------------------------------------- results


def result_markdown(result: "CallToolResult") -> str:
    from .types import EmbeddedResource, ImageContent, ResourceLink, TextContent

    # Server text is untrusted: Markdown renderers pass raw HTML through, so it is escaped
    # (Markdown formatting in it still renders), and embedded text stays inside its code fence.
    parts = ["**tool error**"] if result.is_error else []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(html.escape(block.text, quote=False))
        elif isinstance(block, ImageContent):
            parts.append(f"![image]({_data_uri(block.mime_type, block.data)})")
        elif isinstance(block, ResourceLink):
            label = html.escape(block.name or block.uri, quote=False)
            parts.append(f"[{label}]({block.uri})" if _linkable(block.uri) else f"{label}: `{block.uri}`")
        elif isinstance(block, EmbeddedResource):
            text = getattr(block.resource, "text", None)
            parts.append(f"`{block.resource.uri}`" + (f"\n\n{_fenced(text)}" if text is not None else " (binary)"))
        else:
            parts.append(f"`{block.type}` content")
    if result.structured_content is not None and not result.text:
        parts.append("```json\n" + json.dumps(result.structured_content, indent=2) + "\n```")
    return "\n\n".join(parts) or "*(no content)*"


def _fenced(text: str) -> str:
    """A code block that ``text`` cannot close early: the fence is longer than any run of
    backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def result_html(result: "CallToolResult") -> str:
    from .types import AudioContent, EmbeddedResource, ImageContent, ResourceLink, TextContent

    parts = ["<strong style='color:#b00'>tool error</strong>"] if result.is_error else []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(f"<pre style='white-space:pre-wrap'>{html.escape(block.text)}</pre>")
        elif isinstance(block, ImageContent):
            parts.append(f"<img src='{_data_uri(block.mime_type, block.data)}' alt='image'/>")
        elif isinstance(block, AudioContent):
            parts.append(f"<audio controls src='{_data_uri(block.mime_type, block.data)}'></audio>")
        elif isinstance(block, ResourceLink):
            label = html.escape(block.name or block.uri)
            parts.append(f"<a href='{html.escape(block.uri, quote=True)}'>{label}</a>" if _linkable(block.uri)
                         else f"{label}: <code>{html.escape(block.uri)}</code>")
        elif isinstance(block, EmbeddedResource):
            text = getattr(block.resource, "text", None)
            shown = html.escape(text) if text is not None else "(binary)"
            parts.append(f"<div><code>{html.escape(block.resource.uri)}</code><pre>{shown}</pre></div>")
        else:
            parts.append(f"<code>{html.escape(block.type)}</code> content")
    if result.structured_content is not None and not result.text:
        parts.append(f"<pre>{html.escape(json.dumps(result.structured_content, indent=2))}</pre>")
    return "<div>" + ("".join(parts) or "<em>(no content)</em>") + "</div>"


def _linkable(uri: str) -> bool:
    # A notebook runs what a link says when it is clicked: a server's "javascript:" URI must never
    # become one. Other schemes (file:, custom ones) have nothing for a browser to open anyway.
    return uri.lower().startswith(("https://", "http://"))


def _data_uri(mime_type: str, data: str) -> str:
    # The server's base64 goes straight into the page; only the MIME type needs taming.
    mime = mime_type if mime_type and all(c.isalnum() or c in "/+.-" for c in mime_type) else "application/octet-stream"
    return f"data:{mime};base64,{html.escape(data, quote=True)}"


# ---------------------------------------------------------------------- progress


class ProgressBar:
    """A ``progress(progress, total, message)`` callback that draws a bar.

    With ``tqdm`` installed it uses ``tqdm.auto`` (a widget in Jupyter, text in a terminal);
    without it, it draws a text bar on ``stream`` — redrawn in place on a terminal, one line per
    update otherwise. Call :meth:`close` when the call is over.
    """

    def __init__(self, description: str = "", *, stream: Optional[TextIO] = None, use_tqdm: Optional[bool] = None,
                 width: int = 30) -> None:
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._tqdm: Any = None
        self._tqdm_class: Any = None
        if use_tqdm is not False:
            try:
                from tqdm.auto import tqdm

                self._tqdm_class = tqdm
            except ImportError:
                if use_tqdm:
                    raise
        self._inplace = _isatty(self.stream)
        self._drawn = False
        self._last = 0.0

    def __call__(self, progress: Optional[float], total: Optional[float] = None, message: Optional[str] = None) -> None:
        progress = float(progress or 0)
        if self._tqdm_class is not None:
            self._update_tqdm(progress, total, message)
            return
        now = time.monotonic()
        done = total is not None and progress >= total
        if self._inplace and not done and now - self._last < 0.05:
            return  # redrawing a terminal line faster than the eye reads it only costs time
        self._last = now
        line = self.render(progress, total, message)
        if self._inplace:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = True

    def render(self, progress: float, total: Optional[float], message: Optional[str]) -> str:
        """One line: ``desc [#####-----] 3/5 message``."""
        label = f"{self.description} " if self.description else ""
        tail = f" {message}" if message else ""
        if total:
            filled = int(self.width * min(max(progress / total, 0.0), 1.0))
            bar = "#" * filled + "-" * (self.width - filled)
            return f"{label}[{bar}] {progress:g}/{total:g}{tail}"
        return f"{label}{progress:g}{tail}"

    def _update_tqdm(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        if self._tqdm is None:
            # A pseudo-terminal nobody sized reports 0x0, and tqdm then draws nothing at all.
            size = {} if _columns(self.stream) else {"ncols": 80, "nrows": 24}
            self._tqdm = self._tqdm_class(total=None if total is None else _whole(total),
                                          desc=self.description or None, file=self.stream, leave=True, **size)
        bar = self._tqdm
        if total is not None and bar.total != _whole(total):
            bar.total = _whole(total)
        bar.n = _whole(progress)
        if message:
            bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        elif self._drawn and self._inplace:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _whole(value: float) -> Any:
    return int(value) if float(value).is_integer() else value


def _columns(stream: Any) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
