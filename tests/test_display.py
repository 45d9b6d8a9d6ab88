"""Notebook and REPL ergonomics: reprs, Jupyter rich display, progress bars, use inside a running
event loop, and the example notebook run top to bottom — against real servers."""
from __future__ import annotations

import asyncio
import base64
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import shared_server
from mcp_sync import Client, RPCError
from mcp_sync._display import ProgressBar, ToolList
from servers import EXAMPLE_SERVER, ROOT

UX_SERVER = Path(__file__).resolve().parent / "ux_server.py"


@pytest.fixture(scope="module")
def client():
    with Client(shared_server((str(UX_SERVER),)).url) as c:
        yield c


def test_tool_list_repr_and_lookup(client):
    tools = client.list_tools()
    assert isinstance(tools, ToolList) and isinstance(tools, list)
    assert repr(tools).startswith("ToolList(9 tools: echo, add, generate_numbers")
    assert repr(tools.get("add")) == "<Tool add(a, b)>"
    assert tools.get("nope") is None
    assert "typed" in tools.names
    table = str(tools)
    assert table.splitlines()[0].split() == ["tool", "arguments", "description"]
    assert "count: integer, ratio: number, flag: boolean" in table


def test_tool_list_rich_display(client):
    tools = client.list_tools()
    page = tools._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == len(tools) + 1
    assert "<td style='text-align:left'>generate_numbers</td>" in page
    markdown = tools._repr_markdown_()
    assert markdown.splitlines()[0] == "| tool | arguments | description |"
    assert "| echo | message: string | Echo a message back. |" in markdown


def test_result_repr_and_display(client):
    result = client.call_tool("echo", {"message": "<b>hi</b>"})
    assert repr(result) == "<CallToolResult 1 block(s) text='<b>hi</b>' structured={\"result\": \"<b>hi</b>\"}>"
    assert "&lt;b&gt;hi&lt;/b&gt;" in result._repr_html_()  # text is escaped, not rendered as HTML
    assert "&lt;b&gt;hi&lt;/b&gt;" in result._repr_markdown_()  # server HTML is shown, not rendered
    assert "<b>" not in result._repr_markdown_()


def test_image_content_shows_inline(client):
    from ux_server import PIXEL

    result = client.call_tool("pixel")
    page = result._repr_html_()
    data = base64.b64encode(PIXEL).decode()
    assert f"<img src='data:image/png;base64,{data}'" in page
    assert f"![image](data:image/png;base64,{data})" in result._repr_markdown_()


def test_tool_error_display(client):
    failed = client.call_tool("fail", {"message": "nope"})
    assert repr(failed).startswith("<CallToolResult is_error 1 block(s)")
    assert "tool error" in failed._repr_html_() and "nope" in failed._repr_html_()


def test_error_repr_shows_code_and_method(client):
    with pytest.raises(RPCError) as info:
        client.call("no/such_method")
    text = repr(info.value)
    assert text.startswith("MethodNotFound('[-32601]")
    assert "(from no/such_method)" in text
    assert repr(pickle.loads(pickle.dumps(info.value))) == text


def test_text_progress_bar_without_tqdm():
    out = io.StringIO()
    bar = ProgressBar("job", stream=out, use_tqdm=False, width=10)
    for i in range(1, 4):
        bar(i, 3, f"step {i}")
    bar(4, None, None)
    bar.close()
    assert out.getvalue().splitlines() == ["job [###-------] 1/3 step 1", "job [######----] 2/3 step 2",
                                           "job [##########] 3/3 step 3", "job 4"]


def test_text_progress_bar_redraws_in_place_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    with ProgressBar("job", stream=out, use_tqdm=False, width=4) as bar:
        bar(1, 2, None)
        bar(2, 2, None)  # the last update is always drawn, however soon it comes
    assert out.getvalue() == "\r\x1b[2Kjob [##--] 1/2\r\x1b[2Kjob [####] 2/2\n"


def test_tqdm_progress_bar():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    with ProgressBar("job", stream=out) as bar:
        for i in range(1, 6):
            bar(i, 5, "working")
    assert "5/5" in out.getvalue() and "working" in out.getvalue()


def test_call_tool_progress_true_draws_a_bar(client, capsys):
    result = client.call_tool("generate_numbers", {"count": 4}, progress=True)
    assert result.text == "1, 2, 3, 4"
    err = capsys.readouterr().err
    assert "generate_numbers" in err and "4/4" in err


def test_usable_inside_a_running_event_loop(client):
    async def cell():
        assert asyncio.get_running_loop() is not None
        direct = client.call_tool("add", {"a": 1, "b": 2})
        offloaded = await asyncio.to_thread(client.call_tool, "add", {"a": 3, "b": 4})
        several = await asyncio.gather(*(asyncio.to_thread(client.call_tool, "echo", {"message": str(i)})
                                         for i in range(5)))
        return direct.text, offloaded.text, [r.text for r in several]

    assert asyncio.run(cell()) == ("3.0", "7.0", ["0", "1", "2", "3", "4"])


def test_example_notebook_runs_top_to_bottom():
    url = shared_server((str(EXAMPLE_SERVER),)).url
    env = dict(os.environ, MCP_SYNC_EXAMPLE_URL=url)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "notebook.py")], capture_output=True, text=True,
                          timeout=60, env=env, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Hello from a notebook" in out
    assert "1, 2, 3, 4, 5" in out
    assert "True" in out and "as expected" in out
    assert "MethodNotFound('[-32601]" in out
    assert "({'result': 3.0}, {'result': 7.0})" in out
    assert out.rstrip().endswith("done")
    assert "5/5" in proc.stderr  # the progress bar


def test_resource_links_are_clickable_only_for_http():
    """A server's resource_link URI becomes a notebook link only when it is http(s): a
    "javascript:" URI clicked in Jupyter would run in the notebook's origin."""
    from mcp_sync.types import CallToolResult

    result = CallToolResult.model_validate({"content": [
        {"type": "resource_link", "uri": "JavaScript:alert(document.cookie)", "name": "click me"},
        {"type": "resource_link", "uri": "https://example.com/a?b=1&c='2'", "name": "docs"}]})
    page = result._repr_html_()
    assert page.count("<a href=") == 1
    assert "<a href='https://example.com/a?b=1&amp;c=&#x27;2&#x27;'>docs</a>" in page
    assert "click me: <code>JavaScript:alert(document.cookie)</code>" in page
    markdown = result._repr_markdown_()
    assert "](JavaScript:" not in markdown and "[docs](https://example.com/a?b=1&c='2')" in markdown


def test_markdown_view_cannot_be_broken_out_of_by_server_text():
    from mcp_sync import CallToolResult

    result = CallToolResult.model_validate({"content": [
        {"type": "text", "text": "<img src=x onerror=alert(1)>"},
        {"type": "resource", "resource": {"uri": "file:///a.md", "text": "```\n<script>alert(1)</script>\n```"}},
    ]})
    markdown = result._repr_markdown_()
    assert "<img" not in markdown and "&lt;img" in markdown
    fence = markdown.split("\n")[markdown.split("\n").index("`file:///a.md`") + 2]
    assert fence == "````"  # longer than the ``` inside, so the embedded text stays in its code block
