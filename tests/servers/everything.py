"""A test server exposing the whole protocol surface (official ``mcp`` SDK 2.x ``MCPServer``).

Resources ``demo://greeting`` (text) and ``demo://logo`` (blob), template ``demo://items/{name}``,
prompt ``greet(name, style)`` with completions, and tools that log, elicit, sample, list roots,
run long with progress, record their own cancellation, return structured output, mirror
``x-mcp-header`` arguments, change the tool list, touch a resource, and run as a task (modern
``io.modelcontextprotocol/tasks`` extension and legacy 2025-11-25 experimental tasks).

Run it like ``examples/server.py``::

    python tests/servers/everything.py --transport streamable-http --port 8000 [--json-response] [--stateless]
    python tests/servers/everything.py --transport sse --port 8000
    python tests/servers/everything.py --transport stdio
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
import warnings
from datetime import datetime, timezone
from typing import Annotated, Any, Dict, List, Optional

from mcp.server.caching import CacheHint
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp_types import (
    CallToolResult,
    InputRequiredResult,
    ListRootsResult,
    RequestParams,
    SamplingMessage,
    TextContent,
)
from pydantic import BaseModel, Field

warnings.simplefilter("ignore")  # the deprecated logging/sampling/roots APIs are exercised on purpose

TASKS_EXT = "io.modelcontextprotocol/tasks"
LOGO = bytes(range(256))

# Legacy resources/subscribe bookkeeping and the legacy logging level (one test process talks to
# one server process; the state is per process, which is all the tests need).
_subscribed: Dict[str, List[Any]] = {}
_log_level: Dict[int, str] = {}
_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


# ---------------------------------------------------------------------- tasks (both eras)


class _Tasks:
    """Fake jobs: sleep ``seconds`` then answer; optionally ask for input first (modern)."""

    def __init__(self) -> None:
        self.tasks: Dict[str, Dict[str, Any]] = {}

    def create(self, seconds: float, ask: bool = False) -> Dict[str, Any]:
        now = _now()
        task_id = uuid.uuid4().hex
        task = {"taskId": task_id, "status": "working", "statusMessage": "started", "createdAt": now,
                "lastUpdatedAt": now, "ttlMs": 60_000, "pollIntervalMs": 50}
        self.tasks[task_id] = {"task": task, "seconds": seconds, "ask": ask, "answer": None,
                               "done": asyncio.Event(), "job": None}
        self.tasks[task_id]["job"] = asyncio.get_running_loop().create_task(self._run(task_id))
        return dict(task)

    async def _run(self, task_id: str) -> None:
        entry = self.tasks[task_id]
        task = entry["task"]
        try:
            if entry["ask"]:
                task.update(status="input_required", statusMessage="need confirmation", lastUpdatedAt=_now(),
                            inputRequests={"confirm": {"method": "elicitation/create", "params": {
                                "mode": "form", "message": "Proceed?",
                                "requestedSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}})
                while entry["answer"] is None:
                    await asyncio.sleep(0.02)
                task.pop("inputRequests", None)
                task.update(status="working", statusMessage="confirmed", lastUpdatedAt=_now())
            await asyncio.sleep(entry["seconds"] / 2)
            task.update(statusMessage="half way", lastUpdatedAt=_now())
            await asyncio.sleep(entry["seconds"] / 2)
            text = f"task finished after {entry['seconds']}s"
            if entry["answer"] is not None:
                text += f" (answer {entry['answer']})"
            task.update(status="completed", statusMessage="done", lastUpdatedAt=_now(),
                        result={"content": [{"type": "text", "text": text}], "isError": False})
        except asyncio.CancelledError:
            task.update(status="cancelled", statusMessage="cancelled", lastUpdatedAt=_now())
        finally:
            entry["done"].set()

    def get(self, task_id: str) -> Dict[str, Any]:
        from mcp.shared.exceptions import MCPError

        entry = self.tasks.get(task_id)
        if entry is None:
            raise MCPError(code=-32602, message=f"unknown task {task_id}")
        return entry

    def cancel(self, task_id: str) -> None:
        entry = self.get(task_id)
        job = entry["job"]
        if job is not None and not job.done():
            job.cancel()


tasks = _Tasks()


def _session_key(request: Any) -> str:
    """Which client a legacy request came from: its Mcp-Session-Id, or "stdio"."""
    headers = getattr(request, "headers", None)
    return (headers.get("mcp-session-id") if headers is not None else None) or "stdio"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class TaskIdParams(RequestParams):
    task_id: str = Field(alias="taskId")


class TaskUpdateParams(RequestParams):
    task_id: str = Field(alias="taskId")
    input_responses: Dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


class TasksExtension(Extension):
    """The modern tasks extension: ``task_job`` returns a task to clients that opted in."""

    identifier = TASKS_EXT

    def methods(self):  # type: ignore[override]
        async def get(ctx: Any, params: TaskIdParams) -> Dict[str, Any]:
            task = dict(tasks.get(params.task_id)["task"])
            return {"resultType": "complete", **task}

        async def update(ctx: Any, params: TaskUpdateParams) -> Dict[str, Any]:
            entry = tasks.get(params.task_id)
            answer = params.input_responses.get("confirm")
            if isinstance(answer, dict):
                entry["answer"] = (answer.get("content") or {}).get("ok", answer.get("action"))
            return {"resultType": "complete"}

        async def cancel(ctx: Any, params: TaskIdParams) -> Dict[str, Any]:
            tasks.cancel(params.task_id)
            return {"resultType": "complete"}

        return [MethodBinding("tasks/get", TaskIdParams, get), MethodBinding("tasks/update", TaskUpdateParams, update),
                MethodBinding("tasks/cancel", TaskIdParams, cancel)]

    async def intercept_tool_call(self, params: Any, ctx: Any, call_next: Any) -> Any:
        meta = ctx.meta if isinstance(ctx.meta, dict) else (getattr(ctx.meta, "model_extra", None) or {})
        caps = meta.get("io.modelcontextprotocol/clientCapabilities")
        declared = isinstance(caps, dict) and TASKS_EXT in (caps.get("extensions") or {})
        if params.name == "task_job" and declared:
            args = params.arguments or {}
            task = tasks.create(float(args.get("seconds", 0.3)), bool(args.get("ask", False)))
            return {"resultType": "task", **task}
        return await call_next(ctx)


async def legacy_tasks_middleware(ctx: Any, call_next: Any) -> Any:
    """2025-11-25 experimental tasks: ``tools/call`` with ``params.task``; tasks/get, tasks/result,
    tasks/cancel; the ``tasks`` capability added to the initialize result."""
    method = ctx.method
    params = dict(ctx.params or {})
    if ctx.protocol_version == "2026-07-28":
        return await call_next(ctx)
    if method == "initialize":
        result = await call_next(ctx)
        if isinstance(result, dict):
            caps = dict(result.get("capabilities") or {})
            caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
            result = {**result, "capabilities": caps}
        return result
    if method == "tools/list":
        result = await call_next(ctx)
        for tool in result.get("tools", []) if isinstance(result, dict) else []:
            if tool.get("name") == "task_only_job":
                tool["execution"] = {"taskSupport": "required"}
        return result
    if method == "tools/call" and params.get("name") == "task_only_job" and not isinstance(params.get("task"), dict):
        from mcp.shared.exceptions import MCPError

        raise MCPError(code=-32601, message="task_only_job must be called as a task")
    if method == "tools/call" and isinstance(params.get("task"), dict) and params.get("name") in ("task_job",
                                                                                                 "task_only_job"):
        args = params.get("arguments") or {}
        task = tasks.create(float(args.get("seconds", 0.3)))
        return {"task": _legacy_task(task)}
    if method in ("tasks/get", "tasks/result", "tasks/cancel"):
        from mcp.shared.exceptions import MCPError

        try:
            entry = tasks.get(str(params.get("taskId")))
        except MCPError:
            raise
        if method == "tasks/get":
            return _legacy_task(entry["task"])
        if method == "tasks/cancel":
            if entry["task"]["status"] in ("completed", "failed", "cancelled"):
                raise MCPError(code=-32602, message="the task is already terminal")
            tasks.cancel(str(params.get("taskId")))
            await asyncio.wait_for(entry["done"].wait(), 5)
            return _legacy_task(entry["task"])
        await asyncio.wait_for(entry["done"].wait(), 30)
        result = dict(entry["task"].get("result") or {"content": [], "isError": True})
        result["_meta"] = {"io.modelcontextprotocol/related-task": {"taskId": entry["task"]["taskId"]}}
        return result
    return await call_next(ctx)


def _legacy_task(task: Dict[str, Any]) -> Dict[str, Any]:
    return {"taskId": task["taskId"], "status": task["status"], "statusMessage": task.get("statusMessage"),
            "createdAt": task["createdAt"], "lastUpdatedAt": task["lastUpdatedAt"], "ttl": task["ttlMs"],
            "pollInterval": task["pollIntervalMs"]}


#: Modern results carry these cache hints, so the client's cache has something to honour.
CACHE_HINTS = {m: CacheHint(ttl_ms=60_000, scope="private")
               for m in ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read")}

server = MCPServer("mcp-sync-everything", version="1.0.0", instructions="Everything, for mcp_sync's tests.",
                   log_level="WARNING", extensions=[TasksExtension()], middleware=[legacy_tasks_middleware],
                   cache_hints=CACHE_HINTS)
_low = server._lowlevel_server


# ---------------------------------------------------------------------- resources and prompts


@server.resource("demo://greeting", name="greeting", description="A friendly text resource", mime_type="text/plain")
def greeting() -> str:
    return "Hello from a resource"


@server.resource("demo://logo", name="logo", description="Binary data", mime_type="application/octet-stream")
def logo() -> bytes:
    return LOGO


@server.resource("demo://items/{name}", name="item", description="One item by name", mime_type="text/plain")
def item(name: str) -> str:
    return f"item {name}"


@server.prompt(description="Greet someone in a style")
def greet(name: str, style: str = "friendly") -> str:
    return f"Please greet {name} in a {style} way."


@server.completion()
async def complete(ref: Any, argument: Any, context: Any) -> Any:
    from mcp_types import Completion

    options: List[str] = []
    if argument.name == "style":
        options = ["friendly", "formal", "funny", "fancy"]
    elif argument.name == "name":
        options = ["alice", "albert", "bob"]
        if context is not None and context.arguments and context.arguments.get("style") == "formal":
            options = ["Dr. Alice", "Mr. Bob"]
    values = [o for o in options if o.lower().startswith(argument.value.lower())]
    return Completion(values=values, total=len(values), has_more=False)


# ---------------------------------------------------------------------- tools: logging, progress, cancellation


@server.tool()
async def log_messages(ctx: Context) -> str:
    """Log one message at each of debug, info, warning and error."""
    floor = _log_level.get(_session_key(ctx.request_context.request))
    for level in ("debug", "info", "warning", "error"):
        if floor is not None and _LEVELS.index(level) < _LEVELS.index(floor):
            continue  # legacy: the server honours logging/setLevel itself
        await ctx.log(level, f"{level} message", logger_name="everything")
    return "logged"


@server.tool()
async def long_running(steps: int, delay: float, ctx: Context) -> str:
    """Report progress ``steps`` times, ``delay`` seconds apart."""
    for i in range(1, steps + 1):
        await asyncio.sleep(delay)
        await ctx.report_progress(i, steps, f"step {i}")
    return f"done after {steps} steps"


@server.tool()
async def record_cancel(path: str, seconds: float, ctx: Context) -> str:
    """Report progress 0, then sleep; if cancelled, write "cancelled" to ``path`` (so a test can
    see the server noticed)."""
    try:
        await ctx.report_progress(0, None, "started")
        await asyncio.sleep(seconds)
    except BaseException:
        with open(path, "a") as fh:
            fh.write("cancelled\n")
        raise
    return "not cancelled"


# ---------------------------------------------------------------------- tools: interactions


class Name(BaseModel):
    name: str
    age: int = 30


async def ask_name_resolver() -> Any:
    return Elicit("What is your name?", Name)


@server.tool()
async def ask_name(person: Annotated[Name, Resolve(ask_name_resolver)]) -> str:
    """Elicit a name (form mode) and greet it."""
    return f"Hello {person.name} ({person.age})"


async def sample_resolver(topic: str) -> Any:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=f"Write about {topic}"))],
                  max_tokens=50)


@server.tool()
async def summarize(topic: str, sampled: Annotated[Any, Resolve(sample_resolver)]) -> str:
    """Ask the client's LLM (sampling) and return what it said."""
    content = sampled.content
    text = getattr(content, "text", None) or str(content)
    return f"model {sampled.model} said: {text}"


