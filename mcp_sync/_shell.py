"""``mcp-sync shell``: an interactive prompt over one client, with history and tab completion of
commands, tool names, argument names, prompt names and resource URIs (stdlib ``readline``)."""
from __future__ import annotations

import argparse
import os
import shlex
from typing import Any, Callable, Dict, List, Optional

from ._arguments import ArgumentError, parse_arguments
from ._display import ToolList
from ._terminal import Terminal
from .errors import MCPError

__all__ = ["Shell"]

HELP = """\
commands:
  tools [NAME]               list the tools, or describe one
  call TOOL [key=value ...]  call a tool (or just: TOOL [key=value ...])
  info                       about the server
  resources | read URI       list resources, read one
  prompts | prompt NAME [key=value ...]
  json on|off                JSON output
  help, exit (or Ctrl-D)
Ctrl-C cancels a running call; Tab completes."""

COMMANDS = ["tools", "call", "info", "resources", "read", "prompts", "prompt", "json", "help", "exit", "quit"]


class Shell:
    def __init__(self, client: Any, term: Terminal, history: Optional[str] = None,
                 input_fn: Optional[Callable[[str], str]] = None) -> None:
        self.client = client
        self.term = term
        self.history = history or os.environ.get("MCP_SYNC_HISTORY") or os.path.expanduser("~/.mcp_sync_history")
        self._input = input_fn or input
        self._tools: Optional[ToolList] = None
        self._names: Dict[str, List[str]] = {}

    # ------------------------------------------------------------------ the loop

    def run(self) -> int:
        readline = self._setup_readline()
        try:
            server = self.client.server_info
            self.term.err(f"connected to {server.name} {server.version} ({self.client.protocol_version}); "
                          f"'help' lists commands")
            prompt = f"{server.name or 'mcp'}> "
            while True:
                try:
                    line = self._input(prompt)
                except EOFError:
                    self.term.err("")
                    return 0
                except KeyboardInterrupt:
                    self.term.err("")
                    continue
                if line.strip() in ("exit", "quit"):
                    return 0
                self.execute(line)
        finally:
            if readline is not None:
                try:
                    readline.write_history_file(self.history)
                except OSError:
                    pass

    def execute(self, line: str) -> None:
        """Run one command line, reporting any failure in one line and carrying on."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.term.err(f"error: {exc}")
            return
        if not words:
            return
        try:
            self._dispatch(words[0], words[1:])
        except KeyboardInterrupt:
            self.term.err("cancelled")
        except (ArgumentError, _ShellError) as exc:
            self.term.err(f"error: {exc}")
        except MCPError as exc:
            self.term.err(f"error: {exc}")

    def _dispatch(self, word: str, rest: List[str]) -> None:
        from . import cli

        term, client = self.term, self.client
        if word == "help":
            term.out(HELP)
        elif word == "info":
            cli.cmd_info(client, argparse.Namespace(), term, None)
        elif word == "tools":
            self._tools = None
            cli.cmd_tools(client, argparse.Namespace(name=rest[0] if rest else None), term, None)
        elif word == "resources":
            cli.cmd_resources(client, argparse.Namespace(), term, None)
        elif word == "read":
            if len(rest) != 1:
                raise _ShellError("usage: read URI")
            cli.cmd_read(client, argparse.Namespace(uri=rest[0]), term, None)
        elif word == "prompts":
            cli.cmd_prompts(client, argparse.Namespace(), term, None)
        elif word == "prompt":
            if not rest:
                raise _ShellError("usage: prompt NAME [key=value ...]")
            cli.cmd_prompt(client, argparse.Namespace(name=rest[0], arguments=rest[1:]), term, None)
        elif word == "json":
            term.json_output = (rest[:1] or ["on"])[0] in ("on", "1", "true", "yes")
        elif word == "call":
            if not rest:
                raise _ShellError("usage: call TOOL [key=value ...]")
            self._call(rest[0], rest[1:])
        elif self.tools().get(word) is not None:
            self._call(word, rest)
        else:
            raise _ShellError(f"unknown command or tool {word!r} (try help)")

    def _call(self, name: str, words: List[str]) -> None:
        from .cli import run_tool

        tool = self.tools().get(name)
        if tool is None:
            raise _ShellError(f"unknown tool {name!r}")
        run_tool(self.client, name, parse_arguments(words, tool.input_schema), self.term)

    def tools(self) -> ToolList:
        if self._tools is None:
            self._tools = ToolList(self.client.list_tools())
        return self._tools

    # ------------------------------------------------------------------ completion

    def complete(self, line: str, begin: int, text: str) -> List[str]:
        """Candidates for ``text``, the word starting at ``begin`` in ``line``."""
        try:
            before = shlex.split(line[:begin])
        except ValueError:
            return []
        if not before:
            return sorted(w for w in set(COMMANDS) | set(self._safe_tools().names) if w.startswith(text))
        head = before[0]
        if head == "call" and len(before) == 1:
            return [n for n in self._safe_tools().names if n.startswith(text)]
        if head == "tools" and len(before) == 1:
            return [n for n in self._safe_tools().names if n.startswith(text)]
        tool_name = before[1] if head == "call" and len(before) > 1 else head
        tool = self._safe_tools().get(tool_name)
        if tool is not None:
            given = {w.split("=", 1)[0].rstrip(":") for w in before[1:]}
            props = (tool.input_schema or {}).get("properties") or {}
            return [f"{p}=" for p in props if p.startswith(text) and p not in given]
        if head == "prompt" and len(before) == 1:
            return [n for n in self._cached("prompts") if n.startswith(text)]
        if head == "read" and len(before) == 1:
            return [u for u in self._cached("resources") if u.startswith(text)]
        return []

    def _safe_tools(self) -> ToolList:
        try:
            return self.tools()
        except MCPError:
            return ToolList()

    def _cached(self, kind: str) -> List[str]:
        if kind not in self._names:
            from .cli import _list

            try:
                if kind == "prompts":
                    self._names[kind] = [p.get("name", "") for p in _list(self.client, "list_prompts")]
                else:
                    self._names[kind] = [r.get("uri", "") for r in _list(self.client, "list_resources")]
            except MCPError:
                self._names[kind] = []
        return self._names[kind]

    def _setup_readline(self) -> Any:
        try:
            import readline
        except ImportError:  # Windows without pyreadline: no history or completion, still usable
            return None
        try:
            readline.read_history_file(self.history)
        except (OSError, ValueError):
            pass
        readline.set_history_length(1000)
        readline.set_completer_delims(" \t\n")
        matches: List[str] = []

        def completer(text: str, state: int) -> Optional[str]:
            nonlocal matches
            if state == 0:
                # Python's readline appends nothing after a match: words get their space here,
                # "key=" candidates none, so the value can be typed straight after.
                matches = [m if m.endswith("=") else m + " "
                           for m in self.complete(readline.get_line_buffer(), readline.get_begidx(), text)]
            return matches[state] if state < len(matches) else None

        readline.set_completer(completer)
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        return readline


class _ShellError(Exception):
    pass
