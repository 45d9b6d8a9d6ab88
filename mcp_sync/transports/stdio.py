"""The stdio transport (spec digest §2.4): the server is our subprocess, one JSON message per line.

A reader thread turns the child's stdout into messages for the engine (a caller waiting for its
reply reads in its place while nobody else does: :meth:`StdioTransport.wait`); a second thread drains
stderr (always a pipe, so this works where ``sys.stderr`` has no ``fileno()``, as in Jupyter) into
the ``mcp_sync.stdio`` logger and a ring buffer of its last lines. When the process exits or
closes stdout, every pending call fails at once with its exit code and those lines.
"""
from __future__ import annotations

import collections
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from .._json import compact, loads
from ..errors import ConnectError, ConnectionClosed, MCPError, RequestTimeout, RPCError
from ..timeouts import Timeout
from ._http import DEFAULT_MAX_MESSAGE_SIZE
from .base import Transport

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # pragma: no cover
    from .._engine import Pending

log = logging.getLogger("mcp_sync.stdio")

#: Variables a server gets by default: enough to find programs and behave in the user's locale,
#: without handing every secret in our environment to a third-party process.
SAFE_ENV_VARS = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "TMPDIR", "TEMP", "TMP", "TZ",
    # Windows needs these to start most programs at all.
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "APPDATA", "LOCALAPPDATA",
    "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "PROGRAMFILES", "PROGRAMDATA",
)
#: Non-JSON stdout lines tolerated in a row (a startup banner printed by mistake) before the
#: server is declared broken.
MAX_NOISE_LINES = 20
#: stderr lines kept for error messages.
STDERR_LINES = 20
#: Seconds between the shutdown steps: stdin closed → SIGTERM → SIGKILL.
SHUTDOWN_GRACE = 2.0
#: The stdout pipe size asked for (Linux; the default is 64 KiB), and the bytes asked of one read
#: while a message is half read. A large result then crosses in a few reads rather than one per
#: 64 KiB, each a round trip of "pipe full, server waits; we read, server wakes".
READ_SIZE = PIPE_SIZE = 256 * 1024
SMALL_READ = 64 * 1024  # the read size when no message is half read (see _read_chunk)
#: How long the reader thread keeps out of the way after a caller read for itself (seconds).
LEAD_LINGER = 0.02
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


@dataclass(frozen=True)
class StdioServer:
    """How to start a stdio MCP server.

    :param command: the program (found on ``PATH`` like a shell would).
    :param args: its arguments.
    :param env: variables to set for it, on top of a safe minimal environment (``PATH``, ``HOME``,
        ``LANG``, ``LC_*``, ...). Our own environment is *not* passed unless ``inherit_env=True``.
    :param cwd: its working directory.
    :param inherit_env: pass our whole environment (``os.environ``) as the base instead.
    :param restart: start the server again on the next call after it exits unexpectedly;
        by default that call raises :class:`~mcp_sync.ConnectionClosed` naming the exit.

    >>> Client(StdioServer("python", ["server.py"], env={"API_KEY": "..."}))    # doctest: +SKIP
    """

    command: str
    args: Sequence[str] = ()
    env: Optional[Mapping[str, str]] = None
    cwd: Optional[str] = None
    inherit_env: bool = False
    restart: bool = False
    argv: List[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.command, str) or not self.command:
            raise ValueError("StdioServer: command must be a non-empty string")
        if isinstance(self.args, str):
            raise TypeError("StdioServer: args must be a list of strings, not one string")
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))
        object.__setattr__(self, "argv", [self.command, *self.args])

    def environment(self) -> Dict[str, str]:
        base = dict(os.environ) if self.inherit_env else {
            k: v for k, v in os.environ.items() if k.upper() in SAFE_ENV_VARS or k.startswith("LC_")}
        base.update({str(k): str(v) for k, v in (self.env or {}).items()})
        return base


