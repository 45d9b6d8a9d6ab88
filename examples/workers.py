"""Background work with one shared client: a thread pool, a process pool, and a Celery-style task.

    python examples/workers.py http://127.0.0.1:8000/mcp

Threads share one ``Client``. Processes each need their own connection: a client made before the
fork reconnects by itself on its first call in the child (never touching the parent's sockets),
but the clean pattern for a Celery worker is one client per worker process, made lazily and
closed at exit — ``get_client()`` below. With Celery, decorate ``add_numbers`` with
``@app.task``; nothing else changes.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import List, Optional

from mcp_sync import Client

_client: Optional[Client] = None
_client_pid: Optional[int] = None
_lock = threading.Lock()


def get_client() -> Client:
    """This process's client (made on first use, closed at exit)."""
    global _client, _client_pid
    with _lock:
        if _client is None or _client_pid != os.getpid():
            _client = Client(os.environ.get("MCP_URL", "http://127.0.0.1:8000/mcp"), timeout=30)
            _client_pid = os.getpid()
            atexit.register(_client.close)
        return _client


def add_numbers(a: float, b: float) -> float:  # with Celery: @app.task
    """A task: one tool call through the worker's shared client."""
    return get_client().call_tool("add", {"a": a, "b": b}).raise_for_error().structured["result"]


def with_threads(pairs: List[tuple]) -> List[float]:
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="worker") as pool:
        return list(pool.map(lambda pair: add_numbers(*pair), pairs))


def with_processes(pairs: List[tuple]) -> List[float]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        return list(pool.map(add_numbers, *zip(*pairs)))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["MCP_URL"] = sys.argv[1]
    pairs = [(i, i) for i in range(10)]
    print("threads:  ", with_threads(pairs))
    print("processes:", with_processes(pairs))
