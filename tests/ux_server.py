"""A server for the user-facing surfaces (CLI, notebook display, web apps, groups): the example
server's tools plus an image, typed arguments, logs, elicitation, a resource, a template, a prompt
with completions. Official ``mcp`` SDK 2.x; same command line as ``examples/server.py``."""
from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from typing import Dict, List

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel

#: A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
NAMES = ["Alice", "Albert", "Bob"]

server = MCPServer("ux-server", version="2.0.0", instructions="A server for the CLI tests.", log_level="WARNING")


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
    for i in range(1, count + 1):
        await ctx.report_progress(i, count, f"generated {i}")
        await asyncio.sleep(0.01)
    return ", ".join(str(n) for n in range(1, count + 1))


@server.tool()
def fail(message: str = "this tool always fails") -> str:
    """Return a tool error."""
    raise ToolError(message)


@server.tool()
def pixel() -> Image:
    """A 1x1 PNG image."""
    return Image(data=PIXEL, format="png")


@server.tool()
def typed(count: int, ratio: float, flag: bool, tags: List[str], options: Dict[str, int]) -> dict:
    """Echo typed arguments back as structured content."""
    return {"count": count, "ratio": ratio, "flag": flag, "tags": tags, "options": options}


@server.tool()
async def chatty(message: str, ctx: Context) -> str:
    """Log a message, then echo it."""
    await ctx.info(f"about to echo {message}")
    return message


class Person(BaseModel):
    name: str


@server.tool()
async def ask_name(ctx: Context) -> str:
    """Ask the user for a name (elicitation)."""
    answer = await ctx.elicit("What is your name?", Person)
    if answer.action == "accept" and answer.data is not None:
        return f"hello {answer.data.name}"
    return f"no name ({answer.action})"


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}s"


@server.resource("note://hello", name="hello", description="A short note.", mime_type="text/plain")
def hello_note() -> str:
    return "hello from a resource"


@server.resource("blob://pixel", name="pixel", mime_type="image/png")
def pixel_blob() -> bytes:
    return PIXEL


@server.resource("greeting://{name}", name="greeting", description="A greeting for anyone.")
def greeting(name: str) -> str:
    return f"Greetings, {name}!"


@server.prompt()
def greet(name: str, style: str = "plain") -> str:
    """Greet someone."""
    return f"Please greet {name} in a {style} style."


@server.completion()
async def complete(ref, argument, context):
    from mcp_types import Completion

    if argument.name == "name":
        return Completion(values=[n for n in NAMES if n.startswith(argument.value)])
    return None


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=["streamable-http", "stdio"], default="streamable-http")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    app = server.streamable_http_app(json_response=args.json_response, stateless_http=args.stateless)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
