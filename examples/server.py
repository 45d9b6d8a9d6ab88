"""The bundled example MCP server (official ``mcp`` SDK 2.x).

Tools: ``echo(message)``, ``add(a, b)``, ``generate_numbers(count)`` (reports progress per number)
and ``slow(seconds)``.

Run it over any transport::

    python examples/server.py --transport streamable-http --port 8000   # http://127.0.0.1:8000/mcp
    python examples/server.py --transport streamable-http --json-response
    python examples/server.py --transport streamable-http --stateless
    python examples/server.py --transport sse --port 8000               # http://127.0.0.1:8000/sse
    python examples/server.py --transport sse --mount /mcp              # fastapi-mcp layout
    python examples/server.py --transport stdio
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer(
    "mcp-sync-example", version="1.0.0", instructions="An example server for mcp_sync.", log_level="WARNING"
)


@server.tool()
def echo(message: str) -> str:
    """Echo a message back."""
    return message


@server.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@server.tool()
async def generate_numbers(count: int, ctx: Context) -> str:
    """Generate ``count`` numbers, reporting progress after each one."""
    numbers = []
    for i in range(1, count + 1):
        numbers.append(i)
        await ctx.report_progress(i, count, f"generated {i}")
        await asyncio.sleep(0.01)
    return ", ".join(str(n) for n in numbers)


@server.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Sleep for ``seconds`` seconds, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}s"


@server.tool()
def fail(message: str = "this tool always fails") -> str:
    """Return a tool error (``isError: true``)."""
    raise ToolError(message)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true", help="answer with JSON, not SSE")
    parser.add_argument("--stateless", action="store_true", help="stateless Streamable HTTP")
    parser.add_argument("--mount", default="", help="HTTP+SSE: serve the stream at MOUNT, messages at MOUNT/messages/")
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
