"""The benchmark server (official ``mcp`` SDK 2.x): tools that cost the server as little as possible,
so what the benchmark measures is the client.

Tools: ``echo(message)``, ``count(n)`` (sends ``n`` progress notifications, then answers ``n``) and
``blob(kb)`` (answers one text block of ``kb`` KiB).

    python benchmarks/server.py --transport streamable-http --port 8000 [--json-response]
    python benchmarks/server.py --transport sse --port 8000        # http://127.0.0.1:8000/sse
    python benchmarks/server.py --transport stdio
"""
from __future__ import annotations

import argparse
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("mcp-sync-bench", version="1.0.0", log_level="WARNING")

_BLOBS: dict = {}


@server.tool()
def echo(message: str) -> str:
    """Echo a message back."""
    return message


@server.tool()
async def count(n: int, ctx: Context) -> int:
    """Send ``n`` progress notifications, then answer ``n``."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n)
    return n


@server.tool(structured_output=False)  # else the text is sent twice (content and structuredContent)
def blob(kb: int) -> str:
    """Answer ``kb`` KiB of text (cached, so the server's cost is only the encoding)."""
    text = _BLOBS.get(kb)
    if text is None:
        text = _BLOBS[kb] = ("0123456789abcdef" * 64) * kb
    return text


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true", help="answer with JSON, not SSE")
    args = parser.parse_args(argv)

    if args.transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    if args.transport == "streamable-http":
        app = server.streamable_http_app(json_response=args.json_response)
    else:
        app = server.sse_app()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