class StdioTransport(Transport):
    name = "stdio"

    def __init__(self, server: StdioServer, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.server = server
        self.max_message_size = max_message_size
        self.proc: Optional["subprocess.Popen[bytes]"] = None
        self.stderr_tail: Deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._noise: Deque[str] = collections.deque(maxlen=5)
        self._new_locks()
        self._lead_ended = 0.0  # time.monotonic() when the last lead ended
        self._reset_reading()
        self._lost: Optional[MCPError] = None
        self._threads: List[threading.Thread] = []
        self._timeout = Timeout()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self._lost is None

    def describe(self) -> str:
        return f"stdio {' '.join(self.server.argv)}"

    # ------------------------------------------------------------------ lifecycle

    def open(self, timeout: Timeout) -> None:
        if self._lost is not None and not self.server.restart:
            raise ConnectionClosed(f"{self._lost} (pass StdioServer(..., restart=True) to restart it on the next call)")
        self._stop()
        self._timeout = timeout
        self._lost = None
        self._closing.clear()
        self.stderr_tail.clear()
        self._reset_reading()
        kwargs: Dict[str, Any] = {}
        if os.name == "posix" and sys.version_info >= (3, 11):
            # Its own process group, so that shutdown reaches its children. Not a session of its
            # own: on Linux that also makes it a scheduler autogroup of its own, and round trips
            # measured ~3% slower (12 of 15 fresh process pairs).
            kwargs["process_group"] = 0
        elif os.name == "posix":
            kwargs["start_new_session"] = True  # (process_group= is 3.11+; preexec_fn is not thread-safe)
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        try:
            self.proc = subprocess.Popen(
                self.server.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                bufsize=0, env=self.server.environment(), cwd=self.server.cwd, close_fds=True, **kwargs)
        except OSError as exc:
            raise ConnectError(f"could not start {self._command()}: {exc.strerror or exc}") from exc
        log.debug("started %s (pid %s)", self._command(), self.proc.pid)
        if os.name == "posix":
            # Writes wait with select() and a deadline: a server that stops reading cannot hang us.
            os.set_blocking(self.proc.stdin.fileno(), False)  # type: ignore[union-attr]
            _grow_pipe(self.proc.stdout.fileno())  # type: ignore[union-attr]
        pid = self.proc.pid
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self.proc,), name=f"mcp-sync-reader-stdio-{pid}", daemon=True),
            threading.Thread(target=self._drain_stderr, args=(self.proc,), name=f"mcp-sync-stderr-{pid}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _reset_reading(self) -> None:
        self._buf = bytearray()
        self._scan = 0  # where the search for a newline resumes
        self._noise.clear()
        self._noise_run = 0  # non-JSON lines in a row
        self._eof = False
        self._stop_reason: Optional[str] = None  # why a caller stopped reading (the reader reports it)

    def reset(self) -> None:
        self._stop()

    def close(self) -> None:
        self._stop()
        self._lost = None  # a failed connect or a closed client: the next open() may start afresh

    def after_fork(self) -> None:
        """In a forked child the process belongs to the parent: forget it, never signal it; the
        next call starts a server of the child's own."""
        self.proc = None
        self._threads = []
        self._lost = None
        self._new_locks()  # the parent's locks may be held by threads this process does not have

    def _new_locks(self) -> None:
        self._write_lock = threading.Lock()
        # Held by whichever thread reads stdout: the reader thread, or a caller waiting for its reply.
        self._read_lock = threading.Lock()
        # Who waits and who leads, so that the reader thread stays out of the way while callers
        # read for themselves (see _park). Callers take the plain lock (a C-level ``with``; the
        # Condition's own ``with`` is two Python calls, on every call).
        self._lead_lock = threading.Lock()
        self._lead = threading.Condition(self._lead_lock)
        self._leading = False  # a caller holds _read_lock and reads for everyone
        self._waiters = 0  # callers in wait() that may need the reader thread
        self._closing = threading.Event()

    def _stop(self) -> None:
        """Close stdin, wait, SIGTERM the group, wait, SIGKILL the group; reap; close every pipe."""
        proc, self.proc = self.proc, None
        self._closing.set()
        self._wake_reader()
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                with self._write_lock:
                    proc.stdin.close()
        except OSError:
            pass
        for step in (None, signal.SIGTERM, _KILL):
            if step is not None:
                self._signal(proc, step)
            try:
                proc.wait(SHUTDOWN_GRACE)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:  # pragma: no cover - only a process in uninterruptible sleep
            log.warning("%s (pid %s) did not exit after SIGKILL", self._command(), proc.pid)
        elif os.name == "posix":
            # Children it left in its group may hold our pipes open (and our reader blocked).
            self._signal(proc, _KILL)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(2.0)
        self._threads = []
        for pipe in (proc.stdout, proc.stderr):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    @staticmethod
    def _signal(proc: "subprocess.Popen[bytes]", sig: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            elif sig == signal.SIGTERM:  # pragma: no cover - Windows
                proc.terminate()
            else:  # pragma: no cover
                proc.kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass

    def _command(self) -> str:
        return " ".join(self.server.argv)[:200]

    # ------------------------------------------------------------------ reading

    def _read_stdout(self, proc: "subprocess.Popen[bytes]") -> None:
        """The background reader. It reads only while no waiting caller does (see :meth:`wait`),
        so notifications, server requests and the process's exit are seen even when nobody waits."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        cause: Optional[str] = None
        try:
            while cause is None and not self._eof:
                if not _HAVE_POLL:  # pragma: no cover - Windows: no waiting on pipes, callers never read
                    with self._read_lock:
                        cause = self._read_chunk(fd)
                    continue
                self._park()
                # Wait for output without the lock, so that a caller waiting for its reply can
                # take the lock and read the reply itself, with no thread hand-off.
                _ready(fd, select.POLLIN, None)
                with self._read_lock:
                    if self._eof:
                        break
                    if _ready(fd, select.POLLIN, 0):  # else a caller read it meanwhile
                        cause = self._read_chunk(fd)
        except (OSError, ValueError) as exc:  # ValueError: a closed pipe
            cause = f"reading its stdout failed: {exc}"
        finally:
            if not self._closing.is_set():
                self._on_exit(proc, cause or self._stop_reason)

    def _park(self) -> None:
        """Keep out of the way while a lone caller reads stdout for itself: while it leads and
        nobody else waits, and for LEAD_LINGER after. Otherwise this thread would wake for every
        reply such a caller reads (poll() wakes every thread waiting on the pipe) only to find it
        read already. With other callers waiting, it reads for them as soon as the leader stops.
        What arrives while nobody waits is read at most LEAD_LINGER late."""
        with self._lead_lock:
            while not (self._eof or self._closing.is_set() or self._waiters > 0):
                idle = time.monotonic() - self._lead_ended
                if not self._leading and idle >= LEAD_LINGER:
                    return
                self._lead.wait(LEAD_LINGER if self._leading else LEAD_LINGER - idle)

    def _wake_reader(self) -> None:
        with self._lead_lock:
            self._lead.notify_all()

    def _read_chunk(self, fd: int) -> Optional[str]:
        """Read what stdout has and deliver every complete line (the caller holds ``_read_lock``).
        Returns why reading must stop, if it must; sets ``_eof`` at the end of the stream."""
        buf = self._buf
        before = len(buf)
        # One statement, so a KeyboardInterrupt in a reading caller cannot drop bytes between the
        # read and the append.
        # A small read when no message is half read: os.read() allocates the whole size asked
        # for, and above 128 KiB that is an mmap() and munmap() per read (~17 us, per reply).
        buf += os.read(fd, READ_SIZE if buf else SMALL_READ)
        if len(buf) == before:
            self._eof = True
            return None
        return self._deliver_lines()

    def _deliver_lines(self) -> Optional[str]:
        """Deliver every complete line in the buffer. A line leaves the buffer only after it was
        delivered, so an interrupted reader loses nothing (at worst one message comes twice: a
        repeated response is dropped by the engine)."""
        buf = self._buf
        while True:
            end = buf.find(b"\n", self._scan)
            if end < 0:
                # A long line is scanned once, not from its start on every chunk.
                self._scan = len(buf)
                break
            line = buf[:end]  # one copy; loads() takes a bytearray and skips whitespace
            if line and not line.isspace():  # (strip() would copy a large line again)
                cause = self._take_line(line)
                if cause is not None:
                    return cause
            del buf[:end + 1]
            self._scan = 0
        if len(buf) > self.max_message_size:
            self._eof = True
            return f"it wrote a message larger than the {self.max_message_size}-byte limit"
        return None

    def _take_line(self, line: bytearray) -> Optional[str]:
        try:
            message = loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
            self._noise_run += 1
            text = line[:200].decode("utf-8", "replace")
            self._noise.append(text)
            log.log(logging.WARNING if self._noise_run == 1 else logging.DEBUG,
                    "%s wrote a line that is not JSON to stdout (stdout is for MCP messages only): %r",
                    self._command(), text)
            if self._noise_run > MAX_NOISE_LINES:
                self._eof = True
                return f"it wrote {self._noise_run} lines in a row that are not JSON-RPC to stdout"
            return None
        self._noise_run = 0
        self.engine.deliver(message)
        return None

    def wait(self, pending: "Pending", timeout: float) -> Any:
        """Leader/follower: while nobody else reads stdout, the waiting caller reads it itself and
        delivers what it reads to everyone, until its own next message arrives. Otherwise it
        waits on its queue like any caller."""
        # empty() rather than get_nowait(): a raised queue.Empty costs more than the rest of this
        # check (only this caller takes from its queue, so what empty() saw stays true).
        if not pending.queue.empty():
            return pending.queue.get_nowait()
        proc = self.proc
        with self._lead_lock:
            # Counted before trying the lock: a leader that ends after a failed try then sees
            # this caller and wakes the reader thread for it.
            self._waiters += 1
        leading = False
        deadline = time.monotonic() + timeout
        try:
            # A stoppable request (a listen) never leads: reading stdout, it would notice
            # Engine.stop()'s error on its queue only when its poll() ends.
            if (not _HAVE_POLL or proc is None or proc.stdout is None or self._eof or pending.stoppable
                    or not self._read_lock.acquire(blocking=False)):
                with self._lead_lock:
                    self._lead.notify_all()  # a parked reader thread is needed again (see _park)
                return pending.queue.get(timeout=timeout)
            with self._lead_lock:
                self._waiters -= 1  # a leader needs no reader thread
                self._leading = leading = True
            found = self._lead_read(proc, pending, deadline)
            if found is not None:
                return found[0]
        finally:
            with self._lead_lock:
                if not leading:
                    self._waiters -= 1
                else:
                    self._leading = False
                    self._lead_ended = time.monotonic()
                    if self._waiters > 0 or self._eof:
                        self._lead.notify_all()  # the reader thread reads for them, or reports the end
            if leading:
                self._read_lock.release()
        # The end of stdout: the reader thread names the exit and fails every pending request.
        return pending.queue.get(timeout=max(0.0, deadline - time.monotonic()))

    def _lead_read(self, proc: "subprocess.Popen[bytes]", pending: "Pending", deadline: float) -> Optional[Tuple[Any]]:
        """Read stdout for everyone (holding ``_read_lock``) until ``pending`` has an item:
        ``(item,)``; None at the end of stdout. Raises ``queue.Empty`` at the deadline."""
        assert proc.stdout is not None
        try:
            # Lead, holding the lock throughout: the reader thread is then woken once, not for
            # every chunk of a large message.
            fd = proc.stdout.fileno()
            while not self._eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise queue.Empty
                if _ready(fd, select.POLLIN, remaining):
                    cause = self._read_chunk(fd)
                    if cause is not None:
                        # Stop the process: its stdout then ends, and the reader thread reports why.
                        self._stop_reason = cause
                        self._signal(proc, _KILL)
                if not pending.queue.empty():
                    return (pending.queue.get_nowait(),)
        except (OSError, ValueError):
            self._eof = True  # the reader thread finds the cause and reports it
        except KeyboardInterrupt:
            # Ctrl-C while this caller read for everyone: hand over complete lines already
            # read (other callers' replies among them) before the interrupt goes on.
            self._scan = 0
            self._deliver_lines()
            raise
        return None

    def _drain_stderr(self, proc: "subprocess.Popen[bytes]") -> None:
        assert proc.stderr is not None
        fd = proc.stderr.fileno()
        buf = bytearray()
        name = os.path.basename(self.server.command)
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                *lines, rest = bytes(buf).split(b"\n")
                buf = bytearray(rest[-65536:])
                for raw in lines:
                    self._stderr_line(name, raw)
        except OSError:
            pass
        if buf:
            self._stderr_line(name, bytes(buf))

    def _stderr_line(self, name: str, raw: bytes) -> None:
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        if text.strip():
            self.stderr_tail.append(text[:500])
            log.info("[%s] %s", name, text)

    def _on_exit(self, proc: "subprocess.Popen[bytes]", cause: Optional[str]) -> None:
        """stdout ended (or became unusable): name the exit and fail everything pending."""
        if cause is not None:
            self._signal(proc, _KILL)
            cause += "; mcp_sync stopped it"
        try:
            code = proc.wait(SHUTDOWN_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        # The stderr thread holds the last words of a crashing server; let it finish them.
        for thread in self._threads:
            if thread.name.startswith("mcp-sync-stderr") and thread is not threading.current_thread():
                thread.join(0.5)
        if self._closing.is_set():
            return
        if cause is None:
            cause = f"it exited with code {code}" if code is not None else "it closed its stdout"
        elif code is not None:
            cause += f" (exit code {code})"
        error = ConnectionClosed(f"the server process {self._command()!r} (pid {proc.pid}) is gone: {cause}"
                                 + self._diagnostics())
        error.returncode = code  # type: ignore[attr-defined]
        error.stderr = list(self.stderr_tail)  # type: ignore[attr-defined]
        self._lost = error
        self.engine.transport_lost(error)

    def _diagnostics(self) -> str:
        parts = []
        if self.stderr_tail:
            parts.append("last stderr lines:\n    " + "\n    ".join(self.stderr_tail))
        else:
            parts.append("it wrote nothing to stderr")
        if self._noise:
            parts.append("last non-JSON stdout lines:\n    " + "\n    ".join(self._noise))
        return "; " + "; ".join(parts)

    # ------------------------------------------------------------------ writing

    def _write(self, message: Dict[str, Any], deadline: float) -> None:
        method = message.get("method") or "response"
        data = compact(message) + b"\n"
        with self._write_lock:
            proc = self.proc
            if self._lost is not None:
                raise _copy(self._lost, method)
            if proc is None or proc.stdin is None or proc.stdin.closed:
                raise ConnectionClosed(f"{method}: the server process is not running", method=method)
            fd = proc.stdin.fileno()
            view = memoryview(data)
            while view:
                try:
                    written = os.write(fd, view)
                    view = view[written:]
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RequestTimeout(f"{method}: the server did not read its stdin in time", method=method)
                    _ready(fd, select.POLLOUT, min(remaining, 0.5))
                except (BrokenPipeError, ConnectionResetError, OSError) as exc:
                    break_error = exc
                    break
            else:
                return
        # The pipe broke: the process is exiting; wait for the reader to name the exit.
        for thread in self._threads:
            if thread.name.startswith("mcp-sync-reader"):
                thread.join(SHUTDOWN_GRACE + 1.0)
        if self._lost is not None:
            raise _copy(self._lost, method) from break_error
        raise ConnectionClosed(f"{method}: writing to the server's stdin failed: {break_error}",
                               method=method) from break_error

    def send_request(self, pending: "Pending", message: Dict[str, Any], timeout: Timeout, deadline: float) -> None:
        self._write(message, deadline)

    def send_message(self, message: Dict[str, Any]) -> None:
        self._write(message, time.monotonic() + self._timeout.call)

    # ------------------------------------------------------------------ detection

    def probe_timeout(self, default: float) -> Optional[float]:
        # Some legacy servers ignore requests sent before initialize: silence is a verdict here.
        return default

    def is_legacy_verdict(self, error: BaseException) -> bool:
        return isinstance(error, (RPCError, RequestTimeout))


#: poll() takes any descriptor; select() fails on one above FD_SETSIZE (1024), which a host with
#: many open files (and a raised limit) gives our pipes. Windows has neither for pipes.
_HAVE_POLL = hasattr(select, "poll")


def _grow_pipe(fd: int) -> None:
    """Ask for a PIPE_SIZE pipe buffer (Linux); elsewhere, or beyond the system's limit, keep the default."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is None:
        return
    try:
        fcntl.fcntl(fd, setpipe, PIPE_SIZE)
    except OSError as exc:  # EPERM above /proc/sys/fs/pipe-max-size, EBUSY: keep what it has
        log.debug("could not grow the stdout pipe: %s", exc)


def _ready(fd: int, events: int, timeout: Optional[float]) -> bool:
    """Whether ``fd`` is ready for ``events`` within ``timeout`` seconds (None: no limit). A closed
    or broken descriptor counts as ready: the read or write that follows raises the cause. A
    longer timeout than poll()'s C int of milliseconds (24 days) is cut to one hour; callers loop."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(None if timeout is None else min(max(0.0, timeout), 3600.0) * 1000.0))


def _copy(error: MCPError, method: str) -> MCPError:
    err = ConnectionClosed(error.message, method=method)
    err.__dict__.update({k: v for k, v in error.__dict__.items() if k not in ("message", "method")})
    return err
