"""Named daemon worker threads that are reused between jobs.

Readers of SSE response streams and handlers of server requests run here, so no call creates a
thread of its own once the pool is warm, and the caller's thread only ever waits on a queue.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
from typing import Any, Callable, List

log = logging.getLogger("mcp_sync.threads")

_STOP = object()
_pool_ids = itertools.count(1)


class WorkerPool:
    """A grow-on-demand pool of daemon threads named ``mcp-sync-<role>-<n>``.

    Idle threads exit after ``idle_timeout`` seconds, so a quiet client holds no threads.
    An exception escaping a job is logged, never lost in ``threading.excepthook``.
    """

    def __init__(self, role: str, idle_timeout: float = 30.0) -> None:
        self._role = role
        self._idle_timeout = idle_timeout
        self._jobs: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: List[threading.Thread] = []
        self._closed = False
        self._ids = itertools.count(1)
        self._pool_id = next(_pool_ids)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool is closed")
            self._jobs.put((fn, args))
            if self._idle > 0:
                self._idle -= 1  # that idle thread will take this job
                return
            name = f"mcp-sync-{self._role}-{self._pool_id}.{next(self._ids)}"
            thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._idle_timeout)
                except queue.Empty:
                    with self._lock:
                        # Between the timeout and taking the lock, submit() may have counted on us.
                        if self._idle > 0 and self._jobs.empty():
                            self._idle -= 1
                            return
                    continue
                if job is _STOP:
                    return
                fn, args = job
                try:
                    fn(*args)
                except BaseException:  # noqa: B902 - a worker must survive any job
                    log.exception("unhandled error in %s", me.name)
                with self._lock:
                    if self._closed:
                        return
                    self._idle += 1
        finally:
            with self._lock:
                if me in self._threads:
                    self._threads.remove(me)

    def close(self, timeout: float = 2.0) -> None:
        """Stop every thread; wait up to ``timeout`` seconds in all for them to finish.

        Jobs still queued are dropped. Never joins the calling thread (a job may close its pool).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(_STOP)
        current = threading.current_thread()
        import time

        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is current:
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("thread %s did not stop within %.1fs", thread.name, timeout)

    @property
    def threads(self) -> List[threading.Thread]:
        with self._lock:
            return list(self._threads)
