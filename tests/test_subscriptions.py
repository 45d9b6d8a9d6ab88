"""Change notifications through one API over both eras (subscriptions/listen, resources/subscribe
plus list_changed), and the ttlMs cache they invalidate."""
from __future__ import annotations

import threading
import time

import pytest

from _ev import EV_MODES, ev_fixture
from mcp_sync import ConnectionClosed, SubscriptionEvent
from mcp_sync.errors import InvalidParams

ev = ev_fixture()
modern_ev = ev_fixture([m for m in EV_MODES if m.modern])


def _next(sub, kinds, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = sub.get(timeout=max(0.01, deadline - time.monotonic()))
        if event is None:
            return None
        if event.kind in kinds:
            return event
    return None


def test_resource_updates_and_tool_list_changes(ev):
    seen = []
    with ev() as client:
        with client.subscribe(["demo://greeting"], tools=True, callback=seen.append) as sub:
            assert sub.acknowledged.get("toolsListChanged") is True
            assert sub.acknowledged.get("resourceSubscriptions") == ["demo://greeting"]
            client.call_tool("touch", {"uri": "demo://greeting"})
            event = _next(sub, {"resource_updated"})
            assert isinstance(event, SubscriptionEvent) and event.uri == "demo://greeting"
            client.call_tool("touch", {"uri": "demo://other"})  # not subscribed: never delivered
            client.call_tool("change_tools")
            assert _next(sub, {"tools", "resource_updated"}).kind == "tools"
        assert sub.closed
        assert sub.get(timeout=0.1) is None  # ended
        assert [e.kind for e in seen] == ["resource_updated", "tools"]
        assert client.call_tool("numbers", {"count": 1}).structured == {"result": [0]}


def test_iterating_until_closed_from_another_thread(ev):
    with ev() as client:
        sub = client.subscribe(["demo://greeting"])
        kinds = []

        def reader():
            for event in sub:
                kinds.append(event.kind)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        client.call_tool("touch", {"uri": "demo://greeting"})
        deadline = time.monotonic() + 10
        while not kinds and time.monotonic() < deadline:
            time.sleep(0.02)
        sub.close()
        thread.join(5)
        assert not thread.is_alive()
        assert kinds == ["resource_updated"]


def test_relisten_after_a_drop(modern_ev):
    with modern_ev() as client:
        with client.subscribe(["demo://greeting"]) as sub:
            pending = sub._pending
            assert pending is not None
            client._engine.transport.abort(pending)  # the stream breaks under us
            client._engine.fail(pending, ConnectionClosed("dropped by the test"))
            assert _next(sub, {"resubscribed"}) is not None
            assert sub._pending is not pending
            client.call_tool("touch", {"uri": "demo://greeting"})
            assert _next(sub, {"resource_updated"}).uri == "demo://greeting"


@pytest.mark.parametrize("teardown", ["result", "cancelled"])
def test_server_teardown_forms_end_the_subscription(modern_ev, teardown):
    with modern_ev() as client:
        sub = client.subscribe(tools=True)
        pending = sub._pending
        if teardown == "result":
            message = {"jsonrpc": "2.0", "id": pending.id, "result": {"resultType": "complete",
                       "_meta": {"io.modelcontextprotocol/subscriptionId": pending.id}}}
        else:
            message = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": pending.id}}
        client._engine.deliver(message)
        assert sub.get(timeout=5) is None  # ended, not re-listened
        assert sub.closed
        sub.close()


def test_cache_honours_ttl_and_invalidation(modern_ev):
    with modern_ev() as client:
        calls = []
        real = client._engine.exchange

        def counting(method, *args, **kwargs):
            calls.append(method)
            return real(method, *args, **kwargs)

        client._engine.exchange = counting
        client.list_resources()
        client.list_resources()
        client.read_resource("demo://greeting")
        client.read_resource("demo://greeting")
        assert calls.count("resources/list") == 1 and calls.count("resources/read") == 1
        client.read_resource("demo://greeting", cache=False)  # bypass
        client.list_resources(cache=False)
        assert calls.count("resources/read") == 2 and calls.count("resources/list") == 2
        with client.subscribe(["demo://greeting"]) as sub:
            client.call_tool("touch", {"uri": "demo://greeting"})
            assert _next(sub, {"resource_updated"}) is not None
            deadline = time.monotonic() + 5
            while client._cache.get("resources/read", "demo://greeting") is not None and time.monotonic() < deadline:
                time.sleep(0.02)
        client.read_resource("demo://greeting")
        assert calls.count("resources/read") == 3  # the update invalidated the cached read
        client.clear_cache()
        client.list_resources()
        assert calls.count("resources/list") == 3


def test_only_invalidating_notifications_go_to_the_notify_thread(modern_ev):
    with modern_ev() as client:
        seen = []
        client.call_tool("long_running", {"steps": 3, "delay": 0.01}, progress=lambda *a: seen.append(a))
        assert len(seen) == (0 if modern_ev.mode.json else 3)  # a JSON reply carries no progress
        # Progress has no handler: it costs no hand-off to the notification thread.
        assert client._engine._notify_thread is None
        client.list_tools()
        assert client._cache.get("tools/list", None) is not None
        with client.subscribe(tools=True) as sub:
            client.call_tool("change_tools")
            assert _next(sub, {"tools"}) is not None
            deadline = time.monotonic() + 5
            while client._cache.get("tools/list", None) is not None and time.monotonic() < deadline:
                time.sleep(0.02)
        assert client._cache.get("tools/list", None) is None  # the list_changed invalidated it


def test_a_list_that_changed_while_it_was_read_is_not_cached(modern_ev):
    with modern_ev() as client:
        real = client._engine.request

        def overtaken(method, *args, **kwargs):
            result = real(method, *args, **kwargs)
            if method == "tools/list":  # the change notification was handled before the reply
                client._cache.on_notification({"method": "notifications/tools/list_changed"})
            return result

        client._engine.request = overtaken
        assert client.list_tools()  # the page is returned...
        assert client._cache.get("tools/list", None) is None  # ...but not kept
        client._engine.request = real
        client.list_tools()
        assert client._cache.get("tools/list", None) is not None  # an undisturbed read is kept


def test_legacy_results_are_never_cached():
    from mcp_sync._cache import ResultCache

    cache = ResultCache()
    cache.put("tools/list", None, {"tools": []})  # no ttlMs (legacy)
    cache.put("prompts/list", None, {"prompts": [], "ttlMs": 0})
    assert cache.get("tools/list", None) is None and cache.get("prompts/list", None) is None
    now = [0.0]
    cache = ResultCache(clock=lambda: now[0])
    cache.put("resources/list", "c1", {"resources": [], "ttlMs": 1000})
    assert cache.get("resources/list", "c1") == {"resources": [], "ttlMs": 1000}
    now[0] = 1.0
    assert cache.get("resources/list", "c1") is None  # stale at t_received + ttl


legacy_ev = ev_fixture([m for m in EV_MODES if m.name == "legacy"])


def test_a_refused_legacy_subscribe_leaves_nothing_behind(legacy_ev):
    with legacy_ev() as client:
        engine = client._engine
        real, sent = engine.request, []

        def refusing(method, params=None, **kwargs):
            sent.append((method, (params or {}).get("uri")))
            if method == "resources/subscribe" and params["uri"] == "demo://refused":
                raise InvalidParams(-32602, "no such resource", method=method)
            return real(method, params, **kwargs)

        engine.request = refusing
        handlers = list(engine._handlers)
        with pytest.raises(InvalidParams):
            client.subscribe(["demo://greeting", "demo://refused", "demo://items/x"])
        assert engine._handlers == handlers  # no handler left collecting events nobody reads
        assert sent == [("resources/subscribe", "demo://greeting"), ("resources/subscribe", "demo://refused"),
                        ("resources/unsubscribe", "demo://greeting")]


def test_unread_events_are_bounded(monkeypatch):
    """A subscription read only through its callback does not grow without limit."""
    from mcp_sync import subscriptions
    from mcp_sync.subscriptions import Subscription, SubscriptionEvent

    monkeypatch.setattr(subscriptions, "MAX_UNREAD_EVENTS", 3)
    sub = Subscription.__new__(Subscription)
    sub._events = subscriptions.queue.SimpleQueue()
    sub._dropping = False
    sub._callback = None
    for i in range(10):
        sub._emit(SubscriptionEvent("resource_updated", uri=f"demo://{i}"))
    assert [sub._events.get_nowait().uri for _ in range(sub._events.qsize())] == ["demo://7", "demo://8", "demo://9"]


stdio_ev = ev_fixture([m for m in EV_MODES if m.name == "stdio"])


def test_closing_a_stdio_listen_from_another_thread_wakes_it_at_once(stdio_ev):
    # The listen must not be the caller reading stdout for everyone: that caller notices the
    # error Engine.stop() puts on its queue only when its poll() slice (1 s) ends.
    with stdio_ev() as client:
        for _ in range(3):
            sub = client.subscribe(["demo://greeting"])
            time.sleep(0.3)  # its listen request is waiting by now
            started = time.monotonic()
            sub.close()
            assert time.monotonic() - started < 0.3
        assert client.call_tool("numbers", {"count": 1}).structured == {"result": [0]}
