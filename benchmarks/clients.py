"""The clients under test, each behind the same small interface (:class:`Handle`), so the harness
can interleave them: the floor, mcp_sync, the official SDK's async client, and the official SDK
driven from a background event-loop thread (how synchronous code uses it today)."""
from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import floor

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.py"
STDIO_ARGV = [sys.executable, str(SERVER), "--transport", "stdio"]


@dataclass
class Mode:
    """One server mode: how it is started and what each client needs to reach it."""

    name: str
    transport: str  # "streamable-http", "sse" or "stdio"
    era: str  # "modern" or "legacy"
    server_args: List[str] = field(default_factory=list)
    url: str = ""  # filled in once the server is listening


MODES = [
    Mode("modern", "streamable-http", "modern"),
    Mode("legacy-sse", "streamable-http", "legacy"),
    Mode("legacy-json", "streamable-http", "legacy", ["--json-response"]),
    Mode("http+sse", "sse", "legacy"),
    Mode("stdio", "stdio", "auto"),
]


class Skip(Exception):
    """This client cannot run this mode (yet); the harness records why and moves on."""


class Handle:
    """A connected client. Sync clients implement ``echo``/``count``/``blob``; the rest follows."""

    def echo(self) -> None:
        raise NotImplementedError

    def count(self, n: int, how: str) -> int:
        """Call ``count(n)``; return the progress notifications delivered (``how``: stream|callback)."""
        raise NotImplementedError

    def blob(self, kb: int) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def seq(self, n: int) -> Tuple[List[float], float]:
        """``n`` sequential echo calls: their latencies, and the process CPU seconds they took."""
        clock = time.perf_counter
        out = []
        cpu0 = time.process_time()
        for _ in range(n):
            t0 = clock()
            self.echo()
            out.append(clock() - t0)
        return out, time.process_time() - cpu0

    def threads(self, nthreads: int, per_thread: int) -> float:
        """Seconds for ``nthreads`` threads sharing this client to make ``per_thread`` calls each."""
        barrier = threading.Barrier(nthreads + 1)
        errors: List[BaseException] = []

        def work() -> None:
            barrier.wait()
            try:
                for _ in range(per_thread):
                    self.echo()
            except BaseException as exc:  # reported, not swallowed
                errors.append(exc)

        pool = [threading.Thread(target=work, daemon=True) for _ in range(nthreads)]
        for t in pool:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in pool:
            t.join(300)
        elapsed = time.perf_counter() - t0
        if errors:
            raise errors[0]
        return elapsed

    def timed(self, fn: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


ECHO_ARGS = {"message": "hello"}


# ---------------------------------------------------------------------------------------- floor

class FloorHandle(Handle):
    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.shared: Optional["FloorHandle"] = None
        if mode.transport == "streamable-http":
            self.c: Any = floor.FloorHTTP(mode.url, mode.era)
        elif mode.transport == "sse":
            self.c = floor.FloorSSE(mode.url)
        else:
            self.c = floor.FloorStdio(STDIO_ARGV)
        self.c.connect()

    def echo(self) -> None:
        result = self.c.call("tools/call", {"name": "echo", "arguments": ECHO_ARGS})
        assert result["content"][0]["text"] == "hello"

    def count(self, n: int, how: str) -> int:
        got = [0]

        def progress(message: Dict[str, Any]) -> None:
            got[0] += 1

        self.c.call("tools/call", {"name": "count", "arguments": {"n": n}}, progress)
        return got[0]

    def blob(self, kb: int) -> int:
        return len(self.c.call("tools/call", {"name": "blob", "arguments": {"kb": kb}})["content"][0]["text"])

    def threads(self, nthreads: int, per_thread: int) -> float:
        if not isinstance(self.c, floor._Multiplexed):
            return super().threads(nthreads, per_thread)
        # Threads need a reader thread; a second connection has it, so this one keeps reading
        # in the caller's thread for the sequential figures.
        if self.shared is None:
            self.shared = FloorHandle(self.mode)
            self.shared.c.start_reader()
        return Handle.threads(self.shared, nthreads, per_thread)

    def close(self) -> None:
        if self.shared is not None:
            self.shared.close()
        self.c.close()


# ---------------------------------------------------------------------------------------- mcp_sync

def mcp_sync_client(mode: Mode) -> Any:
    import mcp_sync

    if mode.transport == "streamable-http":
        return mcp_sync.Client(mode.url, protocol="auto" if mode.era == "modern" else floor.LEGACY,
                               transport="streamable-http")
    if mode.transport == "sse":
        return mcp_sync.Client(mode.url, transport="sse")
    return mcp_sync.Client(STDIO_ARGV)


class McpSyncHandle(Handle):
    def __init__(self, mode: Mode) -> None:
        self.c = mcp_sync_client(mode)
        self.c.connect()

    def echo(self) -> None:
        assert self.c.call_tool("echo", ECHO_ARGS).content[0].text == "hello"

    def count(self, n: int, how: str) -> int:
        from mcp_sync import ProgressEvent

        if how == "stream":
            return sum(isinstance(ev, ProgressEvent)
                       for ev in self.c.stream("tools/call", {"name": "count", "arguments": {"n": n}}))
        got = [0]

        def progress(value: float, total: Optional[float], message: Optional[str]) -> None:
            got[0] += 1

        self.c.call_tool("count", {"n": n}, progress=progress)
        return got[0]

    def blob(self, kb: int) -> int:
        return len(self.c.call_tool("blob", {"kb": kb}).content[0].text)

    def close(self) -> None:
        self.c.close()


# ---------------------------------------------------------------------------------------- official SDK

def sdk_client(mode: Mode) -> Any:
    from mcp import Client

    if mode.transport == "streamable-http":
        return Client(mode.url, mode="auto" if mode.era == "modern" else "legacy")
    if mode.transport == "sse":
        from mcp.client.sse import sse_client

        return Client(sse_client(mode.url), mode="legacy")
    from mcp.client.stdio import StdioServerParameters

    return Client(StdioServerParameters(command=STDIO_ARGV[0], args=STDIO_ARGV[1:]), mode="auto")


async def _sdk_count(client: Any, n: int) -> int:
    got = [0]

    async def progress(value: float, total: Optional[float], message: Optional[str]) -> None:
        got[0] += 1

    await client.call_tool("count", {"n": n}, progress_callback=progress)
    return got[0]


async def _sdk_blob(client: Any, kb: int) -> int:
    return len((await client.call_tool("blob", {"kb": kb})).content[0].text)


async def _sdk_echo(client: Any) -> None:
    assert (await client.call_tool("echo", ECHO_ARGS)).content[0].text == "hello"


class _Holder:
    """Enters the SDK client in one long-lived task (anyio needs enter and exit in the same task)."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.client: Any = None

    async def run(self, ready: "asyncio.Future[None]", stop: asyncio.Event) -> None:
        try:
            async with sdk_client(self.mode) as client:
                self.client = client
                ready.set_result(None)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                raise


class SdkAsyncHandle(Handle):
    """The official SDK as async code uses it: the event loop runs in this (the main) thread."""

    def __init__(self, mode: Mode) -> None:
        self.loop = asyncio.new_event_loop()
        self.holder = _Holder(mode)
        self.stop = asyncio.Event()
        ready = self.loop.create_future()
        self.task = self.loop.create_task(self.holder.run(ready, self.stop))
        self.loop.run_until_complete(ready)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def echo(self) -> None:
        self.run(_sdk_echo(self.holder.client))

    def seq(self, n: int) -> Tuple[List[float], float]:
        async def go() -> Tuple[List[float], float]:
            clock, out = time.perf_counter, []
            cpu0 = time.process_time()
            for _ in range(n):
                t0 = clock()
                await _sdk_echo(self.holder.client)
                out.append(clock() - t0)
            return out, time.process_time() - cpu0

        return self.run(go())

    def threads(self, nthreads: int, per_thread: int) -> float:
        # Async code shares a client between concurrent tasks, not threads.
        async def worker() -> None:
            for _ in range(per_thread):
                await _sdk_echo(self.holder.client)

        async def go() -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(nthreads)))
            return time.perf_counter() - t0

        return self.run(go())

    def count(self, n: int, how: str) -> int:
        if how == "stream":
            raise Skip("the SDK has no per-request event stream")
        return self.run(_sdk_count(self.holder.client, n))

    def blob(self, kb: int) -> int:
        return self.run(_sdk_blob(self.holder.client, kb))

    def close(self) -> None:
        self.stop.set()
        try:
            self.run(asyncio.wait_for(self.task, 10))
        except BaseException:
            pass
        self.loop.close()


class SdkThreadHandle(Handle):
    """The official SDK wrapped for synchronous callers: an event loop in a background thread,
    each call handed over with ``run_coroutine_threadsafe``."""

    def __init__(self, mode: Mode) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sdk-loop", daemon=True)
        self.thread.start()
        self.holder = _Holder(mode)

        async def start() -> None:
            self.stop = asyncio.Event()
            ready = asyncio.get_running_loop().create_future()
            self.task = asyncio.ensure_future(self.holder.run(ready, self.stop))
            await ready

        self.run(start())

    def run(self, coro: Any, timeout: float = 300) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def echo(self) -> None:
        self.run(_sdk_echo(self.holder.client))

    def count(self, n: int, how: str) -> int:
        if how == "stream":
            raise Skip("the SDK has no per-request event stream")
        return self.run(_sdk_count(self.holder.client, n))

    def blob(self, kb: int) -> int:
        return self.run(_sdk_blob(self.holder.client, kb))

    def close(self) -> None:
        async def stop() -> None:
            self.stop.set()
            await asyncio.wait_for(self.task, 10)

        try:
            self.run(stop(), 15)
        except BaseException:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


KINDS: Dict[str, Callable[[Mode], Handle]] = {
    "floor": FloorHandle,
    "mcp_sync": McpSyncHandle,
    "sdk-async": SdkAsyncHandle,
    "sdk-thread": SdkThreadHandle,
}


def connect_time(kind: str, mode: Mode) -> float:
    """Seconds from nothing to a connected, negotiated client (closing it is not counted)."""
    t0 = time.perf_counter()
    handle = KINDS[kind](mode)
    elapsed = time.perf_counter() - t0
    handle.close()
    return elapsed

