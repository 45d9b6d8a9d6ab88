"""Typed events yielded by :meth:`Client.stream`, in the order the server sent them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

__all__ = ["Event", "ProgressEvent", "LogEvent", "NotificationEvent", "ResultEvent", "TaskStatusEvent",
           "event_from_message"]


@dataclass(frozen=True)
class Event:
    """Base of every stream event. ``message`` is the raw JSON-RPC message."""

    message: Dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ProgressEvent(Event):
    """``notifications/progress`` for this request."""

    progress: float = 0.0
    total: Optional[float] = None
    text: Optional[str] = None  # the notification's ``message``

    def __str__(self) -> str:
        of = f"/{self.total:g}" if self.total is not None else ""
        msg = f" {self.text}" if self.text else ""
        return f"progress {self.progress:g}{of}{msg}"


@dataclass(frozen=True)
class LogEvent(Event):
    """``notifications/message``: a log message the server sent while serving this request."""

    level: str = "info"
    logger: Optional[str] = None
    data: Any = None

    def __str__(self) -> str:
        src = f" [{self.logger}]" if self.logger else ""
        return f"log {self.level}{src}: {self.data}"


@dataclass(frozen=True)
class NotificationEvent(Event):
    """Any other notification related to this request."""

    method: str = ""
    params: Dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"notification {self.method}"


@dataclass(frozen=True)
class ResultEvent(Event):
    """The final event: the request's result (a dict; :attr:`value` is the typed form if any)."""

    result: Dict[str, Any] = field(default_factory=dict)
    value: Any = None

    def __str__(self) -> str:
        shown = self.value if self.value is not None else self.result
        return f"result {shown!r}"


@dataclass(frozen=True)
class TaskStatusEvent(Event):
    """The task a call became changed status (``task`` is a :class:`~mcp_sync.types.Task`).
    ``message`` is the ``tasks/get`` result (or the task-creating result) it came from."""

    task: Any = None

    def __str__(self) -> str:
        note = f" {self.task.status_message}" if self.task.status_message else ""
        return f"task {self.task.task_id} {self.task.status}{note}"


def event_from_message(message: Dict[str, Any]) -> Event:
    """Turn a related notification into its typed event."""
    method = message.get("method")
    params = message.get("params")
    if not isinstance(params, dict):
        params = {}
    if method == "notifications/progress":
        total = params.get("total")
        return ProgressEvent(message, _num(params.get("progress")), _num(total) if total is not None else None,
                             params.get("message"))
    if method == "notifications/message":
        return LogEvent(message, str(params.get("level", "info")), params.get("logger"), params.get("data"))
    return NotificationEvent(message, str(method), params)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
