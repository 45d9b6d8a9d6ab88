"""Tasks: a ``tools/call`` the server runs in the background (§4.5).

Modern servers use the ``io.modelcontextprotocol/tasks`` extension (opt in with
``Client(tasks=True)``): the server may answer ``tools/call`` with ``resultType: "task"``, and the
client polls ``tasks/get`` (honouring ``pollIntervalMs``), answers ``input_required`` with
``tasks/update`` and cancels with ``tasks/cancel``. Legacy 2025-11-25 servers run a task when the
client asks (``params.task``); the client polls ``tasks/get`` and fetches ``tasks/result``.

``call_tool`` simply blocks until the task's result; ``stream()`` yields a
:class:`~mcp_sync.events.TaskStatusEvent` per status change; :attr:`Client.tasks` hands out
:class:`TaskHandle` objects for callers who want the task itself.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

from ._protocol import TASKS_EXTENSION
from .errors import MCPError, ProtocolError, RPCError, TaskCancelled
from .timeouts import Timeout, TimeoutLike

# Events and models load on first use, not with the package (see mcp_sync/__init__.py).
if TYPE_CHECKING:  # pragma: no cover
    from ._engine import Engine
    from .client import Client
    from .events import Event
    from .handlers import Interactions
    from .types import CallToolResult, Task

log = logging.getLogger("mcp_sync.tasks")

#: Polling bounds when the server's pollIntervalMs is missing or unreasonable (seconds).
DEFAULT_POLL = 0.5
MIN_POLL = 0.01
MAX_POLL = 30.0
#: The ttl (ms) asked for when a legacy task is requested.
DEFAULT_TTL_MS = 300_000


def _parse(model: str, result: Dict[str, Any], method: str) -> Any:
    from ._features import _parse  # _features imports this module

    return _parse(model, result, method)


class TaskRunner:
    """The engine-side mechanics shared by ``call_tool``, ``stream()`` and :class:`TaskHandle`."""

    def __init__(self, engine: "Engine", interactions: "Interactions", enabled: bool) -> None:
        self.engine = engine
        self.interactions = interactions
        self.enabled = enabled

    @property
    def modern(self) -> bool:
        return self.engine.state.era == "modern"

    def capabilities(self, era: str) -> Dict[str, Any]:
        # Legacy client-side task capabilities cover *receiving* tasks; we only create them.
        return {"extensions": {TASKS_EXTENSION: {}}} if self.enabled and era == "modern" else {}

    def server_supports(self) -> bool:
        caps = self.engine.state.capabilities
        if self.modern:
            return TASKS_EXTENSION in (caps.get("extensions") or {})
        return bool(((caps.get("tasks") or {}).get("requests") or {}).get("tools", {}).get("call") is not None)

    def is_task_result(self, result: Dict[str, Any]) -> bool:
        if self.modern:
            if result.get("resultType") != "task":
                return False
            if not self.enabled:
                raise ProtocolError("tools/call: the server created a task, but the client did not opt in to "
                                    "the tasks extension", method="tools/call")
            return True
        return isinstance(result.get("task"), dict) and "content" not in result

    @staticmethod
    def parse(result: Dict[str, Any]) -> Task:
        from .types import Task

        data = result.get("task") if isinstance(result.get("task"), dict) else result
        try:
            return Task.model_validate(data)
        except ValueError as exc:
            raise ProtocolError(f"tasks: malformed task: {exc}", method="tasks/get") from exc

    # ------------------------------------------------------------------ wire calls

    def get(self, task_id: str) -> Task:
        return self.parse(self.engine.request("tasks/get", {"taskId": task_id}))

    def update(self, task_id: str, responses: Dict[str, Any]) -> None:
        self.engine.request("tasks/update", {"taskId": task_id, "inputResponses": responses})

    def cancel(self, task_id: str) -> None:
        try:
            self.engine.request("tasks/cancel", {"taskId": task_id}, timeout=Timeout(call=10.0))
        except RPCError as err:
            log.debug("tasks/cancel %s: %s", task_id, err)  # e.g. already terminal (legacy -32602)

    def start_params(self) -> Dict[str, Any]:
        """Extra ``tools/call`` params that ask for a task (legacy only; modern servers decide)."""
        return {} if self.modern else {"task": {"ttl": DEFAULT_TTL_MS}}

    # ------------------------------------------------------------------ following a task

    def follow(self, created: Dict[str, Any], *, timeout: Timeout) -> Iterator[Any]:
        """Poll until the task ends; yield :class:`TaskStatusEvent` per change, then ``Final``."""
        from ._mrtr import Final
        from .events import TaskStatusEvent

        task = self.parse(created)
        yield TaskStatusEvent(created, task)
        started = time.monotonic()
        deadline = started + timeout.call
        hard = started + timeout.max_call if timeout.max_call else None
        answered: set = set()
        finished = False
        try:
            while True:
                if task.terminal or (task.status == "input_required" and not self.modern):
                    # Legacy tasks/result blocks until the task ends: give it only the time left,
                    # and let a timeout there cancel the task like any other.
                    left = (deadline if hard is None else min(deadline, hard)) - time.monotonic()
                    outcome = self._outcome(task, Timeout(call=max(0.01, left), connect=timeout.connect,
                                                          read=timeout.read))
                    finished = True
                    yield Final(outcome, 0)
                    return
                if task.status == "input_required" and task.input_requests:
                    fresh = {k: v for k, v in task.input_requests.items() if k not in answered}
                    if fresh:
                        self.update(task.task_id, self.interactions.answer_all(fresh, "tasks/update"))
                        answered.update(fresh)
                now = time.monotonic()
                limit = deadline if hard is None else min(deadline, hard)
                if now >= limit:
                    from .errors import RequestTimeout

                    raise RequestTimeout(f"tools/call: task {task.task_id} did not finish within "
                                         f"{timeout.call:g}s; it was cancelled", method="tools/call")
                interval = (task.poll_interval_ms / 1000.0) if task.poll_interval_ms is not None else DEFAULT_POLL
                time.sleep(max(MIN_POLL, min(MAX_POLL, interval, limit - now)))
                raw = self.engine.request("tasks/get", {"taskId": task.task_id})
                latest = self.parse(raw)
                if (latest.status, latest.status_message) != (task.status, task.status_message):
                    if timeout.reset_on_progress:
                        deadline = time.monotonic() + timeout.call
                    yield TaskStatusEvent(raw, latest)
                task = latest
        finally:
            if not finished:
                # Timeout, Ctrl-C or a closed stream: a task is cancelled with tasks/cancel (§3.1).
                self.cancel(task.task_id)

    def _outcome(self, task: Task, timeout: Timeout) -> Dict[str, Any]:
        if not self.modern:
            # tasks/result blocks until the task is terminal and answers what tools/call would have.
            result = self.engine.request("tasks/result", {"taskId": task.task_id}, timeout=timeout)
            return result
        if task.status == "completed":
            if not isinstance(task.result, dict):
                raise ProtocolError(f"tasks/get: task {task.task_id} completed without a result", method="tasks/get")
            return task.result
        if task.status == "failed":
            raise RPCError.from_error(task.error or {"code": -32603, "message": "the task failed"}, method="tools/call")
        raise TaskCancelled(f"tools/call: task {task.task_id} was cancelled", task=task)


class TaskHandle:
    """One task: poll it, wait for its result, answer its questions, or cancel it.

    Task ids can be persisted; ``client.tasks.handle(task_id)`` picks a task up again later.
    """

    def __init__(self, client: "Client", runner: TaskRunner, task: Optional[Task],
                 result: Optional[CallToolResult] = None, created: Optional[Dict[str, Any]] = None) -> None:
        self._client = client
        self._runner = runner
        self.task = task
        self._result = result
        self._created = created

    @property
    def id(self) -> Optional[str]:
        """The task id (``None`` when the server answered at once instead of creating a task)."""
        return self.task.task_id if self.task else None

    def refresh(self) -> Task:
        """Poll ``tasks/get`` once and return the task's state."""
        if self.task is None:
            raise MCPError("the server answered directly; there is no task to poll")
        self.task = self._runner.get(self.task.task_id)
        return self.task

    def events(self, timeout: TimeoutLike = None) -> Iterator[Event]:
        """Yield a :class:`TaskStatusEvent` per status change, then a :class:`ResultEvent`.
        Leaving early cancels the task."""
        from ._mrtr import Final
        from .events import ResultEvent, TaskStatusEvent

        if self._result is not None:
            yield ResultEvent({}, self._result.model_dump(by_alias=True), self._result)
            return
        assert self.task is not None
        created = self._created or self.task.model_dump(by_alias=True, exclude_none=True)
        if not self._runner.modern and "task" not in created:
            created = {"task": created}
        for item in self._runner.follow(created, timeout=self._client._call_timeout(timeout)):
            if isinstance(item, Final):
                self._result = _parse("CallToolResult", item.result, "tools/call")
                yield ResultEvent({}, item.result, self._result)
                return
            if isinstance(item, TaskStatusEvent):
                self.task = item.task
            yield item

    def wait(self, timeout: TimeoutLike = None) -> CallToolResult:
        """Block until the task ends and return its result (polling at the server's interval)."""
        from .events import ResultEvent

        for event in self.events(timeout):
            if isinstance(event, ResultEvent):
                return event.value
        raise ProtocolError("the task ended without a result")  # pragma: no cover

    def update(self, responses: Dict[str, Any]) -> None:
        """Answer the task's ``inputRequests`` (modern ``tasks/update``)."""
        if self.task is None:
            raise MCPError("there is no task to update")
        self._runner.update(self.task.task_id, responses)

    def cancel(self) -> None:
        """Ask the server to cancel the task (cooperative: it may still finish)."""
        if self.task is not None:
            self._runner.cancel(self.task.task_id)

    def __repr__(self) -> str:
        return f"<TaskHandle {self.task!r}>" if self.task else "<TaskHandle (answered directly)>"


