"""What the command line shows and asks: content blocks as text (images and blobs saved to files
whose paths are printed), server logs and progress on stderr, elicitation questions on the
terminal."""
from __future__ import annotations

import base64
import json
import mimetypes
import os
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, TextIO

from ._arguments import ArgumentError, coerce
from ._display import ProgressBar, _isatty

__all__ = ["Terminal"]


class Terminal:
    """Where the CLI writes and reads. ``json_output`` switches stdout to machine-readable JSON."""

    def __init__(self, *, json_output: bool = False, output_dir: Optional[str] = None,
                 stdout: Optional[TextIO] = None, stderr: Optional[TextIO] = None, stdin: Optional[TextIO] = None,
                 input_fn: Optional[Callable[[str], str]] = None) -> None:
        self.json_output = json_output
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self._input = input_fn
        self._output_dir = output_dir
        self._saved = 0
        #: The client being served, so a question can say which server asks.
        self.client: Any = None

    # ------------------------------------------------------------------ output

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def json(self, value: Any) -> None:
        self.out(json.dumps(value, indent=2, ensure_ascii=False))

    def progress_bar(self, description: str) -> ProgressBar:
        """A live bar when stderr is a terminal, one plain line per update otherwise."""
        return ProgressBar(description, stream=self.stderr, use_tqdm=None if _isatty(self.stderr) else False)

    def server_log(self, level: str, logger: Optional[str], data: Any) -> None:
        source = f" {logger}" if logger else ""
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        self.err(f"[server{source}] {level}: {text}")

    def content(self, blocks: List[Dict[str, Any]], stem: str) -> None:
        """Show wire-form content blocks: text as is, binary content saved to a file."""
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                self.out(str(block.get("text", "")))
            elif kind in ("image", "audio"):
                path = self.save(block.get("data", ""), block.get("mimeType"), stem)
                self.out(f"[{kind} saved to {path}]")
            elif kind == "resource_link":
                name = block.get("name") or ""
                self.out(f"[link {block.get('uri')}{' ' + name if name else ''}]")
            elif kind == "resource":
                self.resource_contents([block.get("resource") or {}], stem)
            else:
                self.out(json.dumps(block, ensure_ascii=False))

    def resource_contents(self, contents: List[Dict[str, Any]], stem: str) -> None:
        for item in contents:
            if "text" in item:
                self.out(str(item["text"]))
            elif "blob" in item:
                path = self.save(item.get("blob", ""), item.get("mimeType"), stem)
                self.out(f"[{item.get('uri', 'blob')} saved to {path}]")

    def save(self, data: str, mime_type: Optional[str], stem: str) -> str:
        """Write base64 ``data`` to a new file in the output directory and return its path."""
        try:
            raw = base64.b64decode(data, validate=False)
        except (ValueError, TypeError):
            raw = data.encode("utf-8", "replace")
        ext = (mimetypes.guess_extension(mime_type or "") or ".bin") if mime_type else ".bin"
        folder = self._output_dir or tempfile.mkdtemp(prefix="mcp-sync-")
        self._output_dir = folder
        os.makedirs(folder, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "content"
        self._saved += 1
        fd, path = tempfile.mkstemp(prefix=f"{safe}-{self._saved}-", suffix=ext, dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        return path

    # ------------------------------------------------------------------ questions

    def ask(self, question: str) -> Optional[str]:
        """One answer from the user, or ``None`` when there is no terminal (or on end of input)."""
        if self._input is None and not _isatty(self.stdin):
            return None
        try:
            if self._input is not None:
                return self._input(question)
            self.stderr.write(question)
            self.stderr.flush()
            line = self.stdin.readline()
            return line.rstrip("\n") if line else None
        except EOFError:
            return None

    def elicit(self, params: Dict[str, Any], server: str = "the server") -> Dict[str, Any]:
        """Answer an elicitation request by asking the user: an ``ElicitResult`` dict."""
        message = str(params.get("message", ""))
        self.err(f"{server} asks: {message}")
        if params.get("mode") == "url":
            return self._elicit_url(str(params.get("url", "")))
        answer = self.ask("Answer? [y]es / [n]o (decline) / [c]ancel: ")
        if answer is None:
            self.err("(no terminal to ask on: cancelled)")
            return {"action": "cancel"}
        if answer.strip().lower() in ("n", "no", "decline"):
            return {"action": "decline"}
        if answer.strip().lower() not in ("y", "yes", ""):
            return {"action": "cancel"}
        schema = params.get("requestedSchema") or {}
        content: Dict[str, Any] = {}
        required = set(schema.get("required") or [])
        for name, prop in (schema.get("properties") or {}).items():
            prop = prop if isinstance(prop, dict) else {}
            value = self._ask_field(name, prop, name in required)
            if value is _CANCEL:
                return {"action": "cancel"}
            if value is not _SKIP:
                content[name] = value
        review = self.ask(f"Send {json.dumps(content, ensure_ascii=False)}? [Y/n] ")
        if review is None or review.strip().lower() in ("n", "no"):
            return {"action": "cancel"}
        return {"action": "accept", "content": content}

    def _ask_field(self, name: str, prop: Dict[str, Any], required: bool) -> Any:
        label = prop.get("title") or name
        hint = prop.get("description")
        default = prop.get("default")
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        many = prop.get("type") == "array"
        choices = _choices(items if many else prop)
        parts = [str(label)]
        if hint:
            parts.append(f"({hint})")
        if choices:
            parts.append("[" + "/".join(map(str, choices)) + "]")
        if default is not None:
            parts.append(f"default {default}")
        question = " ".join(parts) + ("" if required else " (optional)") + ": "
        for _ in range(5):
            raw = self.ask(question)
            if raw is None:
                return _CANCEL
            if raw == "":
                if default is not None:
                    return default
                if not required:
                    return _SKIP
                self.err(f"{name} is required")
                continue
            try:
                values = [coerce(name, part.strip(), items) for part in raw.split(",") if part.strip()] if many \
                    else [coerce(name, raw, prop)]
                wrong = [v for v in values if choices and v not in choices]
                if wrong:
                    raise ArgumentError(f"{name}: {wrong[0]!r} is not one of {', '.join(map(str, choices))}", name)
                return values if many else values[0]
            except ArgumentError as exc:
                self.err(str(exc))
        return _CANCEL

    def _elicit_url(self, url: str) -> Dict[str, Any]:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = parts.hostname or "?"
        self.err(f"  URL:    {url}")
        self.err(f"  domain: {host}" + ("  (punycode: check it carefully)" if "xn--" in host else ""))
        if parts.scheme.lower() not in ("https", "http"):
            # file:, javascript: or an app's own scheme would run something here, not open a page.
            self.err("  (not an http(s) URL: not opened)")
            return {"action": "decline"}
        answer = self.ask("Open this URL in your browser? [y/N] ")
        if answer is None or answer.strip().lower() not in ("y", "yes"):
            return {"action": "decline"}
        import webbrowser

        webbrowser.open(url)
        return {"action": "accept"}


def _choices(prop: Dict[str, Any]) -> List[Any]:
    """An enum's values, plain (``enum``) or titled (``oneOf``/``anyOf`` of ``const``)."""
    titled = prop.get("oneOf") or prop.get("anyOf") or []
    return list(prop.get("enum") or [o["const"] for o in titled if isinstance(o, dict) and "const" in o])


_CANCEL: Any = object()
_SKIP: Any = object()
