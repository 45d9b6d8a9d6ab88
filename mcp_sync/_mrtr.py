"""Running one logical call to its final result: the modern multi round-trip loop (§4.2) and,
for ``tools/call``, following a task the server created instead of answering (§4.5).

:func:`drive` yields the related notifications of every round (raw messages), synthetic events
(:class:`~mcp_sync.events.TaskStatusEvent`), and last a :class:`Final` holding the result. Both the
blocking helpers and :meth:`Client.stream` consume it, so they behave the same.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

from .errors import ProtocolError, URLElicitationRequired
from .timeouts import Timeout

if TYPE_CHECKING:  # pragma: no cover
    from ._engine import Engine
    from .handlers import Interactions
    from .tasks import TaskRunner

log = logging.getLogger("mcp_sync.mrtr")

#: The only methods that may answer ``input_required`` (§4.2).
MRTR_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
DEFAULT_MAX_ROUNDS = 10


class Final:
    """The end of a driven call: its result, and how many input rounds it took (results of
    rounds > 0 carried ``inputResponses``/``requestState`` and must never be cached)."""

    __slots__ = ("result", "rounds")

    def __init__(self, result: Dict[str, Any], rounds: int) -> None:
        self.result = result
        self.rounds = rounds


def drive(engine: "Engine", interactions: "Interactions", tasks: "TaskRunner", method: str,
          params: Optional[Dict[str, Any]], *, timeout: Timeout, want_progress: bool,
          max_rounds: int = DEFAULT_MAX_ROUNDS) -> Iterator[Any]:
    original = dict(params or {})
    current = original
    rounds = 0
    while True:
        result: Optional[Dict[str, Any]] = None
        exchange = engine.exchange(method, current, timeout=timeout, want_progress=want_progress)
        try:
            for message in exchange:
                if "method" in message:
                    yield message
                    continue
                result = engine.result_of(message, method)
        except URLElicitationRequired as err:
            rounds += 1
            if not _visit_urls(err, interactions, engine, rounds, max_rounds):
                raise
            current = dict(original)
            continue  # the user went through the URLs: the same request again, with a new id
        finally:
            exchange.close()
        assert result is not None
        if result.get("resultType") == "complete":  # the usual answer (modern servers send it)
            yield Final(result, rounds)
            return
        if _wants_input(result, engine):
            rounds += 1
            current = _next_round(result, method, interactions, original, rounds, max_rounds)
            continue
        if method == "tools/call" and tasks.is_task_result(result):
            yield from tasks.follow(result, timeout=timeout)
            return
        _check_complete(result, method, engine)
        yield Final(result, rounds)
        return


def _wants_input(result: Dict[str, Any], engine: "Engine") -> bool:
    return result.get("resultType", "complete") == "input_required" and engine.state.era == "modern"


def _next_round(result: Dict[str, Any], method: str, interactions: "Interactions", original: Dict[str, Any],
                rounds: int, max_rounds: int) -> Dict[str, Any]:
    """The request of the next round: the original plus the answers to ``inputRequests`` (§4.2)."""
    if method not in MRTR_METHODS:
        raise ProtocolError(f"{method}: the server answered input_required, which only tools/call, "
                            f"prompts/get and resources/read may do", method=method)
    if rounds > max_rounds:
        raise ProtocolError(f"{method}: the server still wanted input after {max_rounds} rounds "
                            f"(Client(max_input_rounds=...) raises the bound)", method=method)
    requests = result.get("inputRequests")
    if requests is not None and not isinstance(requests, dict):
        raise ProtocolError(f"{method}: inputRequests is not an object", method=method)
    if not requests and "requestState" not in result:
        raise ProtocolError(f"{method}: input_required without inputRequests or requestState", method=method)
    log.debug("%s: round %d needs input %s", method, rounds, sorted(requests or {}))
    # The retry is the original request plus the answers; requestState is echoed exactly as
    # received, or left out when absent (§4.2 step 3). A new id comes from exchange().
    current = dict(original)
    if requests:
        current["inputResponses"] = interactions.answer_all(requests, method)
    if "requestState" in result:
        current["requestState"] = result["requestState"]
    return current


def _check_complete(result: Dict[str, Any], method: str, engine: "Engine") -> None:
    kind = result.get("resultType", "complete")
    if kind not in ("complete", None) and engine.state.era == "modern":
        raise ProtocolError(f"{method}: unexpected resultType {kind!r}", method=method)


def _visit_urls(err: URLElicitationRequired, interactions: "Interactions", engine: "Engine", rounds: int,
                max_rounds: int) -> bool:
    """2025-11-25 ``-32042``: put each URL elicitation to the elicitation handler (URL mode).
    True when the user accepted them all, so the request is worth retrying; False to raise."""
    if engine.state.era != "legacy" or interactions.elicitation is None or rounds > max_rounds:
        return False
    elicitations = err.data.get("elicitations") if isinstance(err.data, dict) else None
    if not isinstance(elicitations, list) or not elicitations:
        return False
    for elicitation in elicitations:
        if not isinstance(elicitation, dict) or not isinstance(elicitation.get("url"), str):
            return False
        answer = interactions.answer("elicitation/create", {"mode": "url", **elicitation})
        if answer.get("action") != "accept":
            log.info("%s: the user did not accept %s", err.method, elicitation.get("url"))
            return False
    return True


def run(engine: "Engine", interactions: "Interactions", tasks: "TaskRunner", method: str,
        params: Optional[Dict[str, Any]], *, timeout: Timeout, on_message: Any = None,
        max_rounds: int = DEFAULT_MAX_ROUNDS) -> Final:
    """Block until :func:`drive` ends; notifications go to ``on_message`` (in this thread)."""
    gen = drive(engine, interactions, tasks, method, params, timeout=timeout,
                want_progress=on_message is not None or timeout.reset_on_progress, max_rounds=max_rounds)
    try:
        for item in gen:
            if isinstance(item, Final):
                next(gen, None)  # drive() returns after its Final: ending it so raises nothing,
                return item      # where close() would throw GeneratorExit into it
            if on_message is not None and isinstance(item, dict):
                on_message(item)
    finally:
        gen.close()
    raise ProtocolError(f"{method}: the call ended without a result", method=method)  # pragma: no cover