async def roots_resolver() -> Any:
    return ListRoots()


@server.tool()
async def show_roots(roots: Annotated[ListRootsResult, Resolve(roots_resolver)]) -> str:
    """List the client's roots."""
    return ", ".join(str(r.uri) for r in roots.roots) or "(no roots)"


@server.tool()
async def rounds(count: int, ctx: Context) -> Any:
    """Modern only: answer after ``count`` retries, each carrying requestState (no input requests)."""
    state = ctx.request_state
    done = int(state.split(":")[1]) if state else 0
    if done < count:
        return InputRequiredResult(request_state=f"round:{done + 1}")
    return f"finished after {done} rounds"


# ---------------------------------------------------------------------- tools: structured output, headers


@server.tool()
def numbers(count: int) -> List[int]:
    """Structured output that is an array."""
    return list(range(count))


@server.tool()
def mismatched() -> CallToolResult:
    """Claims ``{"a": integer}`` output but returns ``{"a": "a string"}`` (the client should notice)."""
    return CallToolResult(content=[TextContent(type="text", text="oops")], structured_content={"a": "a string"})


@server.tool()
def regional(region: str, count: int = 1, verbose: bool = False, query: str = "") -> str:
    """Arguments mirrored into Mcp-Param-* headers (x-mcp-header)."""
    return f"{region}:{count}:{verbose}:{query}"


