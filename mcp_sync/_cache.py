"""The result cache for modern ``ttlMs``/``cacheScope`` hints (§4.4).

Keyed by method plus the params that shape the result (``cursor`` for list pages, ``uri`` for
reads); each page is its own entry. Fresh while ``now < received + ttlMs``; a missing, zero or
negative TTL (every legacy server) is never stored. A matching ``list_changed`` or
``resources/updated`` notification drops entries at once. The cache lives in one
:class:`~mcp_sync.Client`, which has one set of credentials, so ``private`` entries never cross
authorization contexts.
"""
from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

Key = Tuple[str, Optional[str]]

#: Which entries a change notification invalidates.
_LIST_CHANGED = {
    "notifications/tools/list_changed": ("tools/list",),
    "notifications/prompts/list_changed": ("prompts/list",),
    "notifications/resources/list_changed": ("resources/list", "resources/templates/list"),
}
#: Every notification that invalidates something (the only ones the cache needs to see).
INVALIDATING = (*_LIST_CHANGED, "notifications/resources/updated")


class ResultCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: Dict[Key, Tuple[float, Dict[str, Any]]] = {}
        # Counts invalidations: a result requested before one (possibly stale: the change
        # notification may have overtaken the response) is then not stored.
        self.generation = 0

    def get(self, method: str, arg: Optional[str]) -> Optional[Dict[str, Any]]:
        with self._lock:
            entry = self._entries.get((method, arg))
            if entry is None:
                return None
            expires, result = entry
            if self._clock() >= expires:
                del self._entries[(method, arg)]
                return None
            return copy.deepcopy(result)

    def put(self, method: str, arg: Optional[str], result: Dict[str, Any], generation: Optional[int] = None) -> None:
        """Store ``result``; ``generation`` is :attr:`generation` read before it was requested."""
        ttl = result.get("ttlMs")
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            return
        with self._lock:
            if generation is not None and generation != self.generation:
                return  # something was invalidated meanwhile: this result may predate the change
            self._entries[(method, arg)] = (self._clock() + ttl / 1000.0, copy.deepcopy(result))

    def invalidate(self, method: str, arg: Any = ...) -> None:
        """Drop one entry, or every entry of ``method`` (all its pages)."""
        with self._lock:
            self.generation += 1
            for key in list(self._entries):
                if key[0] == method and (arg is ... or key[1] == arg):
                    del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def on_notification(self, message: Dict[str, Any]) -> None:
        method = message.get("method")
        if method in _LIST_CHANGED:
            for listed in _LIST_CHANGED[method]:
                self.invalidate(listed)
        elif method == "notifications/resources/updated":
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            uri = params.get("uri")
            if isinstance(uri, str):
                # The updated URI may be a sub-resource of what was read (§4.1): drop both ways.
                with self._lock:
                    self.generation += 1
                    for key in list(self._entries):
                        if key[0] == "resources/read" and isinstance(key[1], str) and (
                                key[1] == uri or uri.startswith(key[1].rstrip("/") + "/")
                                or key[1].startswith(uri.rstrip("/") + "/")):
                            del self._entries[key]
