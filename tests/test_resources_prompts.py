"""Resources, templates, prompts and completion against a real server, in every transport and era."""
from __future__ import annotations

import pytest

from _ev import ev_fixture
from mcp_sync import CompleteResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate
from mcp_sync.errors import RPCError
from mcp_sync.types import BlobResourceContents, TextResourceContents

ev = ev_fixture()


def test_lists_and_reads_resources(ev):
    with ev() as client:
        resources = client.list_resources()
        assert all(isinstance(r, Resource) for r in resources)
        assert {r.uri for r in resources} == {"demo://greeting", "demo://logo"}
        greeting = client.read_resource("demo://greeting")
        assert isinstance(greeting, ReadResourceResult)
        assert greeting.text == "Hello from a resource"
        assert isinstance(greeting.contents[0], TextResourceContents)
        assert greeting.contents[0].mime_type == "text/plain"
        logo = client.read_resource("demo://logo")
        assert isinstance(logo.contents[0], BlobResourceContents)
        assert logo.data == bytes(range(256))  # blob decoded on request
        assert logo.contents[0].decode() == bytes(range(256))


def test_templates(ev):
    with ev() as client:
        templates = client.list_resource_templates()
        assert [t.uri_template for t in templates] == ["demo://items/{name}"]
        assert isinstance(templates[0], ResourceTemplate)
        assert client.read_resource("demo://items/kettle").text == "item kettle"


def test_missing_resource_is_an_rpc_error(ev):
    with ev() as client:
        with pytest.raises(RPCError) as info:
            client.read_resource("demo://nope")
    assert info.value.code in (-32602, -32002)


def test_single_page_form(ev):
    with ev() as client:
        page = client.list_resources(cursor=None, all_pages=False)
        assert {r.uri for r in page} == {"demo://greeting", "demo://logo"}
        assert client.last_cursor is None
        assert [p.name for p in client.list_prompts(all_pages=False)] == ["greet"]


def test_prompts(ev):
    with ev() as client:
        prompts = client.list_prompts()
        assert isinstance(prompts[0], Prompt)
        assert [(a.name, a.required) for a in prompts[0].arguments] == [("name", True), ("style", False)]
        result = client.get_prompt("greet", {"name": "Bo", "style": "formal"})
        assert isinstance(result, GetPromptResult)
        assert result.messages[0].role == "user"
        assert result.messages[0].text == "Please greet Bo in a formal way."
        with pytest.raises(TypeError):
            client.get_prompt("greet", {"name": 3})
        with pytest.raises(RPCError):
            client.get_prompt("no-such-prompt")


def test_completion(ev):
    with ev() as client:
        prompt = client.list_prompts()[0]
        result = client.complete(prompt, ("style", "f"))
        assert isinstance(result, CompleteResult)
        assert result.values == ["friendly", "formal", "funny", "fancy"]
        assert client.complete({"type": "ref/prompt", "name": "greet"}, {"name": "style", "value": "fo"}).values == ["formal"]
        template = client.list_resource_templates()[0]
        assert client.complete(template, ("name", "al")).values == ["alice", "albert"]
        # context_arguments narrow the suggestions
        assert client.complete(prompt, ("name", ""), context_arguments={"style": "formal"}).values == ["Dr. Alice", "Mr. Bob"]