@server.tool()
def bad_header(amount: float) -> str:
    """Invalid x-mcp-header (on a number): clients must drop this tool."""
    return str(amount)


def _patch_tools() -> None:
    manager = server._tool_manager
    tool = manager.get_tool("mismatched")
    tool.__dict__["output_schema"] = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    props = manager.get_tool("regional").parameters["properties"]
    props["region"]["x-mcp-header"] = "Region"
    props["count"]["x-mcp-header"] = "Count"
    props["verbose"]["x-mcp-header"] = "Verbose"
    props["query"]["x-mcp-header"] = "Query"
    manager.get_tool("bad_header").parameters["properties"]["amount"]["x-mcp-header"] = "Amount"


_patch_tools()


# ---------------------------------------------------------------------- tools: change notifications


@server.tool()
async def touch(uri: str, ctx: Context) -> str:
    """Report that resource ``uri`` changed (both eras)."""
    await ctx.notify_resource_updated(uri)
    for session in list(_subscribed.get(uri, [])):
        try:
            await session.send_resource_updated(uri)
        except Exception:
            _subscribed[uri].remove(session)
    return "touched"


@server.tool()
async def change_tools(ctx: Context) -> str:
    """Report that the tool list changed (both eras)."""
    await ctx.notify_tools_changed()
    if ctx.protocol_version != "2026-07-28":
        await ctx.session.send_tool_list_changed()
    return "changed"


