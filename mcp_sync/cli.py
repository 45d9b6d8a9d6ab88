"""``mcp-sync``: talk to any MCP server from a terminal or a script.

    mcp-sync http://127.0.0.1:8000/mcp tools
    mcp-sync http://127.0.0.1:8000/mcp call add a=1 b=2
    mcp-sync call echo message=hi -- python server.py --transport stdio
    mcp-sync --config mcp.json --server weather shell

Exit codes: 0 success, 1 the tool reported an error, 2 usage error, 3 connection or protocol error.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ._arguments import ArgumentError, parse_arguments
from ._display import ToolList, _type_name, short, text_table
from ._terminal import Terminal
from .errors import MCPError, RPCError, ToolError

__all__ = ["main", "UsageError"]

log = logging.getLogger("mcp_sync.cli")

EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3

# Global options that take a value: needed to find a URL given before the subcommand.
_VALUE_OPTIONS = {"--config", "--server", "--url", "--timeout", "-H", "--header", "--token", "--protocol",
                  "--output-dir", "--transport", "--log-level"}


class UsageError(Exception):
    """The command line is wrong (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line on stderr, not the usage dump
        raise UsageError(message)


def _common(parser: argparse.ArgumentParser, with_json: bool = True) -> None:
    # SUPPRESS lets these be given before or after the subcommand without one overwriting the other.
    S = argparse.SUPPRESS
    if with_json:
        parser.add_argument("--json", action="store_true", default=S, help="machine-readable JSON on stdout")
    parser.add_argument("--debug", action="store_true", default=S, help="debug logs and tracebacks")
    parser.add_argument("--url", default=S, help="the server's URL (or give it as the first word)")
    parser.add_argument("--config", default=S, metavar="FILE", help="an mcpServers JSON file")
    parser.add_argument("--server", default=S, metavar="NAME", help="the server's name in --config")
    parser.add_argument("-H", "--header", action="append", default=S, metavar="'NAME: VALUE'", help="HTTP header")
    parser.add_argument("--token", default=S, help="a bearer token")
    parser.add_argument("--timeout", type=float, default=S, metavar="SECONDS", help="per-request timeout")
    parser.add_argument("--protocol", default=S, help="auto, modern, legacy or an exact version")
    parser.add_argument("--transport", default=S, help="pin a transport (auto, streamable-http, sse, stdio)")
    parser.add_argument("--output-dir", default=S, metavar="DIR", help="where images and blobs are saved")
    parser.add_argument("--log-level", default=S, metavar="LEVEL",
                        help="ask the server for its log messages (debug, info, warning, ...), shown on stderr")


_DEFAULTS = {"json": False, "debug": False, "url": None, "config": None, "server": None, "header": None,
             "token": None, "timeout": 60.0, "protocol": "auto", "transport": None, "output_dir": None, "log_level": None,
             "json_args": None}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcp-sync", description="Talk to an MCP server.",
                     epilog="A target is a URL (first word), --config FILE --server NAME, or a stdio command "
                            "after --.", formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser)
    parser.add_argument("--version", action="version", version=f"mcp-sync {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Callable[..., int], help: str, with_json: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common(p, with_json)
        p.set_defaults(func=func)
        return p

    add("info", cmd_info, "the server's name, version, protocol, transport, capabilities and instructions")
    p = add("tools", cmd_tools, "list the tools (or describe one)")
    p.add_argument("name", nargs="?", help="a tool to describe")
    p = add("call", cmd_call, "call a tool with key=value arguments", with_json=False)
    p.add_argument("tool")
    p.add_argument("arguments", nargs="*", metavar="key=value",
                   help="typed by the tool's schema; key:=JSON for raw JSON")
    p.add_argument("--json", nargs="?", const=True, default=argparse.SUPPRESS, metavar="ARGS",
                   help="JSON output; with a JSON object, also the arguments")
    p.add_argument("--args", dest="json_args", metavar="JSON", help="the arguments as a JSON object")
    p.add_argument("--no-progress", action="store_true", help="hide progress")
    add("resources", cmd_resources, "list resources and resource templates")
    p = add("read", cmd_read, "read a resource")
    p.add_argument("uri")
    add("prompts", cmd_prompts, "list prompts")
    p = add("prompt", cmd_prompt, "get a prompt with key=value arguments", with_json=False)
    p.add_argument("name")
    p.add_argument("arguments", nargs="*", metavar="key=value")
    p.add_argument("--json", nargs="?", const=True, default=argparse.SUPPRESS, metavar="ARGS",
                   help="JSON output; with a JSON object, also the arguments")
    p = add("complete", cmd_complete, "complete an argument of a prompt or resource template")
    ref = p.add_mutually_exclusive_group(required=True)
    ref.add_argument("--prompt", metavar="NAME")
    ref.add_argument("--resource", metavar="URI_TEMPLATE")
    p.add_argument("argument", help="the argument's name")
    p.add_argument("value", nargs="?", default="", help="what is typed so far")
    p.add_argument("context", nargs="*", metavar="key=value", help="arguments already chosen")
    p = add("listen", cmd_listen, "print change notifications until Ctrl-C")
    p.add_argument("--tools", action="store_true", help="tool list changes")
    p.add_argument("--prompts", action="store_true", help="prompt list changes")
    p.add_argument("--resources", action="store_true", help="resource list changes")
    p.add_argument("--resource", action="append", default=[], metavar="URI", help="updates of this resource")
    p.add_argument("--count", type=int, metavar="N", help="stop after N notifications")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p = add("shell", cmd_shell, "an interactive prompt (history, tab completion)")
    p.add_argument("--history", metavar="FILE", help="history file (default ~/.mcp_sync_history)")
    return parser


# ---------------------------------------------------------------------- entry point


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command: Optional[List[str]] = None
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    # A URL is looked for only when nothing else names the server: `read https://...` stays a read.
    url = None
    if command is None and not any(w in argv for w in ("--url", "--config")):
        argv, url = _pop_target(argv)
    debug = "--debug" in argv
    term = Terminal()
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return int(exc.code or 0)
        for key, value in _DEFAULTS.items():
            if not hasattr(args, key):
                setattr(args, key, value)
        if args.command is None:
            raise UsageError("no command given (try mcp-sync --help)")
        _setup_logging(args.debug)
        json_out, json_args = _split_json(args)
        term = Terminal(json_output=json_out, output_dir=args.output_dir)
        client = _open_client(args, url or args.url, command, term)
        term.client = client
        if args.log_level:
            client.set_log_level(args.log_level)
        try:
            return int(args.func(client, args, term, json_args))
        finally:
            client.close()
    except UsageError as exc:
        term.err(f"mcp-sync: {exc}")
        return EXIT_USAGE
    except ArgumentError as exc:
        term.err(f"mcp-sync: {exc}")
        return EXIT_USAGE
    except ToolError as exc:
        term.err(f"mcp-sync: tool error: {_one_line(str(exc))}")
        return EXIT_TOOL_ERROR
    except MCPError as exc:
        if debug:
            raise
        term.err(f"mcp-sync: {_one_line(_describe(exc))}")
        return EXIT_CONNECTION
    except KeyboardInterrupt:
        term.err("mcp-sync: interrupted")
        return 130
    except (ValueError, TypeError, OSError) as exc:
        if debug:
            raise
        # Client() refuses a malformed target with ValueError/TypeError; a missing config file is an OSError.
        code = EXIT_CONNECTION if isinstance(exc, OSError) else EXIT_USAGE
        term.err(f"mcp-sync: {_one_line(str(exc))}")
        return code


def _console_main() -> None:  # the console script
    sys.exit(main())


def _pop_target(argv: List[str]) -> Tuple[List[str], Optional[str]]:
    """Take the URL out when it is given as the first word (before or after the subcommand)."""
    skip = False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            skip = word in _VALUE_OPTIONS
            continue
        if word.lower().startswith(("http://", "https://")):
            return argv[:i] + argv[i + 1:], word
        if word not in ("info", "tools", "call", "resources", "read", "prompts", "prompt", "complete", "listen",
                        "shell"):
            return argv, None
    return argv, None


def _split_json(args: argparse.Namespace) -> Tuple[bool, Optional[Dict[str, Any]]]:
    """``--json`` alone means JSON output; ``--json '{...}'`` (call, prompt) also gives arguments."""
    value = args.json
    if value is True or value is False:
        json_args = None
    else:
        try:
            json_args = json.loads(value)
        except ValueError:
            json_args = None
        if not isinstance(json_args, dict):
            if "=" in value:  # `--json key=value`: argparse took a key=value word as the option's value
                args.arguments.append(value)
                json_args = None
            else:
                raise UsageError(f"--json takes a JSON object of arguments, got {value!r}")
    if args.json_args is not None:
        try:
            extra = json.loads(args.json_args)
        except ValueError as exc:
            raise UsageError(f"--args: not valid JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise UsageError("--args must be a JSON object")
        json_args = {**(json_args or {}), **extra}
    return bool(value), json_args


def _setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("mcp_sync")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)


def _open_client(args: argparse.Namespace, url: Optional[str], command: Optional[List[str]], term: Terminal) -> Any:
    from .client import Client

    given = [name for name, present in (("a URL", url), ("a command after --", command), ("--config", args.config))
             if present]
    if len(given) > 1:
        raise UsageError(f"give one server, not {' and '.join(given)}")
    if command is not None and not command:
        raise UsageError("no command after --")
    if bool(args.config) != bool(args.server):
        raise UsageError("--config and --server go together")
    options: Dict[str, Any] = {"timeout": args.timeout, "protocol": args.protocol}
    if args.header:
        headers = {}
        for item in args.header:
            name, sep, value = item.partition(":")
            if not sep or not name.strip():
                raise UsageError(f"--header wants 'Name: value', got {item!r}")
            headers[name.strip()] = value.strip()
        options["headers"] = headers
    if args.token:
        options["auth"] = args.token
    if args.transport:
        options["transport"] = args.transport
    options["elicitation"] = lambda request: _elicit(term, request)
    if args.config:
        return Client.from_config(args.config, args.server, **options)
    if command is not None:
        return Client(command, **options)
    if not url:
        raise UsageError("no server given: pass a URL, --config FILE --server NAME, or -- COMMAND [ARGS]")
    return Client(url, **options)


def _elicit(term: Terminal, request: Any) -> Dict[str, Any]:
    params = request.to_wire()  # an ElicitRequest
    server = "the server"
    client = getattr(term, "client", None)
    if client is not None:  # the spec: show which server is asking
        try:
            server = client.server_info.name or server
        except MCPError:
            pass
    return term.elicit(params, server=server)


def _describe(exc: MCPError) -> str:
    if isinstance(exc, RPCError):
        return f"the server answered with an error: {exc}"
    return str(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines)[:500] if lines else "(no message)"


def _version() -> str:
    from . import __version__

    return __version__


def _list(client: Any, typed: str) -> List[Dict[str, Any]]:
    """The wire form of every item ``client.<typed>()`` lists (``list_prompts``, ...)."""
    return [item.to_wire() for item in getattr(client, typed)()]


# ---------------------------------------------------------------------- commands


def cmd_info(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    server = client.server_info
    caps = {k: v for k, v in client.server_capabilities.to_wire().items() if v is not None and k != "_meta"}
    if term.json_output:
        term.json({"serverInfo": server.to_wire(), "protocolVersion": client.protocol_version, "era": client.era,
                   "transport": client.transport, "capabilities": caps, "instructions": client.instructions})
        return EXIT_OK
    rows = [("server", f"{server.name} {server.version}".strip()),
            ("protocol", f"{client.protocol_version} ({client.era})"),
            ("transport", client.transport),
            ("capabilities", ", ".join(sorted(caps)) or "none")]
    if server.title:
        rows.insert(1, ("title", server.title))
    if client.instructions:
        rows.append(("instructions", client.instructions))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        term.out(f"{key.ljust(width)}  {value}")
    return EXIT_OK


def cmd_tools(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    tools = ToolList(client.list_tools())
    if args.name:
        tool = _find_tool(tools, args.name)
        if term.json_output:
            term.json(tool.to_wire())
            return EXIT_OK
        term.out(f"{tool.name}: {tool.display_name}" if tool.display_name != tool.name else tool.name)
        if tool.description:
            term.out(tool.description.strip())
        schema = tool.input_schema or {}
        required = set(schema.get("required") or [])
        props = {name: prop if isinstance(prop, dict) else {} for name, prop in (schema.get("properties") or {}).items()}
        rows = [(name, _type_name(prop), "yes" if name in required else "", short(prop.get("description")))
                for name, prop in props.items()]
        if rows:
            term.out("")
            term.out(text_table(["argument", "type", "required", "description"], rows))
        return EXIT_OK
    if term.json_output:
        term.json([t.to_wire() for t in tools])
    elif tools:
        term.out(str(tools))
    else:
        term.out("(no tools)")
    return EXIT_OK


def _find_tool(tools: ToolList, name: str) -> Any:
    tool = tools.get(name)
    if tool is None:
        raise UsageError(f"unknown tool {name!r} (the server has: {', '.join(tools.names) or 'no tools'})")
    return tool


def cmd_call(client: Any, args: argparse.Namespace, term: Terminal, json_args: Optional[Dict[str, Any]]) -> int:
    tool = _find_tool(ToolList(client.list_tools()), args.tool)
    arguments = parse_arguments(args.arguments, tool.input_schema, base=json_args)
    result, code = run_tool(client, tool.name, arguments, term, show_progress=not args.no_progress)
    return code


def run_tool(client: Any, name: str, arguments: Dict[str, Any], term: Terminal,
             show_progress: bool = True) -> Tuple[Any, int]:
    """Call a tool showing progress and logs as they come; print the result. Returns (result, exit code)."""
    from .events import LogEvent, ProgressEvent, ResultEvent

    bar = term.progress_bar(name) if show_progress else None
    result = None
    try:
        for event in client.stream("tools/call", {"name": name, "arguments": arguments}):
            if isinstance(event, ProgressEvent) and bar is not None:
                bar(event.progress, event.total, event.text)
            elif isinstance(event, LogEvent):
                term.server_log(event.level, event.logger, event.data)
            elif isinstance(event, ResultEvent):
                result = event.value
    finally:
        if bar is not None:
            bar.close()
    if result is None:  # pragma: no cover - stream() always ends with a result or raises
        raise MCPError("tools/call ended without a result")
    if term.json_output:
        term.json(result.to_wire())
    elif result.is_error:
        pass
    else:
        wire = result.to_wire()
        if result.content:
            term.content(wire.get("content", []), name)
        if result.structured_content is not None and not result.text:
            term.json(result.structured_content)
    if result.is_error:
        term.err(f"mcp-sync: tool {name!r} reported an error: {_one_line(result.text or '(no message)')}")
        return result, EXIT_TOOL_ERROR
    return result, EXIT_OK


def cmd_resources(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    resources = _list(client, "list_resources")
    try:
        templates = _list(client, "list_resource_templates")
    except RPCError:
        templates = []  # many servers have no templates method at all
    if term.json_output:
        term.json({"resources": resources, "resourceTemplates": templates})
        return EXIT_OK
    if resources:
        term.out(text_table(["uri", "name", "type", "description"],
                            [(r.get("uri"), r.get("name", ""), r.get("mimeType") or "", short(r.get("description")))
                             for r in resources]))
    if templates:
        if resources:
            term.out("")
        term.out(text_table(["uri template", "name", "type", "description"],
                            [(t.get("uriTemplate"), t.get("name", ""), t.get("mimeType") or "",
                              short(t.get("description"))) for t in templates]))
    if not resources and not templates:
        term.out("(no resources)")
    return EXIT_OK


def cmd_read(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    contents = client.read_resource(args.uri).to_wire().get("contents") or []
    if term.json_output:
        term.json({"contents": contents})
    else:
        term.resource_contents(contents, args.uri.rsplit("/", 1)[-1] or "resource")
    return EXIT_OK


def cmd_prompts(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    prompts = _list(client, "list_prompts")
    if term.json_output:
        term.json(prompts)
    elif prompts:
        term.out(text_table(["prompt", "arguments", "description"],
                            [(p.get("name"), _prompt_args(p), short(p.get("description"))) for p in prompts]))
    else:
        term.out("(no prompts)")
    return EXIT_OK


def _prompt_args(prompt: Dict[str, Any]) -> str:
    return ", ".join(a.get("name", "") + ("" if a.get("required") else "?")
                     for a in prompt.get("arguments") or [] if isinstance(a, dict))


def cmd_prompt(client: Any, args: argparse.Namespace, term: Terminal, json_args: Optional[Dict[str, Any]]) -> int:
    prompts = {p.get("name"): p for p in _list(client, "list_prompts")}
    prompt = prompts.get(args.name)
    if prompt is None:
        raise UsageError(f"unknown prompt {args.name!r} (the server has: {', '.join(map(str, prompts)) or 'none'})")
    declared = [a for a in prompt.get("arguments") or [] if isinstance(a, dict)]
    schema = {"type": "object", "properties": {a.get("name"): {"type": "string"} for a in declared},
              "required": [a.get("name") for a in declared if a.get("required")]}
    arguments = parse_arguments(args.arguments, schema, base={k: str(v) for k, v in (json_args or {}).items()})
    result = client.get_prompt(args.name, arguments).to_wire()
    if term.json_output:
        term.json(result)
        return EXIT_OK
    for message in result.get("messages") or []:
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content or {}]
        term.out(f"[{message.get('role', '?')}]")
        term.content(blocks, args.name)
    return EXIT_OK


def cmd_complete(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    ref = {"type": "ref/prompt", "name": args.prompt} if args.prompt else {"type": "ref/resource", "uri": args.resource}
    params: Dict[str, Any] = {"ref": ref, "argument": {"name": args.argument, "value": args.value}}
    if args.context:
        params["context"] = {"arguments": parse_arguments(args.context, {}, check_required=False)}
    result = client.call("completion/complete", params)
    completion = result.get("completion") or {}
    if term.json_output:
        term.json(completion)
        return EXIT_OK
    for value in completion.get("values") or []:
        term.out(str(value))
    if completion.get("hasMore"):
        term.err(f"(more: {completion.get('total', '?')} in all)")
    return EXIT_OK


_CHANGES = {
    "tools": "tools changed",
    "prompts": "prompts changed",
    "resources": "resources changed",
    "resource_updated": "resource updated",
    "task": "task changed",
    "resubscribed": "subscription re-opened (re-read what you depend on)",
}


def cmd_listen(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    """Print change notifications as they come (one API over both eras: ``client.subscribe``)."""
    if args.count == 0:
        return EXIT_OK
    everything = not (args.tools or args.prompts or args.resources or args.resource)
    client.connect()
    deadline = time.monotonic() + args.duration if args.duration else None
    seen = 0
    with client.subscribe(args.resource, tools=args.tools or everything, prompts=args.prompts or everything,
                          resource_list=args.resources or everything) as sub:
        term.err(f"listening to {client.server_info.name or 'the server'} (Ctrl-C to stop)")
        while not sub.closed and (deadline is None or time.monotonic() < deadline):
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            event = sub.get(timeout=wait)
            if event is None:
                continue
            seen += 1
            if term.json_output:
                term.out(json.dumps({"kind": event.kind, "uri": event.uri, "message": event.message},
                                    ensure_ascii=False, default=str))
            else:
                term.out(_CHANGES.get(event.kind, event.kind) + (f": {event.uri}" if event.uri else ""))
            if args.count is not None and seen >= args.count:
                break
    return EXIT_OK


def cmd_shell(client: Any, args: argparse.Namespace, term: Terminal, _: Any) -> int:
    from ._shell import Shell

    return Shell(client, term, history=args.history).run()
