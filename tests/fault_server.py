"""An official-SDK server for the reliability tests: resumable legacy streams (an in-memory
EventStore and ``retry_interval``), a tool that closes its own SSE stream mid-call, a counter that
proves a tool ran exactly once, and a tool that reports progress then stalls.

    python tests/fault_server.py --port 8000 [--retry-interval 100] [--no-event-store]
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
from typing import List, Optional, Tuple

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore

server = MCPServer("mcp-sync-faults", version="1.0.0", log_level="WARNING")
_runs = {"close_then_answer": 0}


class MemoryEventStore(EventStore):
    """Every event of every stream, in order; ids are global so they name their stream."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.events: List[Tuple[str, str, Optional[object]]] = []

    async def store_event(self, stream_id, message):  # type: ignore[override]
        event_id = f"{stream_id}-{next(self._ids)}"
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback: EventCallback):  # type: ignore[override]
        index = next((i for i, e in enumerate(self.events) if e[0] == last_event_id), None)
        if index is None:
            return None
        stream_id = self.events[index][1]
        for event_id, sid, message in self.events[index + 1:]:
            if sid == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


@server.tool()
def echo(message: str) -> str:
    return message


@server.tool()
async def close_then_answer(tag: str, delay: float, ctx: Context) -> str:
    """Report progress, close this request's SSE stream, keep working, then answer."""
    _runs["close_then_answer"] += 1
    await ctx.report_progress(1, 2, "before the cut")
    await asyncio.sleep(0.05)
    await ctx.close_sse_stream()
    await asyncio.sleep(delay)
    await ctx.report_progress(2, 2, "after the cut")
    return f"answered {tag}"


@server.tool()
async def notify_across_get_cut(ctx: Context) -> str:
    """Send an unrelated notification (GET stream), cut the GET stream, send another one."""
    await ctx.session.send_tool_list_changed()
    await asyncio.sleep(0.1)
    await ctx.close_standalone_sse_stream()
    await asyncio.sleep(0.05)
    await ctx.session.send_resource_list_changed()
    return "sent"


@server.tool()
def runs() -> int:
    """How many times close_then_answer has started."""
    return _runs["close_then_answer"]


@server.tool()
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return f"slept {seconds}s"


@server.tool()
async def progress_then_stall(seconds: float, ctx: Context) -> str:
    await ctx.report_progress(1, 2, "started")
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def big(size: int) -> str:
    return "x" * size


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--retry-interval", type=int, default=None)
    parser.add_argument("--no-event-store", action="store_true")
    parser.add_argument("--json-response", action="store_true")
    args = parser.parse_args(argv)
    import uvicorn

    store = None if args.no_event_store else MemoryEventStore()
    app = server.streamable_http_app(json_response=args.json_response, event_store=store,
                                     retry_interval=args.retry_interval)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