@server.tool()
def task_job(seconds: float = 0.3, ask: bool = False) -> str:
    """Runs as a task for clients that opted in; otherwise answers directly."""
    time.sleep(min(seconds, 2.0))
    return f"ran inline for {seconds}s"


_visited: set = set()


@server.tool()
def connect_account(account: str) -> str:
    """2025-11-25 URL elicitation: fails with -32042 until ``visit_url(account)`` was called."""
    from mcp.shared.exceptions import UrlElicitationRequiredError
    from mcp_types import ElicitRequestURLParams

    if account not in _visited:
        raise UrlElicitationRequiredError([ElicitRequestURLParams(
            message=f"Connect {account} first", url=f"https://accounts.example.com/connect?account={account}",
            elicitation_id=f"connect-{account}")])
    return f"{account} connected"


@server.tool()
def visit_url(account: str) -> str:
    """What the user's browser would do at the URL connect_account names."""
    _visited.add(account)
    return "visited"


@server.tool(structured_output=False)  # its task result (like task_job's) has no structuredContent
def task_only_job(seconds: float = 0.3) -> str:
    """Legacy servers run it only as a task (execution.taskSupport "required")."""
    return "never run inline"


def _legacy_handlers() -> None:
    from mcp_types import SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams

    async def subscribe(ctx: Any, params: SubscribeRequestParams) -> Dict[str, Any]:
        _subscribed.setdefault(str(params.uri), []).append(ctx.session)
        return {}

    async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> Dict[str, Any]:
        sessions = _subscribed.get(str(params.uri), [])
        if ctx.session in sessions:
            sessions.remove(ctx.session)
        return {}

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> Dict[str, Any]:
        _log_level[_session_key(ctx.request)] = params.level
        return {}

    _low.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    _low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    _low.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    for name in ("tasks/get", "tasks/result", "tasks/cancel"):
        async def never(ctx: Any, params: Any) -> Dict[str, Any]:  # the middleware answers first
            return {}

        _low.add_request_handler(name, TaskIdParams, never) if _low.get_request_handler(name) is None else None


_legacy_handlers()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--mount", default="")
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    if args.transport == "streamable-http":
        app = server.streamable_http_app(json_response=args.json_response, stateless_http=args.stateless)
    else:
        mount = args.mount.rstrip("/")
        app = server.sse_app(sse_path=mount or "/sse", message_path=f"{mount}/messages/")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
