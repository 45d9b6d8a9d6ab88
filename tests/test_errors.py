from __future__ import annotations

import pickle

import pytest

import mcp_sync
from mcp_sync import errors


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_an_mcp_error_and_pickles(name):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.MCPError)
    if issubclass(cls, errors.RPCError):
        err = cls(cls.code or -1, "msg", {"d": 1}, method="tools/call")
    elif cls is errors.HTTPStatusError:
        err = cls("msg", status_code=500, body="b", url="http://x")
    else:
        err = cls("msg")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls
    assert str(clone) == str(err)
    assert clone.__dict__ == err.__dict__


def test_builtin_bases_let_users_catch_as_usual():
    assert issubclass(errors.RequestTimeout, TimeoutError)
    assert issubclass(errors.ConnectionClosed, ConnectionError)
    assert issubclass(errors.ClientClosedError, RuntimeError)


def test_rpc_errors_map_codes_to_classes():
    err = errors.RPCError.from_error({"code": -32601, "message": "Method not found", "data": [1]}, method="x/y")
    assert type(err) is errors.MethodNotFound
    assert (err.code, err.message, err.data, err.method) == (-32601, "Method not found", [1], "x/y")
    assert "x/y" in str(err) and "-32601" in str(err)
    unknown = errors.RPCError.from_error({"code": 12345, "message": "custom"})
    assert type(unknown) is errors.RPCError and unknown.code == 12345
    junk = errors.RPCError.from_error("not an object")
    assert junk.code == -32603


def test_public_names_are_exported():
    for name in mcp_sync.__all__:
        assert hasattr(mcp_sync, name), name
    assert mcp_sync.Client.__module__ == "mcp_sync.client"
