"""Structured output (any JSON type, validated against outputSchema without fetching network
$refs) and x-mcp-header arguments mirrored into Mcp-Param-* headers (§2.1)."""
from __future__ import annotations

import logging

import pytest

from _ev import EV_MODES, ev_fixture
from mcp_sync import OutputValidationError
from mcp_sync._schema import InvalidHeaderAnnotation, header_paths, output_error, param_headers

ev = ev_fixture()
http_modern = ev_fixture([m for m in EV_MODES if m.modern and m.transport == "streamable-http"])


def test_structured_output_and_validation(ev):
    with ev() as client:
        client.list_tools()  # learns each tool's outputSchema
        assert client.call_tool("numbers", {"count": 3}).structured == {"result": [0, 1, 2]}
        with pytest.raises(OutputValidationError) as info:
            client.call_tool("mismatched")
        assert info.value.result.structured == {"a": "a string"}
        assert "is not of type 'integer'" in str(info.value)


def test_x_mcp_header_mirrored_and_invalid_tools_dropped(http_modern, caplog):
    with http_modern() as client, caplog.at_level(logging.WARNING, logger="mcp_sync"):
        names = {t.name for t in client.list_tools()}
        assert "bad_header" not in names and "regional" in names
        assert "dropping tool 'bad_header'" in caplog.text
        # the server rejects a call whose Mcp-Param-* headers do not match the arguments
        result = client.call_tool("regional", {"region": "eu-west-1", "count": 3, "verbose": True, "query": " héllo"})
        assert result.text == "eu-west-1:3:True: héllo"
        assert client.call_tool("regional", {"region": "us"}).text == "us:1:False:"


def test_header_mismatch_rereads_tools_and_retries(http_modern):
    with http_modern() as client:
        # never listed: the first attempt goes without Mcp-Param-*, the server answers -32020,
        # the client re-reads tools/list and retries
        assert client.call_tool("regional", {"region": "ap"}).text == "ap:1:False:"


not_modern_http = ev_fixture([m for m in EV_MODES if not (m.modern and m.transport == "streamable-http")])


def test_annotations_are_kept_elsewhere(not_modern_http):
    with not_modern_http() as client:
        assert "bad_header" in {t.name for t in client.list_tools()}  # only HTTP clients must drop


def test_header_annotation_rules():
    ok = {"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "opts": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}},
        "enum_default": {"type": "object", "default": {"x-mcp-header": "data, not an annotation"}}}}
    assert header_paths(ok) == {("region",): "Region", ("opts", "n"): "N"}
    bad = [
        {"properties": {"a": {"type": "number", "x-mcp-header": "A"}}},
        {"properties": {"a": {"type": "string", "x-mcp-header": "has space"}}},
        {"properties": {"a": {"type": "string", "x-mcp-header": ""}}},
        {"properties": {"a": {"type": "string", "x-mcp-header": "X"}, "b": {"type": "string", "x-mcp-header": "x"}}},
        {"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}},
        {"properties": {"a": {"anyOf": [{"type": "string", "x-mcp-header": "A"}]}}},
        {"$defs": {"d": {"type": "string", "x-mcp-header": "D"}}, "properties": {"a": {"$ref": "#/$defs/d"}}},
    ]
    for schema in bad:
        with pytest.raises(InvalidHeaderAnnotation):
            header_paths(schema)


def test_header_value_encoding():
    paths = {("s",): "S", ("i",): "I", ("b",): "B", ("u",): "U", ("w",): "W", ("m",): "M", ("gone",): "G"}
    headers = param_headers(paths, {"s": "plain", "i": -42, "b": False, "u": "日本", "w": " padded",
                                    "m": "=?base64?abc?=", "gone": None})
    assert headers == {"Mcp-Param-S": "plain", "Mcp-Param-I": "-42", "Mcp-Param-B": "false",
                       "Mcp-Param-U": "=?base64?5pel5pys?=", "Mcp-Param-W": "=?base64?IHBhZGRlZA==?=",
                       "Mcp-Param-M": "=?base64?PT9iYXNlNjQ/YWJjPz0=?="}
    with pytest.raises(ValueError):
        param_headers({("i",): "I"}, {"i": 2 ** 53})


def test_output_schemas_never_fetch_network_refs(caplog):
    schema = {"$ref": "http://127.0.0.1:9/never-fetched.json"}
    with caplog.at_level(logging.WARNING, logger="mcp_sync.schema"):
        assert output_error(schema, {"anything": 1}) is None  # not validated, not fetched
    assert "does not fetch" in caplog.text
    local = {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}}
    assert output_error(local, [1, 2]) is None
    assert "is not of type 'integer'" in output_error(local, [1, "x"])
    assert output_error({"type": "string"}, "any JSON type") is None


def test_output_validation_cost_is_bounded(caplog):
    """A schema built to make validation slow (too deep, too many parts) is logged, not used."""
    from mcp_sync._schema import MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES, output_error

    deep: dict = {"type": "integer"}
    for _ in range(MAX_SCHEMA_DEPTH + 1):
        deep = {"type": "object", "properties": {"a": deep}}
    wide = {"anyOf": [{"const": i} for i in range(MAX_SCHEMA_NODES + 1)]}
    assert output_error({"type": "object", "properties": {"a": {"type": "integer"}}}, {"a": "x"}) is not None
    with caplog.at_level("WARNING", logger="mcp_sync"):
        assert output_error(deep, {"a": "not what the schema says"}) is None
        assert output_error(wide, -1) is None
    assert "deeper than" in caplog.text and "more than" in caplog.text


def test_output_validation_has_a_time_budget(caplog, monkeypatch):
    """A small schema whose validation is exponential, or a $ref cycle, is logged and not used:
    call_tool never hangs on it, nor raises RecursionError."""
    import time

    from mcp_sync import _schema

    monkeypatch.setattr(_schema, "MAX_VALIDATION_SECONDS", 0.3)
    levels = 40  # about 120 parts: well under the size bounds, 2**40 steps to validate
    defs = {f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}] * 2} for i in range(levels)}
    defs[f"a{levels}"] = {"type": "string"}
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="mcp_sync"):
        assert output_error({"$defs": defs, "$ref": "#/$defs/a0"}, 1) is None
        assert time.monotonic() - started < 5
        assert output_error({"$ref": "#"}, 1) is None
    assert "took longer than" in caplog.text and "refers to itself" in caplog.text
    assert output_error({"$defs": defs, "$ref": f"#/$defs/a{levels - 2}"}, 1) is not None  # cheap: still checked
