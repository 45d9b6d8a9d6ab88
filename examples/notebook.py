# %% [markdown]
# # mcp_sync in a notebook
#
# A plain script with `# %%` cell markers: open it in Jupyter (jupytext), VS Code or PyCharm as a
# notebook, or run it top to bottom with `python examples/notebook.py`. It needs the example
# server: `python examples/server.py --port 8000` (or set `MCP_SYNC_EXAMPLE_URL`).

# %%
import asyncio
import os

from mcp_sync import Client, MCPError

try:
    from IPython.display import display
except ImportError:  # plain Python: print what a notebook would render
    display = print

URL = os.environ.get("MCP_SYNC_EXAMPLE_URL", "http://127.0.0.1:8000/mcp")

# %% [markdown]
# One client for the whole notebook. It has no event loop of its own, so it works in a cell even
# though Jupyter runs one. Close it in the last cell (or let the kernel's exit do it).

# %%
client = Client(URL)
client

# %% [markdown]
# `list_tools()` returns a `ToolList`: a list that Jupyter shows as a table.

# %%
tools = client.list_tools()
display(tools)
print(tools.names)
print(repr(tools.get("echo")))

# %% [markdown]
# A result shows its content (text, images inline); `repr` stays short.

# %%
result = client.call_tool("echo", {"message": "Hello from a notebook"})
display(result)
print(repr(result))
print(result.text)

# %% [markdown]
# `progress=True` draws a progress bar (a widget with `tqdm` and `ipywidgets`, text otherwise).

# %%
numbers = client.call_tool("generate_numbers", {"count": 5}, progress=True)
print(numbers.text)

# %% [markdown]
# A tool error is a result with `is_error`; protocol errors are exceptions with a readable `repr`.

# %%
failed = client.call_tool("fail", {"message": "as expected"})
print(failed.is_error, failed.text)
try:
    client.call("no/such_method")
except MCPError as exc:
    print(repr(exc))

# %% [markdown]
# Inside a coroutine (an async cell, an ASGI handler) the blocking calls still work: they wait on
# their own threads, not on the running loop. In a real async app, wrap them in
# `asyncio.to_thread` so the loop keeps serving others while the call waits.


# %%
async def inside_a_loop():
    direct = client.call_tool("add", {"a": 1, "b": 2}).structured
    offloaded = await asyncio.to_thread(client.call_tool, "add", {"a": 3, "b": 4})
    return direct, offloaded.structured


print(asyncio.run(inside_a_loop()))

# %%
client.close()
print("done")
