"""Tasks: the modern io.modelcontextprotocol/tasks extension and legacy 2025-11-25 tasks."""
from __future__ import annotations

import pytest

from _ev import EV_MODES, ev_fixture
from mcp_sync import MCPError, ResultEvent, TaskCancelled, TaskStatusEvent
from mcp_sync.errors import ProtocolError

# Legacy tasks need a session (the task lives in the server's memory either way).
ev = ev_fixture([m for m in EV_MODES if m.name not in ("legacy-json",)])
modern_ev = ev_fixture([m for m in EV_MODES if m.modern])


def test_task_handle_events_and_wait(ev):
    with ev(tasks=True) as client:
        handle = client.tasks.start("task_job", {"seconds": 0.3})
        assert handle.id is not None and handle.task.status == "working"
        events = list(handle.events())
        statuses = [e.task.status for e in events if isinstance(e, TaskStatusEvent)]
        assert statuses[0] == "working" and statuses[-1] == "completed"
        assert isinstance(events[-1], ResultEvent)
        assert events[-1].value.text == "task finished after 0.3s"
        again = client.tasks.handle(handle.id)  # picked up by id, e.g. after a restart
        assert again.refresh().status == "completed"


def test_call_tool_blocks_until_the_task_result(modern_ev):
    with modern_ev(tasks=True) as client:
        assert client.call_tool("task_job", {"seconds": 0.2}).text == "task finished after 0.2s"
        events = list(client.stream("tools/call", {"name": "task_job", "arguments": {"seconds": 0.2}}))
        assert any(isinstance(e, TaskStatusEvent) and e.task.status == "working" for e in events)
        assert isinstance(events[-1], ResultEvent) and events[-1].value.text == "task finished after 0.2s"


def test_without_opting_in_the_server_answers_directly(modern_ev):
    with modern_ev() as client:
        assert client._capabilities("modern") == {}
        assert client.call_tool("task_job", {"seconds": 0.1}).text == "ran inline for 0.1s"
        with pytest.raises(MCPError):
            client.tasks.start("task_job")


def test_task_input_required_is_answered_with_tasks_update(modern_ev):
    asked = []

    def elicit(request):
        asked.append(request.message)
        return {"action": "accept", "content": {"ok": True}}

    with modern_ev(tasks=True, elicitation=elicit) as client:
        result = client.call_tool("task_job", {"seconds": 0.1, "ask": True})
    assert asked == ["Proceed?"]  # asked once, although polled repeatedly
    assert result.text == "task finished after 0.1s (answer True)"


def test_cancelling_a_task(ev):
    with ev(tasks=True) as client:
        handle = client.tasks.start("task_job", {"seconds": 5})
        handle.cancel()
        if ev.mode.modern:
            with pytest.raises(TaskCancelled):
                handle.wait(timeout=10)
        else:
            assert handle.refresh().status == "cancelled"


def test_timeout_cancels_the_task(modern_ev):
    with modern_ev(tasks=True) as client:
        handle = client.tasks.start("task_job", {"seconds": 5})
        from mcp_sync import RequestTimeout

        with pytest.raises(RequestTimeout):
            handle.wait(timeout=0.5)
        assert handle.refresh().status == "cancelled"


def test_a_task_nobody_asked_for_is_a_protocol_error():
    from mcp_sync.tasks import TaskRunner

    class State:
        era = "modern"
        capabilities: dict = {}

    class FakeEngine:
        state = State()

    runner = TaskRunner(FakeEngine(), None, enabled=False)
    with pytest.raises(ProtocolError):
        runner.is_task_result({"resultType": "task", "taskId": "t"})


legacy_ev = ev_fixture([m for m in EV_MODES if not m.modern and m.name != "legacy-json"])


@pytest.mark.parametrize("list_first", [True, False])
def test_legacy_tool_that_requires_a_task_is_called_as_one(legacy_ev, list_first):
    """2025-11-25: a tool with execution.taskSupport "required" fails a plain call (-32601);
    call_tool asks for a task by itself (learning it from tools/list, first or after that error)
    and still just blocks until the result."""
    with legacy_ev() as client:
        if list_first:
            tools = {t.name: t for t in client.list_tools()}
            assert tools["task_only_job"].execution == {"taskSupport": "required"}
        assert client.call_tool("task_only_job", {"seconds": 0.2}).text == "task finished after 0.2s"
        if list_first:  # stream() knows it too (the CLI calls tools through stream())
            events = list(client.stream("tools/call", {"name": "task_only_job", "arguments": {"seconds": 0.1}}))
            assert any(isinstance(e, TaskStatusEvent) for e in events)
            assert events[-1].value.text == "task finished after 0.1s"
        with pytest.raises(MCPError):
            client.call("tools/call", {"name": "task_only_job", "arguments": {}})  # the plain call the server refuses
