"""Change notifications, one API over both eras: :meth:`Client.subscribe`.

Modern (2026-07-28): one ``subscriptions/listen`` request held open by a background thread
(``mcp-sync-listen-<id>``). Its acknowledgement is awaited and compared with what was asked for;
notifications are matched to it by ``subscriptionId`` (the engine routes them on shared streams
such as stdio); the server may end it gracefully with a result or with ``notifications/cancelled``
(both are handled, §3.1); any other drop re-sends the listen request with backoff, and a
``"resubscribed"`` event tells the caller that changes may have been missed.

Legacy: ``resources/subscribe`` per URI (``resources/unsubscribe`` on close), and the
``list_changed``/``resources/updated`` notifications that arrive on any stream.

Either way the caller gets :class:`SubscriptionEvent` objects, by iterating the subscription, by
:meth:`Subscription.get`, or through ``callback``.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence

from .errors import ClientClosedError, MCPError, ProtocolError, ServerCancelled
from .timeouts import Timeout
from .types import Task

if TYPE_CHECKING:  # pragma: no cover
    from ._engine import Engine, Pending

log = logging.getLogger("mcp_sync.subscriptions")
#: Unread events a subscription keeps (iterating or get() reads them; a callback alone does not).
MAX_UNREAD_EVENTS = 10_000

#: How long subscribe() waits for the server's acknowledgement (seconds).
ACK_TIMEOUT = 10.0
#: A listen request never times out by itself: a silent stream is caught by Timeout.read.
LISTEN_CALL = 10 * 365 * 24 * 3600.0
BACKOFF_START, BACKOFF_CAP = 0.25, 30.0

_KINDS = {
    "notifications/tools/list_changed": "tools",
    "notifications/prompts/list_changed": "prompts",
    "notifications/resources/list_changed": "resources",
    "notifications/resources/updated": "resource_updated",
    "notifications/tasks": "task",
    "notifications/tasks/status": "task",
}


@dataclass(frozen=True)
class SubscriptionEvent:
    """One change. ``kind`` is ``"tools"``, ``"prompts"`` or ``"resources"`` (a list changed),
    ``"resource_updated"`` (``uri`` changed), ``"task"`` (``task`` changed status) or
    ``"resubscribed"`` (the stream dropped and was re-opened: re-read what you depend on)."""

    kind: str
    uri: Optional[str] = None
    task: Optional[Task] = None
    message: Dict[str, Any] = field(default_factory=dict, repr=False)


Callback = Callable[[SubscriptionEvent], None]


class Subscription:
    """An open subscription. Use it as a context manager; iterate it for events."""

    def __init__(self, engine: "Engine", *, resources: Sequence[str] = (), tools: bool = False,
                 prompts: bool = False, resource_list: bool = False, task_ids: Sequence[str] = (),
                 callback: Optional[Callback] = None, ack_timeout: float = ACK_TIMEOUT) -> None:
        self._engine = engine
        self.resources = [str(u) for u in resources]
        self.tools, self.prompts, self.resource_list = bool(tools), bool(prompts), bool(resource_list)
        self.task_ids = [str(t) for t in task_ids]
        self._callback = callback
        self._events: "queue.SimpleQueue[Optional[SubscriptionEvent]]" = queue.SimpleQueue()
        self._dropping = False
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pending: Optional["Pending"] = None
        self._thread: Optional[threading.Thread] = None
        self._remove_handler: Optional[Callable[[], None]] = None
        #: What the server said it will send (modern acknowledgement), in the wire's form.
        self.acknowledged: Dict[str, Any] = {}
        engine.connect()
        if engine.state.era == "modern":
            self._start_listen(ack_timeout)
        else:
            self._start_legacy()

    # ------------------------------------------------------------------ public

    def get(self, timeout: Optional[float] = None) -> Optional[SubscriptionEvent]:
        """The next event; ``None`` on timeout or once the subscription has ended."""
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self._events.put(None)  # keep the end visible to other readers
        return event

    def __iter__(self) -> Iterator[SubscriptionEvent]:
        """Events until the subscription ends (close() from another thread, or the server ends it)."""
        while True:
            event = self.get()
            if event is None:
                return
            yield event

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """End the subscription (cancel the listen stream / unsubscribe). Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        with self._lock:
            pending = self._pending
        if pending is not None:
            self._engine.stop(pending, "the subscription was closed")
        if self._remove_handler is not None:
            self._remove_handler()
            if not self._engine.closed:
                for uri in self.resources:
                    try:
                        self._engine.request("resources/unsubscribe", {"uri": uri}, timeout=Timeout(call=5.0))
                    except MCPError as exc:
                        log.debug("resources/unsubscribe %s: %s", uri, exc)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._events.put(None)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        wanted = [k for k, v in (("tools", self.tools), ("prompts", self.prompts),
                                 ("resources", self.resource_list)) if v] + self.resources
        return f"<Subscription {wanted} {'closed' if self.closed else 'open'}>"

    # ------------------------------------------------------------------ dispatch

    def _emit(self, event: SubscriptionEvent) -> None:
        if self._events.qsize() >= MAX_UNREAD_EVENTS:
            # Nobody iterates (a callback-only subscription, say): keep the newest events, bounded.
            try:
                self._events.get_nowait()
            except queue.Empty:
                pass
            if not self._dropping:
                self._dropping = True
                log.warning("subscription events are not being read; keeping only the newest %d", MAX_UNREAD_EVENTS)
        self._events.put(event)
        if self._callback is not None:
            try:
                self._callback(event)
            except Exception:
                log.exception("subscription callback %r failed", self._callback)

    def _event_for(self, message: Dict[str, Any]) -> Optional[SubscriptionEvent]:
        kind = _KINDS.get(message.get("method", ""))
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        if kind is None:
            return None
        if kind == "resource_updated":
            uri = params.get("uri")
            if not isinstance(uri, str):
                return None
            return SubscriptionEvent(kind, uri=uri, message=message)
        if kind == "task":
            try:
                task = Task.model_validate(params.get("task", params))
            except ValueError:
                return None
            return SubscriptionEvent(kind, task=task, message=message)
        return SubscriptionEvent(kind, message=message)

    # ------------------------------------------------------------------ modern

    def _filter(self) -> Dict[str, Any]:
        wanted: Dict[str, Any] = {}
        if self.tools:
            wanted["toolsListChanged"] = True
        if self.prompts:
            wanted["promptsListChanged"] = True
        if self.resource_list:
            wanted["resourcesListChanged"] = True
        if self.resources:
            wanted["resourceSubscriptions"] = list(self.resources)
        if self.task_ids:
            wanted["taskIds"] = list(self.task_ids)
        return wanted

    def _start_listen(self, ack_timeout: float) -> None:
        first = threading.Event()
        failure: List[BaseException] = []
        self._thread = threading.Thread(target=self._listen_loop, args=(first, failure), daemon=True,
                                        name=f"mcp-sync-listen-{id(self):x}")
        self._thread.start()
        if not first.wait(ack_timeout):
            self.close()
            raise ProtocolError(f"subscriptions/listen: no acknowledgement within {ack_timeout:g}s",
                                method="subscriptions/listen")
        if failure:
            self.close()
            raise failure[0]

    def _listen_loop(self, first: threading.Event, failure: List[BaseException]) -> None:
        engine = self._engine
        timeout = Timeout(call=LISTEN_CALL, connect=engine.timeout.connect, read=engine.timeout.read)
        delay = BACKOFF_START
        reconnecting = False
        while not self._closed.is_set():
            exchange = engine.exchange("subscriptions/listen", {"notifications": self._filter()}, timeout=timeout,
                                       _on_pending=self._set_pending)
            ended = False
            try:
                for message in exchange:
                    if "method" not in message:
                        ended = True  # the graceful-teardown result (§4.1)
                        break
                    if message.get("method") == "notifications/subscriptions/acknowledged":
                        self._acknowledge(message)
                        delay = BACKOFF_START
                        if reconnecting:
                            reconnecting = False
                            self._emit(SubscriptionEvent("resubscribed", message=message))
                        first.set()
                        continue
                    event = self._event_for(message)
                    if event is not None:
                        self._emit(event)
            except ServerCancelled as exc:
                log.info("the server ended the subscription: %s", exc)
                ended = True  # the other teardown form (notifications/cancelled)
            except ClientClosedError:
                ended = True
            except MCPError as exc:
                if self._closed.is_set():
                    break
                if not first.is_set():
                    failure.append(exc)  # a refusal up front is the caller's error, not a drop
                    first.set()
                    break
                log.info("the subscription stream dropped (%s); listening again in %.2gs", exc, delay)
                reconnecting = True
            except BaseException as exc:  # pragma: no cover - the thread must never die silently
                log.exception("the subscription thread failed")
                failure.append(exc)
                first.set()
                break
            finally:
                exchange.close()
                with self._lock:
                    self._pending = None
            if ended or self._closed.is_set():
                break
            if self._closed.wait(delay):
                break
            delay = min(BACKOFF_CAP, delay * 2)
        first.set()
        self._closed.set()
        self._events.put(None)

    def _set_pending(self, pending: "Pending") -> None:
        with self._lock:
            self._pending = pending
        if self._closed.is_set():
            self._engine.stop(pending, "the subscription was closed")

    def _acknowledge(self, message: Dict[str, Any]) -> None:
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        honoured = params.get("notifications") if isinstance(params.get("notifications"), dict) else {}
        self.acknowledged = honoured
        wanted = self._filter()
        missing = [k for k, v in wanted.items() if k not in honoured or (
            isinstance(v, list) and not set(v) <= set(honoured.get(k) or []))]
        if missing:
            log.warning("the server will not send every notification asked for: %s not acknowledged", missing)

    # ------------------------------------------------------------------ legacy

    def _start_legacy(self) -> None:
        engine = self._engine
        caps = engine.state.capabilities.get("resources")
        if self.resources and not (isinstance(caps, dict) and caps.get("subscribe")):
            raise MCPError("the server does not support resource subscriptions (resources.subscribe)",
                           method="resources/subscribe")
        self._remove_handler = engine.add_handler(None, self._on_legacy_notification)
        subscribed: List[str] = []
        try:
            for uri in self.resources:
                engine.request("resources/subscribe", {"uri": uri})
                subscribed.append(uri)
        except BaseException:
            # The caller never gets this object to close: undo the handler and what was subscribed.
            self.resources = subscribed
            self.close()
            raise
        self.acknowledged = self._filter()

    def _on_legacy_notification(self, message: Dict[str, Any]) -> None:
        if self._closed.is_set():
            return
        event = self._event_for(message)
        if event is None:
            return
        wanted = {"tools": self.tools, "prompts": self.prompts, "resources": self.resource_list,
                  "resource_updated": event.uri is not None and _matches(event.uri, self.resources),
                  "task": event.task is not None and event.task.task_id in self.task_ids}
        if wanted.get(event.kind):
            self._emit(event)


def _matches(uri: str, subscribed: Sequence[str]) -> bool:
    return any(uri == s or uri.startswith(s.rstrip("/") + "/") for s in subscribed)


__all__ = ["Subscription", "SubscriptionEvent"]
