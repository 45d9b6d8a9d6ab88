"""The small interface every transport implements, and the errors only the engine sees."""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Dict, Optional

from ..errors import TransportError
from ..timeouts import Timeout

if TYPE_CHECKING:  # pragma: no cover
    from .._engine import Engine, Pending


class SessionExpired(TransportError):
    """Legacy Streamable HTTP: a request carrying a session id got 404, so the session is gone."""


class Transport(abc.ABC):
    """Moves JSON-RPC messages between the engine and a server.

    Inbound messages go to ``self.engine.deliver(message, origin)``; a lost request to
    ``self.engine.fail(pending, exc)``; a dead transport to ``self.engine.transport_lost(exc)``.
    """

    #: "streamable-http", "sse" or "stdio".
    name: str = ""
    #: True when closing a request's response stream cancels it (modern Streamable HTTP).
    cancel_by_abort: bool = False
    #: True when only legacy (``initialize``) servers use this transport (HTTP+SSE).
    legacy_only: bool = False

    engine: "Engine"

    def bind(self, engine: "Engine") -> None:
        self.engine = engine

    @abc.abstractmethod
    def open(self, timeout: Timeout) -> None:
        """Connect (start the process, open the stream, ...). Raise the real cause on failure."""

    @abc.abstractmethod
    def send_request(self, pending: "Pending", message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        """Send a request. Its response and related notifications are delivered to the engine,
        from this thread or a reader thread. May block until the server starts answering."""

    @abc.abstractmethod
    def send_message(self, message: Dict[str, Any]) -> None:
        """Send a notification or a response to a server request."""

    def wait(self, pending: "Pending", timeout: float) -> Any:
        """The next item for ``pending`` (a message or an exception) within ``timeout`` seconds;
        raise ``queue.Empty`` when none came. A transport may read for the caller meanwhile."""
        return pending.queue.get(timeout=timeout)

    def abort(self, pending: "Pending") -> None:
        """Stop reading the request's response stream, if it has one of its own."""

    @property
    @abc.abstractmethod
    def alive(self) -> bool:
        """False once the connection is lost; the engine reconnects on the next call."""

    def set_protocol_version(self, version: str) -> None:
        """The legacy handshake agreed on ``version``."""

    def on_initialized(self) -> None:
        """The server answered ``initialize``: start optional server-to-client streams, without
        waiting for them (the engine sends ``notifications/initialized`` meanwhile)."""

    def settle(self) -> None:
        """Wait, briefly and boundedly, for the streams :meth:`on_initialized` started."""

    def probe_timeout(self, default: float) -> Optional[float]:
        """How long ``server/discover`` may take before the server counts as legacy; None to
        use the normal timeout (HTTP, where silence is no era verdict)."""
        return None

    def is_legacy_verdict(self, error: BaseException) -> bool:
        """Whether a failed ``server/discover`` means "a legacy server" rather than a failure."""
        return False

    def fallback(self, error: BaseException) -> bool:
        """Negotiation failed with ``error``. Return True after switching to another candidate
        (URL or transport) worth trying; the engine then opens and negotiates again."""
        return False

    def reset(self) -> None:
        """Forget the connection so that ``open()`` starts afresh."""
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything: sockets, threads, processes. Idempotent."""

    def describe(self) -> str:
        return self.name