class Tasks:
    """``client.tasks``: start tool calls as tasks and pick up existing ones."""

    def __init__(self, client: "Client", runner: TaskRunner) -> None:
        self._client = client
        self._runner = runner

    def start(self, name: str, arguments: Optional[Dict[str, Any]] = None, timeout: TimeoutLike = None) -> TaskHandle:
        """Call a tool as a task and return at once with its handle. A server may still answer
        directly (modern servers decide); the handle then already holds the result."""
        client = self._client
        client._engine.connect()
        if self._runner.modern and not self._runner.enabled:
            raise MCPError("tasks are an opt-in extension on modern servers: create the Client with tasks=True")
        params: Dict[str, Any] = {"name": name, **self._runner.start_params()}
        if arguments is not None:
            params["arguments"] = arguments
        result = client._engine.request("tools/call", params, timeout=client._call_timeout(timeout))
        if self._runner.is_task_result(result):
            return TaskHandle(client, self._runner, self._runner.parse(result), created=result)
        return TaskHandle(client, self._runner, None, result=_parse("CallToolResult", result, "tools/call"))

    def handle(self, task_id: str) -> TaskHandle:
        """A handle for a task started earlier (e.g. by a previous process)."""
        return TaskHandle(self._client, self._runner, self._runner.get(task_id))

    def get(self, task_id: str) -> Task:
        return self._runner.get(task_id)

    def cancel(self, task_id: str) -> None:
        self._runner.cancel(task_id)


__all__ = ["Tasks", "TaskHandle", "TaskRunner"]
