"""The protocol surface beyond tools, mixed into :class:`~mcp_sync.Client`: resources, prompts,
completion, logging, subscriptions, tasks, and the per-client state they share (the result cache,
what ``tools/list`` said about each tool's headers and output schema)."""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from . import _mrtr
from ._cache import INVALIDATING, ResultCache
from ._schema import InvalidHeaderAnnotation, Path, header_paths, output_error, param_headers
from .errors import HeaderMismatch, MethodNotFound, OutputValidationError, ProtocolError
from .tasks import TaskRunner, Tasks
from .timeouts import TimeoutLike

# The pydantic models, events, skills and subscriptions are imported where they are first used,
# so that ``import mcp_sync`` stays cheap (see mcp_sync/__init__.py).
if TYPE_CHECKING:  # pragma: no cover
    from ._engine import Engine
    from .events import LogEvent
    from .handlers import Interactions, RootsLike
    from .skills import Skills
    from .subscriptions import Callback, Subscription
    from .timeouts import Timeout
    from .types import (
        CallToolResult,
        CompleteResult,
        GetPromptResult,
        Prompt,
        ReadResourceResult,
        Resource,
        ResourceTemplate,
    )

log = logging.getLogger("mcp_sync.client")

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class FeaturesMixin:
    _engine: "Engine"
    _interactions: Interactions
    _task_runner: TaskRunner
    _max_input_rounds: int
    last_cursor: Optional[str]

    def _call_timeout(self, timeout: TimeoutLike) -> "Timeout":  # pragma: no cover - Client defines it
        raise NotImplementedError

    def _list(self, method: str, key: str, cursor: Optional[str], all_pages: bool,
              cache: bool = True) -> List[Dict[str, Any]]:  # pragma: no cover - Client defines it
        raise NotImplementedError

    def _init_features(self, interactions: Interactions, tasks: bool, max_input_rounds: int,
                       skills: bool = False) -> None:
        if max_input_rounds < 1:
            raise ValueError("max_input_rounds must be at least 1")
        self._interactions = interactions
        self._max_input_rounds = max_input_rounds
        self._task_runner = TaskRunner(self._engine, interactions, tasks)
        self._tasks = Tasks(self, self._task_runner)  # type: ignore[arg-type]
        self._skills_enabled = skills
        self._skills: Optional[Skills] = None  # made on first use: the module loads only then
        self._skills_lock = threading.Lock()
        self._cache = ResultCache()
        self._tool_headers: Dict[str, Dict[Path, str]] = {}
        self._tool_outputs: Dict[str, Any] = {}
        self._tools_needing_tasks: set = set()  # legacy tools whose execution.taskSupport is "required"
        self._tool_lock = threading.Lock()
        self._capabilities_by_era: Dict[str, Dict[str, Any]] = {}
        for method in INVALIDATING:  # not None: other notifications then need no hand-off at all
            self._engine.add_handler(method, self._cache.on_notification)
        self._engine.extra_headers = self._param_headers

    def _capabilities(self, era: str) -> Dict[str, Any]:
        """What this client declares in ``era``. Modern requests carry it every time, and it
        cannot change (which handlers exist is fixed at construction), so it is built once per
        era; the dict is shared, and nothing may change it."""
        caps = self._capabilities_by_era.get(era)
        if caps is None:
            caps = self._capabilities_by_era[era] = self._build_capabilities(era)
        return caps

    def _build_capabilities(self, era: str) -> Dict[str, Any]:
        caps = self._interactions.capabilities(era)
        skills = self.skills.capabilities(era) if self._skills_enabled else {}
        for extra in (self._task_runner.capabilities(era), skills):
            extensions = {**caps.get("extensions", {}), **extra.get("extensions", {})}
            caps.update(extra)
            if extensions:
                caps["extensions"] = extensions
        return caps

    # ------------------------------------------------------------------ resources

    def list_resources(self, cursor: Optional[str] = None, *, all_pages: bool = True,
                       cache: bool = True) -> List[Resource]:
        """Every resource the server lists, following every page (``all_pages=False`` and
        ``cursor=`` fetch one page; the next cursor is then ``client.last_cursor``).
        ``cache=False`` bypasses the ``ttlMs`` cache."""
        return [_parse("Resource", r, "resources/list") for r in self._list("resources/list", "resources", cursor,
                                                                          all_pages, cache)]

    def list_resource_templates(self, cursor: Optional[str] = None, *, all_pages: bool = True,
                                cache: bool = True) -> List[ResourceTemplate]:
        """Every resource template (RFC 6570 ``uri_template``), following every page."""
        items = self._list("resources/templates/list", "resourceTemplates", cursor, all_pages, cache)
        return [_parse("ResourceTemplate", t, "resources/templates/list") for t in items]

    def read_resource(self, uri: str, *, timeout: TimeoutLike = None, cache: bool = True) -> ReadResourceResult:
        """Read a resource: ``result.text`` for text, ``result.data`` (bytes) for a blob; each item
        of ``result.contents`` is a ``TextResourceContents`` or ``BlobResourceContents``
        (``.decode()``). A missing resource raises :class:`~mcp_sync.errors.InvalidParams`
        (modern) or :class:`~mcp_sync.errors.ResourceNotFound` (legacy)."""
        if not isinstance(uri, str) or not uri:
            raise ValueError("uri must be a non-empty string")
        result = self._cached_call("resources/read", {"uri": uri}, uri, timeout, cache)
        return _parse("ReadResourceResult", result, "resources/read")

    # ------------------------------------------------------------------ prompts and completion

    def list_prompts(self, cursor: Optional[str] = None, *, all_pages: bool = True, cache: bool = True) -> List[Prompt]:
        """Every prompt the server offers, following every page."""
        return [_parse("Prompt", p, "prompts/list") for p in self._list("prompts/list", "prompts", cursor, all_pages, cache)]

    def get_prompt(self, name: str, arguments: Optional[Dict[str, str]] = None, *,
                   timeout: TimeoutLike = None) -> GetPromptResult:
        """Render a prompt; ``arguments`` values must be strings (the protocol says so)."""
        if not isinstance(name, str) or not name:
            raise ValueError("the prompt name must be a non-empty string")
        params: Dict[str, Any] = {"name": name}
        if arguments is not None:
            bad = [k for k, v in arguments.items() if not isinstance(v, str)]
            if bad:
                raise TypeError(f"prompt arguments must be strings; not: {bad}")
            params["arguments"] = dict(arguments)
        final = self._drive("prompts/get", params, timeout)
        return _parse("GetPromptResult", final.result, "prompts/get")

    def complete(self, ref: Any, argument: Any, context_arguments: Optional[Dict[str, str]] = None, *,
                 timeout: TimeoutLike = None) -> CompleteResult:
        """Ask for completions of one argument.

        :param ref: a ``Prompt`` or ``ResourceTemplate``, or the wire form
            (``{"type": "ref/prompt", "name": ...}`` / ``{"type": "ref/resource", "uri": ...}``).
        :param argument: ``(name, value)`` or ``{"name": ..., "value": ...}``.
        :param context_arguments: arguments already chosen, which may narrow the suggestions.
        """
        params: Dict[str, Any] = {"ref": _ref(ref), "argument": _argument(argument)}
        if context_arguments:
            params["context"] = {"arguments": dict(context_arguments)}
        result = self._engine.request("completion/complete", params, timeout=self._call_timeout(timeout))
        return _parse("CompleteResult", result, "completion/complete")

    # ------------------------------------------------------------------ logging

    def set_log_level(self, level: Optional[str]) -> None:
        """Ask for the server's log messages at ``level`` and above (``None``: stop asking where
        possible). Legacy servers get ``logging/setLevel`` (now, and again after a reconnect);
        modern requests carry the level in their ``_meta``. Messages reach :meth:`stream` as
        :class:`~mcp_sync.LogEvent`, :meth:`on_log` handlers, and the ``mcp_sync.server`` logger."""
        if level is not None and level not in LOG_LEVELS:
            raise ValueError(f"level must be one of {LOG_LEVELS}, got {level!r}")
        self._engine.log_level = level
        if level is None or self._engine.state.era != "legacy":
            return
        if "logging" not in self._engine.state.capabilities:
            log.info("the server has no logging capability; not sending logging/setLevel")
            return
        self._engine.request("logging/setLevel", {"level": level})

    #: The official SDK's name for :meth:`set_log_level`.
    set_logging_level = set_log_level

    def on_log(self, handler: Callable[[LogEvent], None]) -> Callable[[], None]:
        """Call ``handler(LogEvent)`` for every server log message, on a background thread.
        Returns a function that unregisters it."""
        from .events import event_from_message

        return self._engine.add_handler("notifications/message", lambda m: handler(event_from_message(m)))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ roots

    def set_roots(self, roots: RootsLike) -> None:
        """Replace the roots offered to the server; a legacy server is told they changed."""
        if self._interactions.roots is None:
            raise ValueError("this client was created without roots=; there is no roots capability to update")
        self._interactions.roots = roots
        if self._engine.state.era == "legacy":
            self._engine.notify("notifications/roots/list_changed")

    # ------------------------------------------------------------------ subscriptions and tasks

    def subscribe(self, resources: Sequence[str] = (), *, tools: bool = False, prompts: bool = False,
                  resource_list: bool = False, task_ids: Sequence[str] = (),
                  callback: Optional[Callback] = None) -> Subscription:
        """Subscribe to changes; returns a :class:`~mcp_sync.subscriptions.Subscription` to
        iterate (or ``get(timeout)``), ideally in a ``with`` block. ``callback(event)``, if
        given, also runs for each event on a background thread.

        >>> with client.subscribe(["file:///notes.txt"], tools=True) as sub:   # doctest: +SKIP
        ...     for event in sub:
        ...         print(event.kind, event.uri)
        """
        from .subscriptions import Subscription

        if isinstance(resources, str):
            resources = [resources]
        return Subscription(self._engine, resources=resources, tools=tools, prompts=prompts,
                            resource_list=resource_list, task_ids=task_ids, callback=callback)

    @property
    def tasks(self) -> Tasks:
        """Start tools as tasks and manage them: ``client.tasks.start(name, args)`` returns a
        :class:`~mcp_sync.tasks.TaskHandle` (``wait()``, ``events()``, ``cancel()``, ``refresh()``)."""
        return self._tasks

    @property
    def skills(self) -> Skills:
        """The skills extension (``Client(..., skills=True)``): ``client.skills.list()`` gives the
        server's skill entries without reading any file; ``client.skills.load(name_or_uri)``
        reads and verifies a ``SKILL.md`` and returns a :class:`~mcp_sync.skills.LoadedSkill`."""
        skills = self._skills
        if skills is None:
            from .skills import Skills

            with self._skills_lock:  # one Skills per client: it holds the skills loaded so far
                if self._skills is None:
                    self._skills = Skills(self, self._skills_enabled)  # type: ignore[arg-type]
                skills = self._skills
        return skills

    def clear_cache(self) -> None:
        """Forget every cached list and read result."""
        self._cache.clear()

    # ------------------------------------------------------------------ shared helpers

    def _drive(self, method: str, params: Dict[str, Any], timeout: TimeoutLike,
               on_message: Any = None) -> _mrtr.Final:
        return _mrtr.run(self._engine, self._interactions, self._task_runner, method, params,
                         timeout=self._call_timeout(timeout), on_message=on_message,
                         max_rounds=self._max_input_rounds)

    def _cached_call(self, method: str, params: Dict[str, Any], key: Optional[str], timeout: TimeoutLike,
                     cache: bool) -> Dict[str, Any]:
        if cache:
            hit = self._cache.get(method, key)
            if hit is not None:
                return hit
        generation = self._cache.generation
        if method in _mrtr.MRTR_METHODS:
            final = self._drive(method, params, timeout)
            result, rounds = final.result, final.rounds
        else:
            result, rounds = self._engine.request(method, params or None, timeout=self._call_timeout(timeout)), 0
        if rounds == 0:  # never cache what an input round produced (§4.4)
            self._cache.put(method, key, result, generation)
        return result

    def _register_tools(self, tools: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Remember each tool's header annotations and output schema; on modern HTTP, drop tools
        whose x-mcp-header annotations are invalid (§2.1)."""
        check_headers = self._engine.state.era == "modern" and self._engine.transport.name == "streamable-http"
        kept: List[Dict[str, Any]] = []
        with self._tool_lock:
            for tool in tools:
                name = tool.get("name")
                try:
                    paths = header_paths(tool.get("inputSchema"))
                except InvalidHeaderAnnotation as exc:
                    if check_headers:
                        log.warning("dropping tool %r: invalid x-mcp-header annotation: %s", name, exc)
                        self._tool_headers.pop(str(name), None)
                        continue
                    paths = {}
                if isinstance(name, str):
                    self._tool_headers[name] = paths
                    execution = tool.get("execution") if isinstance(tool.get("execution"), dict) else {}
                    if execution.get("taskSupport") == "required":
                        self._tools_needing_tasks.add(name)
                    else:
                        self._tools_needing_tasks.discard(name)
                    if tool.get("outputSchema") is not None:
                        self._tool_outputs[name] = tool["outputSchema"]
                    else:
                        self._tool_outputs.pop(name, None)
                kept.append(tool)
        return kept

    def _param_headers(self, message: Dict[str, Any]) -> Dict[str, str]:
        if message.get("method") != "tools/call":
            return {}
        params = message.get("params") or {}
        paths = self._tool_headers.get(params.get("name"))
        if not paths:
            return {}
        return param_headers(paths, params.get("arguments") or {})

    def _as_task_if_required(self, params: Dict[str, Any]) -> Dict[str, Any]:
        """2025-11-25: a tool whose ``execution.taskSupport`` is "required" runs only as a task;
        ask for one (the call then follows it to the result)."""
        if self._engine.state.era == "legacy" and params.get("name") in self._tools_needing_tasks \
                and "task" not in params:
            return {**params, **self._task_runner.start_params()}
        return params

    def _call_tool_result(self, name: str, params: Dict[str, Any], timeout: TimeoutLike,
                          on_message: Any) -> CallToolResult:
        params = self._as_task_if_required(params)
        try:
            final = self._drive("tools/call", params, timeout, on_message)
        except MethodNotFound:
            # A legacy tool that requires a task answers a plain call with -32601: learn that
            # from tools/list (once), then call it as a task.
            if self._engine.state.era != "legacy" or "task" in params or \
                    _dict_get(self._engine.state.capabilities, "tasks", "requests", "tools", "call") is None:
                raise
            self._register_tools(self._list("tools/list", "tools", None, True, False))
            if name not in self._tools_needing_tasks:
                raise
            return self._call_tool_result(name, params, timeout, on_message)
        except HeaderMismatch:
            if self._engine.state.era != "modern":
                raise
            # The tool's schema may have changed: re-read it, then try once more (§2.1).
            log.info("tools/call %s: the server reported a header mismatch; re-reading tools/list", name)
            self._cache.invalidate("tools/list")
            self._register_tools(self._list("tools/list", "tools", None, True, False))
            final = self._drive("tools/call", params, timeout, on_message)
        result = _parse("CallToolResult", final.result, "tools/call")
        self._check_output(name, result)
        return result

    def _check_output(self, name: str, result: CallToolResult) -> None:
        schema = self._tool_outputs.get(name)
        if schema is None or result.is_error:
            return
        if "structuredContent" not in (result.model_fields_set | set(result.model_extra or {})) and \
                result.structured_content is None:
            raise OutputValidationError(f"tools/call {name}: the tool declares an outputSchema but sent no "
                                        f"structuredContent", result=result)
        problem = output_error(schema, result.structured_content)
        if problem is not None:
            raise OutputValidationError(f"tools/call {name}: structuredContent does not match the tool's "
                                        f"outputSchema: {problem}", result=result)


def _dict_get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


_models: Dict[str, Any] = {}  # model classes by name, once mcp_sync.types is imported


def _parse(model: str, result: Dict[str, Any], method: str) -> Any:
    """Validate ``result`` as the model :mod:`mcp_sync.types` names ``model`` (imported here, on
    first use, rather than with the package)."""
    cls = _models.get(model)
    if cls is None:
        from . import types

        cls = _models[model] = getattr(types, model)
    try:
        return cls.model_validate(result)
    except ValueError as exc:
        raise ProtocolError(f"{method}: the result does not have the expected shape: {exc}", method=method) from exc


def _ref(ref: Any) -> Dict[str, Any]:
    from .types import Prompt, Resource, ResourceTemplate

    if isinstance(ref, Prompt):
        return {"type": "ref/prompt", "name": ref.name}
    if isinstance(ref, ResourceTemplate):
        return {"type": "ref/resource", "uri": ref.uri_template}
    if isinstance(ref, Resource):
        return {"type": "ref/resource", "uri": ref.uri}
    if isinstance(ref, dict) and ref.get("type") in ("ref/prompt", "ref/resource"):
        return dict(ref)
    raise TypeError("ref must be a Prompt, a ResourceTemplate, or {'type': 'ref/prompt', 'name': ...} / "
                    "{'type': 'ref/resource', 'uri': ...}")


def _argument(argument: Any) -> Dict[str, str]:
    if isinstance(argument, dict) and isinstance(argument.get("name"), str):
        return {"name": argument["name"], "value": str(argument.get("value", ""))}
    if isinstance(argument, (tuple, list)) and len(argument) == 2:
        return {"name": str(argument[0]), "value": str(argument[1])}
    raise TypeError("argument must be (name, value) or {'name': ..., 'value': ...}")
