"""Server-to-client interactions (elicitation, sampling, roots) as plain synchronous callables.

One :class:`Interactions` answers both eras: legacy servers send JSON-RPC requests, which the
engine hands to :meth:`Interactions.request_handlers` on a worker thread (never the reader
thread); modern servers return ``input_required`` results, whose ``inputRequests`` are answered
by :meth:`Interactions.answer_all` before the call is retried (``_mrtr.py``). The client declares
only the capabilities whose handlers exist (§4.3, §7.2).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Union

from .errors import InteractionError, ProtocolError, RPCError

# The models load when a handler first runs, not with the package (see mcp_sync/__init__.py);
# hence the quoted names in the aliases below.
if TYPE_CHECKING:  # pragma: no cover
    from .types import CreateMessageRequest, CreateMessageResult, ElicitRequest, ElicitResult, Root

log = logging.getLogger("mcp_sync.handlers")

ElicitationHandler = Callable[["ElicitRequest"], Union["ElicitResult", Dict[str, Any]]]
SamplingHandler = Callable[["CreateMessageRequest"], Union["CreateMessageResult", Dict[str, Any]]]
RootLike = Union["Root", str, Dict[str, Any]]
RootsLike = Union[Callable[[], Sequence[RootLike]], Sequence[RootLike]]

ELICIT = "elicitation/create"
SAMPLE = "sampling/createMessage"
ROOTS = "roots/list"


class Interactions:
    """The handlers a :class:`~mcp_sync.Client` was given, and how to answer with them."""

    def __init__(self, elicitation: Optional[ElicitationHandler] = None, sampling: Optional[SamplingHandler] = None,
                 roots: Optional[RootsLike] = None) -> None:
        for name, value in (("elicitation", elicitation), ("sampling", sampling)):
            if value is not None and not callable(value):
                raise TypeError(f"{name}= must be a callable, got {type(value).__name__}")
        if roots is not None and not callable(roots) and isinstance(roots, (str, bytes, dict)):
            raise TypeError("roots= must be a callable or a list of roots")
        self.elicitation = elicitation
        self.sampling = sampling
        self.roots = roots

    # ------------------------------------------------------------------ capabilities

    def capabilities(self, era: str) -> Dict[str, Any]:
        caps: Dict[str, Any] = {}
        if self.elicitation is not None:
            caps["elicitation"] = {"form": {}, "url": {}}
        if self.sampling is not None:
            caps["sampling"] = {"tools": {}}
        if self.roots is not None:
            # Modern roots have no listChanged (the notification was removed in 2026-07-28).
            caps["roots"] = {"listChanged": True} if era == "legacy" else {}
        return caps

    def request_handlers(self) -> Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]]:
        """Legacy server requests the engine may route here (only those with a handler)."""
        handlers: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]] = {}
        if self.elicitation is not None:
            handlers[ELICIT] = lambda params: self.answer(ELICIT, params)
        if self.sampling is not None:
            handlers[SAMPLE] = lambda params: self.answer(SAMPLE, params)
        if self.roots is not None:
            handlers[ROOTS] = lambda params: self.answer(ROOTS, params)
        return handlers

    # ------------------------------------------------------------------ answering

    def answer(self, method: str, params: Dict[str, Any]) -> Dict[str, Any]:
        """The result for one server request. Raises :class:`RPCError`: -32601 for a kind the
        client has no handler for, -32602 for a request that does not parse; a handler's own
        exception propagates."""
        from .types import CreateMessageRequest, CreateMessageResult, ElicitRequest

        if method == ELICIT and self.elicitation is not None:
            request = _request(ElicitRequest, params, method)
            return _elicit_result(self.elicitation(request), request)
        if method == SAMPLE and self.sampling is not None:
            answer = self.sampling(_request(CreateMessageRequest, params, method))
            return _wire(answer, CreateMessageResult)
        if method == ROOTS and self.roots is not None:
            return {"roots": self.current_roots()}
        raise RPCError(-32601, f"the client has no handler for {method}", method=method)

    def answer_all(self, input_requests: Dict[str, Any], method: str) -> Dict[str, Any]:
        """Modern MRTR: answer every ``inputRequests`` entry (§4.2). A handler failure is logged
        and raised as :class:`InteractionError` (the server is not waiting, so there is nobody to
        send an error to); a kind the client never declared is a server bug (ProtocolError)."""
        responses: Dict[str, Any] = {}
        for key, request in input_requests.items():
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise ProtocolError(f"{method}: input request {key!r} is malformed: {str(request)[:200]}", method=method)
            kind = request["method"]
            params = request.get("params") if isinstance(request.get("params"), dict) else {}
            try:
                responses[key] = self.answer(kind, params)
            except RPCError as err:
                if err.code != -32601:
                    raise ProtocolError(f"{method}: input request {key!r} ({kind}): {err.message}",
                                        method=method) from err
                raise ProtocolError(f"{method}: the server asked for {kind}, which this client did not declare",
                                    method=method) from err
            except Exception as exc:
                log.exception("the %s handler failed while answering %s", kind, method)
                raise InteractionError(f"{method}: the {kind} handler failed: {exc}", method=method) from exc
        return responses

    def current_roots(self) -> List[Dict[str, Any]]:
        roots = self.roots() if callable(self.roots) else self.roots
        return [_root(r) for r in roots or []]


def _root(value: RootLike) -> Dict[str, Any]:
    from .types import Root

    if isinstance(value, Root):
        return value.to_wire()
    if isinstance(value, str):
        return {"uri": value}
    if isinstance(value, dict) and isinstance(value.get("uri"), str):
        return dict(value)
    raise TypeError(f"a root must be a Root, a URI string or a dict with 'uri', got {value!r}")


def _request(model: Any, params: Dict[str, Any], method: str) -> Any:
    try:
        return model.model_validate(params)
    except ValueError as exc:  # pydantic's ValidationError
        raise RPCError(-32602, f"invalid {method} params: {exc}", method=method) from exc


def _wire(answer: Any, model: Any) -> Dict[str, Any]:
    if isinstance(answer, model):
        return answer.to_wire()
    if isinstance(answer, dict):
        return model.model_validate(answer).to_wire()
    raise TypeError(f"the handler must return a {model.__name__} or a dict, got {type(answer).__name__}")


def _elicit_result(answer: Any, request: ElicitRequest) -> Dict[str, Any]:
    from .types import ElicitResult

    result = _wire(answer, ElicitResult)
    if result.get("action") == "accept" and request.mode == "form":
        # SEP-1034: fields the user left out take the schema's defaults.
        content = dict(result.get("content") or {})
        props = (request.requested_schema or {}).get("properties") or {}
        for name, schema in props.items():
            if name not in content and isinstance(schema, dict) and "default" in schema:
                content[name] = schema["default"]
        result["content"] = content
    elif result.get("action") != "accept" or request.mode == "url":
        result.pop("content", None)
    return result


__all__ = ["Interactions", "ElicitationHandler", "SamplingHandler", "RootsLike"]
